// The board's two isolate hosts: functions measured as long on the board run in a host process
// started with a lower OS priority; the rest in the normal one. Real host processes, real
// isolates, the run scheduler's real estimates (taught by real permits on a manual clock).
import t from 'tap'
import { getPriority } from 'node:os'
import { niceOf, threadsOf } from '../../runtime/agent/host-priority.js'
import { LOW_PRIORITY_NICE, MOVE_AFTER, PriorityHosts } from '../../runtime/agent/priority-hosts.js'
import { RunScheduler, SHORT_MS } from '../../runtime/agent/run-scheduler.js'
import { RuntimePool } from '../../runtime/agent/runtime-pool.js'
import { STOP_BOUND_MS } from '../../runtime/agent/watchdog.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { cpuStops, until } from './fixtures/cpu.js'
import { ECHO, manifest, request, stillServes } from './fixtures/pool-helpers.js'

const LOW_NICE = Math.min(19, getPriority() + LOW_PRIORITY_NICE)
const BUSY = (ms: number, tag: string): string => `export async function handler () { const t = Date.now(); let x = 0; while (Date.now() - t < ${ms}) x++; return "${tag}" }\n`

const rig = (tt: { teardown: (fn: () => unknown) => void }, name: string): { hosts: PriorityHosts, normal: RuntimePool, low: RuntimePool, teach: (fn: string, ms: number, times?: number) => Promise<void> } => {
  const scheduler = new RunScheduler({ slots: 4, defaultMs: 100, clock: new ManualClock(0) })
  const normal = new RuntimePool({ budgetMb: 128, board: name })
  const low = new RuntimePool({ budgetMb: 128, board: name, niceBy: LOW_PRIORITY_NICE, standbyHost: false })
  const hosts = new PriorityHosts({ normal, low, isLong: (fn) => scheduler.isLong(fn), lowBudgetMb: 128 })
  tt.teardown(() => hosts.close())
  const teach = async (fn: string, ms: number, times = 1): Promise<void> => {
    for (let i = 0; i < times; i++) (await scheduler.acquire(fn, 1000)).release(ms)
  }
  return { hosts, normal, low, teach }
}

const ranIn = async (pool: RuntimePool, fn: string): Promise<boolean> => await until(() => (pool.stats()[fn]?.runtimes ?? 0) > 0, 5000)

t.test('a function measured as long runs in the low-priority host; short and unmeasured ones in the normal host; a function moves when its measure crosses SHORT_MS', async (tt) => {
  const { hosts, normal, low, teach } = rig(tt, 'b-place')
  await hosts.start()
  const light = ECHO + '// light\n'
  const o = await hosts.invoke(request(manifest('light', light), light, { n: 1 }))
  tt.ok(o.ok, 'an unmeasured function runs')
  tt.equal(hosts.tierOf('light'), 'normal', 'in the normal host')
  tt.ok(await ranIn(normal, 'light'), 'its runtime is in the normal host process')
  await teach('light', 3, 5)
  tt.ok((await hosts.invoke(request(manifest('light', light), light))).ok)
  tt.equal(hosts.tierOf('light'), 'normal', 'measured short (3 ms): still the normal host')
  tt.notOk('light' in low.stats(), 'the low host holds none of it')

  const hogCode = BUSY(120, 'hog')
  await teach('hog', 300)
  const h = await hosts.invoke(request(manifest('hog', hogCode), hogCode))
  tt.ok(h.ok && h.cold, 'a function measured long (300 ms) runs, cold')
  tt.equal(hosts.tierOf('hog'), 'low', 'in the low-priority host')
  tt.ok(await ranIn(low, 'hog'), 'its runtime is in the low host process')
  tt.notOk('hog' in normal.stats(), 'and not in the normal one')
  tt.ok(await until(() => hosts.stats().hog?.runtimes === 1 && hosts.stats().hog?.running === 0, 5000), 'stats cover both hosts')

  // A function first short, then long: its next invocation starts cold in the low host, its idle runtime in the normal host goes.
  const turns = BUSY(5, 'turns')
  const m = manifest('turns', turns)
  await hosts.setWarm(m, turns, 1)
  tt.ok(await ranIn(normal, 'turns'), 'warm in the normal host while unmeasured')
  await teach('turns', 5)
  tt.notOk((await hosts.invoke(request(m, turns))).cold, 'measured short: runs warm there')
  // A harmonic mean gives long runs little weight: it takes a dozen to cross SHORT_MS from 5 ms.
  await teach('turns', SHORT_MS * 20, 15)
  for (let i = 1; i < MOVE_AFTER; i++) {
    tt.notOk((await hosts.invoke(request(m, turns))).cold, `measured long ${i} time(s) in a row: stays, warm`)
    tt.equal(hosts.tierOf('turns'), 'normal')
  }
  const moved = await hosts.invoke(request(m, turns))
  tt.ok(moved.ok && moved.cold, `measured long ${MOVE_AFTER} times in a row: this invocation starts cold`)
  tt.equal(hosts.tierOf('turns'), 'low', 'in the low host')
  tt.ok(await until(() => !('turns' in normal.stats()), 5000), 'its runtime in the normal host is evicted')
  tt.ok(await until(() => low.stats().turns?.runtimes === 1, 5000), 'its warm target followed it to the low host')
  await teach('turns', 2, 30)
  for (let i = 1; i < MOVE_AFTER; i++) await hosts.invoke(request(m, turns))
  tt.equal(hosts.tierOf('turns'), 'low', 'measured short again: stays a while')
  const back = await hosts.invoke(request(m, turns))
  tt.ok(back.ok, 'measured short again')
  tt.equal(hosts.tierOf('turns'), 'normal', 'it moves back to the normal host')
  tt.ok(await until(() => !('turns' in low.stats()), 5000), 'and leaves the low host')
})

t.test('a long function that moves while its runs are running: they finish in the old host, new ones start in the new, and its runtimes in the old host go once idle', async (tt) => {
  const { hosts, normal, low, teach } = rig(tt, 'b-move')
  await hosts.start()
  const code = BUSY(400, 'slow')
  const m = manifest('slow', code, { concurrency: 1, timeout_ms: 3000 })
  const first = hosts.invoke(request(m, code))
  tt.ok(await until(() => normal.stats().slow?.running === 1, 5000), 'an unmeasured run is running in the normal host')
  await teach('slow', 400)
  // The votes before the move run in the normal host, beside the first (a runtime each, or waiting).
  const before = Array.from({ length: MOVE_AFTER - 1 }, async () => await hosts.invoke(request(m, code)))
  tt.equal(hosts.tierOf('slow'), 'normal', `${MOVE_AFTER - 1} invocations measured long: still the normal host`)
  const moved = await hosts.invoke(request(m, code))
  tt.ok(moved.ok && moved.cold, 'the next one ran cold')
  tt.equal(hosts.tierOf('slow'), 'low')
  tt.ok(await ranIn(low, 'slow'), 'in the low host')
  const o = await first
  tt.ok(o.ok, 'the run in the normal host was not cut short')
  tt.same((await Promise.all(before)).map((b) => b.ok), Array(MOVE_AFTER - 1).fill(true), 'nor were the ones that voted')
  tt.ok(await until(() => !('slow' in normal.stats()), 5000), 'its runtimes there are evicted once idle, with no further invocation')
})

t.test('a function whose measure hovers around SHORT_MS stays in its host, warm: no move and no eviction per invocation', async (tt) => {
  let long = false
  const normal = new RuntimePool({ budgetMb: 128, board: 'b-jitter', standbyHost: false })
  const low = new RuntimePool({ budgetMb: 128, board: 'b-jitter', niceBy: LOW_PRIORITY_NICE, standbyHost: false })
  const hosts = new PriorityHosts({ normal, low, isLong: () => long, lowBudgetMb: 128 })
  tt.teardown(() => hosts.close())
  await hosts.start()
  const code = BUSY(2, 'jitter')
  const m = manifest('jitter', code)
  tt.ok((await hosts.invoke(request(m, code))).cold, 'the first run is cold')
  const colds: boolean[] = []
  for (let i = 0; i < 3 * MOVE_AFTER; i++) {
    long = i % MOVE_AFTER !== 0 // long MOVE_AFTER - 1 times in a row at most
    colds.push((await hosts.invoke(request(m, code))).cold)
  }
  tt.equal(hosts.tierOf('jitter'), 'normal', 'it stayed in the normal host')
  tt.same(colds, Array(3 * MOVE_AFTER).fill(false), 'every run was warm')
  tt.notOk('jitter' in low.stats(), 'the low host never held it')
})

t.test('functions deployed with the same code (one sha256) under concurrency: one moving between the hosts never costs another its code', async (tt) => {
  // The low-priority host's WISP_BAD_CODE in a live replay: its functions all had the same code,
  // and a host dropped a sha256's code when any one function holding it was evicted.
  let long = false
  const normal = new RuntimePool({ budgetMb: 256, board: 'b-same' })
  const low = new RuntimePool({ budgetMb: 256, board: 'b-same', niceBy: LOW_PRIORITY_NICE, standbyHost: false })
  const hosts = new PriorityHosts({ normal, low, isLong: (fn) => fn === 'mover' && long, lowBudgetMb: 256 })
  tt.teardown(() => hosts.close())
  await hosts.start()
  const code = 'export async function handler (e) { const t = Date.now(); let x = 0; while (Date.now() - t < e.ms) x++; return x }\n'
  const mover = manifest('mover', code, { concurrency: 2 })
  const steady = manifest('steady', code, { concurrency: 2 })
  tt.equal(mover.sha256, steady.sha256, 'one sha256')
  const failed: string[] = []
  const tiers: string[] = []
  let moverRuns = 0
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; i < 24; i++) {
      const m = (i + w) % 2 === 0 ? mover : steady
      if (m === mover && ++moverRuns % (2 * MOVE_AFTER) === 0) long = !long
      const o = await hosts.invoke(request(m, code, { ms: (i * 7 + w * 3) % 15 }))
      if (!o.ok) failed.push(`${m.name}: ${o.error.code} ${o.error.message}`)
      if (tiers[tiers.length - 1] !== hosts.tierOf('mover')) tiers.push(hosts.tierOf('mover'))
    }
  }
  await Promise.all([0, 1, 2, 3].map(worker))
  tt.ok(tiers.length >= 4, `the mover moved back and forth (${tiers.join(' → ')})`)
  tt.same(failed, [], 'every invocation of both functions succeeded')
})

t.test('the low host\'s process, every thread of it, runs at the higher nice value; the normal host at the agent\'s', async (tt) => {
  const { hosts, normal, low, teach } = rig(tt, 'b-nice')
  await hosts.start()
  await teach('spin', 300)
  const code = BUSY(60, 'spin')
  tt.ok((await hosts.invoke(request(manifest('spin', code), code))).ok)
  tt.ok(await ranIn(low, 'spin'))
  const lowPid = low.hostPid as number
  tt.equal(niceOf(lowPid), LOW_NICE, `/proc/${'<pid>'}/stat field 19 of the low host is ${LOW_NICE}`)
  const threads = threadsOf(lowPid)
  tt.ok(threads.length > 3, `it has its threads (${threads.length})`)
  tt.same(threads.map((tid) => niceOf(lowPid, tid)).filter((n) => n !== null && n !== LOW_NICE), [], 'all of them niced, isolate threads included')
  tt.equal(niceOf(normal.hostPid as number), getPriority(), 'the normal host has the agent\'s nice value')
})

t.test('a crash and a runaway in the low host are handled as in the normal host; the normal host is untouched', async (tt) => {
  const { hosts, normal, low, teach } = rig(tt, 'b-crash')
  await hosts.start()
  const warmCode = BUSY(1, 'warm-long')
  await teach('warm-long', 200)
  await hosts.setWarm(manifest('warm-long', warmCode), warmCode, 1)
  tt.ok(await ranIn(low, 'warm-long'), 'a long function is warm in the low host')
  const normalPid = normal.hostPid
  const lowPid = low.hostPid

  const bomb = 'export async function handler () { return new Array(2 ** 28).fill(0).length }\n'
  await teach('bomb', 500)
  const o = await hosts.invoke(request(manifest('bomb', bomb, { memory_mb: 64, timeout_ms: 10_000 }), bomb))
  tt.notOk(o.ok, 'an allocation that aborts V8 in the low host fails')
  if (!o.ok) tt.equal(o.error.code, 'WISP_MEMORY_LIMIT')
  tt.ok(await until(() => low.hostPid !== undefined && low.hostPid !== lowPid, 10_000), 'a new low host took over')
  tt.equal(normal.hostPid, normalPid, 'the normal host did not notice')
  tt.ok((await stillServes(hosts, 'bystander')).outcome.ok, 'a short function answers')
  const w = await hosts.invoke(request(manifest('warm-long', warmCode), warmCode))
  tt.ok(w.ok, 'the long function answers in the new low host')
  tt.ok(await until(() => low.stats()['warm-long']?.runtimes === 1, 5000), 'its warm target was restored there')
  tt.equal(niceOf(low.hostPid as number), LOW_NICE, 'the new low host is niced too')

  const spin = 'export async function handler () { await new Promise((r) => setTimeout(r, 10)); for (;;) {} }\n'
  await teach('runaway', 500)
  const timeoutMs = 400
  const t0 = performance.now()
  const r = await hosts.invoke(request(manifest('runaway', spin, { timeout_ms: timeoutMs }), spin))
  const late = performance.now() - t0 - timeoutMs
  tt.notOk(r.ok, 'a runaway in the low host fails')
  if (!r.ok) tt.equal(r.error.code, 'WISP_TIMEOUT', r.error.message)
  tt.equal(hosts.tierOf('runaway'), 'low', 'it ran in the low host')
  tt.ok(late < STOP_BOUND_MS + 1000, `the caller hears ${Math.round(late)} ms past the timeout`)
  const stopped = await cpuStops(() => low.hostPid, 5000)
  tt.ok(stopped.ok, `the low host's CPU stops (${Math.round(stopped.ms)} ms after the reply)`)
  tt.ok((await hosts.invoke(request(manifest('warm-long', warmCode), warmCode))).ok, 'and it serves on')
})

t.test('a long function needing more memory than the low host\'s budget stays in the normal host', async (tt) => {
  const scheduler = new RunScheduler({ slots: 4, defaultMs: 100, clock: new ManualClock(0) })
  const normal = new RuntimePool({ budgetMb: 128, board: 'b-big', standbyHost: false })
  const low = new RuntimePool({ budgetMb: 32, board: 'b-big', niceBy: LOW_PRIORITY_NICE, standbyHost: false })
  const hosts = new PriorityHosts({ normal, low, isLong: (fn) => scheduler.isLong(fn), lowBudgetMb: 32 })
  tt.teardown(() => hosts.close())
  ;(await scheduler.acquire('big', 1000)).release(300)
  const code = BUSY(5, 'big')
  tt.ok((await hosts.invoke(request(manifest('big', code, { memory_mb: 64 }), code))).ok)
  tt.equal(hosts.tierOf('big'), 'normal')
})
