import t from 'tap'
import { RunScheduler, type RunPermit } from '../../runtime/agent/run-scheduler.js'
import { ManualClock } from '../../runtime/shared/clock.js'
import { WispError } from '../../runtime/shared/errors.js'

const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }

/** One core, with 'long' known to take 1000 ms and 'short' 10 ms on this board. */
/** Without the short lane, to test the ordering alone. */
const oneCore = async (): Promise<{ clock: ManualClock, s: RunScheduler, started: string[], permits: RunPermit[], wait: (fn: string, tag: string) => void }> => {
  const clock = new ManualClock(0)
  const s = new RunScheduler({ slots: 1, defaultMs: 100, clock, shortLane: 0 })
  ;(await s.acquire('long', 1000)).release(1000)
  ;(await s.acquire('short', 1000)).release(10)
  const started: string[] = []
  const permits: RunPermit[] = []
  const wait = (fn: string, tag: string): void => { void s.acquire(fn, 60_000).then((p) => { started.push(tag); permits.push(p) }) }
  return { clock, s, started, permits, wait }
}

t.test('a short function overtakes a queue of long ones; within a function the order is FIFO', async (t) => {
  const { clock, s, started, permits, wait } = await oneCore()
  t.equal(s.expectedMs('long'), 1000)
  t.equal(s.expectedMs('never-run'), 100, 'unmeasured functions use the default')
  const held = await s.acquire('long', 60_000)
  wait('long', 'long-1')
  wait('long', 'long-2')
  clock.advance(20)
  wait('short', 'short-1')
  clock.advance(20)
  await flush()
  t.same(started, [], 'nothing starts while the only core is held')
  t.equal(s.waitingCount, 3)
  // At release: long-1 (40 + 1000) / 1000 = 1.04, short-1 (20 + 10) / 10 = 3.
  held.release(1000)
  await flush()
  t.same(started, ['short-1'])
  permits[0]?.release(10)
  await flush()
  t.same(started, ['short-1', 'long-1'], 'long-1 before long-2')
  permits[1]?.release(1000)
  await flush()
  t.same(started, ['short-1', 'long-1', 'long-2'])
  t.equal(s.runningCount, 1)
  t.equal(s.waitingCount, 0)
})

t.test('a long invocation that has waited long enough goes before a fresh short one', async (t) => {
  const { clock, s, started, wait } = await oneCore()
  const held = await s.acquire('long', 60_000)
  wait('long', 'long-1')
  clock.advance(3000)
  wait('short', 'short-1')
  clock.advance(10)
  // long-1 (3010 + 1000) / 1000 = 4.01 beats short-1 (10 + 10) / 10 = 2.
  held.release(1000)
  await flush()
  t.same(started, ['long-1'])
  t.equal(s.waitingCount, 1)
})

t.test('never more than `slots` run; a waiter past its deadline leaves with WISP_TIMEOUT and takes no core', async (t) => {
  const clock = new ManualClock(0)
  const s = new RunScheduler({ slots: 2, defaultMs: 100, clock, shortLane: 0 })
  const a = await s.acquire('f', 1000)
  const b = await s.acquire('g', 1000)
  t.equal(s.runningCount, 2)
  const late = s.acquire('h', 500)
  const patient = s.acquire('h', 5000)
  clock.advance(499)
  await flush()
  t.equal(s.waitingCount, 2)
  clock.advance(1)
  const err = await late.catch((e: unknown) => e)
  t.ok(err instanceof WispError && err.code === 'WISP_TIMEOUT', 'WISP_TIMEOUT at the deadline')
  t.equal(s.waitingCount, 1)
  a.release(50)
  a.release(50) // a second release is ignored
  const p = await patient
  t.equal(s.runningCount, 2, 'the freed core went to the patient waiter, and only once')
  b.release(null)
  p.release(null)
  t.equal(s.runningCount, 0)
  await t.rejects(s.acquire('f', 0).then(async () => await s.acquire('f', 0)).then(async () => await s.acquire('f', 0)), { code: 'WISP_TIMEOUT' }, 'no time left and no core free')
})

t.test('the gossiped work: running work at each function\'s estimate, queued work by class of run time', async (t) => {
  const { s } = await oneCore()
  t.same(s.work(), { workMs: 0, runs: 0, queuedByClass: new Array(16).fill(0) })
  const held = await s.acquire('long', 60_000)
  void s.acquire('long', 60_000)
  void s.acquire('short', 60_000)
  void s.acquire('short', 60_000)
  const w = s.work()
  t.equal(w.workMs, 1000 + 1000 + 2 * 10, 'one long running, one long and two short waiting')
  t.equal(w.runs, 4)
  t.equal(w.queuedByClass[9], 1000, 'the waiting long run in class 9 ([512, 1024) ms)')
  t.equal(w.queuedByClass[3], 20, 'the two short ones in class 3 ([8, 16) ms)')
  held.release(1000)
})

t.test('a function whose run times vary is ranked by its harmonic-mean run time: its short runs would suffer most', async (t) => {
  const clock = new ManualClock(0)
  const s = new RunScheduler({ slots: 1, defaultMs: 100, clock, shortLane: 0 })
  for (const ms of [100, 100]) (await s.acquire('steady', 1000)).release(ms)
  for (const ms of [400, 10, 400]) (await s.acquire('varied', 1000)).release(ms)
  t.ok(s.expectedMs('varied') > s.expectedMs('steady'), `mean run time: varied ${s.expectedMs('varied')} ms, steady ${s.expectedMs('steady')} ms`)
  t.ok(s.harmonicMs('varied') < 60, `harmonic mean of varied ${s.harmonicMs('varied').toFixed(1)} ms, below steady's 100 although its mean is above`)
  t.equal(s.harmonicMs('steady'), 100)
  const held = await s.acquire('x', 1000)
  const started: string[] = []
  void s.acquire('steady', 60_000).then((p) => { started.push('steady'); p.release(null) })
  void s.acquire('varied', 60_000).then((p) => { started.push('varied'); p.release(null) })
  clock.advance(50)
  held.release(null)
  await flush()
  t.same(started, ['varied', 'steady'], 'both waited 50 ms; the varied function\'s expected slowdown is higher')
})

t.test('short lane: a short function starts at once beside long runs that hold every slot; long ones wait', async (t) => {
  const clock = new ManualClock(0)
  const s = new RunScheduler({ slots: 2, defaultMs: 100, clock })
  ;(await s.acquire('hog', 1000)).release(300)
  ;(await s.acquire('light', 1000)).release(3)
  t.ok(s.isShort('light'))
  t.notOk(s.isShort('hog'))
  t.ok(s.isShort('never-run'), 'an unmeasured function may use the lane until it is measured')
  const hogs = [await s.acquire('hog', 60_000), await s.acquire('hog', 60_000)]
  const started: string[] = []
  const permits: RunPermit[] = []
  const wait = (fn: string, tag: string): void => { void s.acquire(fn, 60_000).then((p) => { started.push(tag); permits.push(p) }) }
  wait('hog', 'hog-3')
  await flush()
  t.same(started, [], 'a long function waits for a slot')
  wait('light', 'light-1')
  await flush()
  t.same(started, ['light-1'], 'the short function starts in the lane while both slots are held')
  t.equal(s.runningCount, 3)
  wait('light', 'light-2')
  await flush()
  t.same(started, ['light-1'], 'the lane holds one run: the next short one waits')
  permits[0]?.release(3)
  await flush()
  t.same(started, ['light-1', 'light-2'], 'the freed lane goes to the waiting short function, not to a long one')
  permits[1]?.release(3)
  await flush()
  t.equal(s.runningCount, 2, 'the lane is empty again; the long waiter still waits for a slot')
  wait('never-run', 'new-1')
  await flush()
  t.same(started, ['light-1', 'light-2', 'new-1'], 'a function not measured here takes the free lane')
  permits[2]?.release(400)
  t.notOk(s.isShort('never-run'), 'and, measured as long, it is no longer short')
  wait('never-run', 'new-2')
  await flush()
  t.equal(started.length, 3, 'so it waits for a slot')
  hogs[0]?.release(300)
  await flush()
  t.same(started.slice(3), ['hog-3'], 'a freed slot goes to the long waiter with the highest response ratio')
  t.equal(s.runningCount, 2, 'never more than slots + lane')
})

t.test('short lane: a function becomes long when its runs grow, and then waits like any other', async (t) => {
  const clock = new ManualClock(0)
  const s = new RunScheduler({ slots: 1, defaultMs: 100, clock, alpha: 1 })
  ;(await s.acquire('f', 1000)).release(5)
  const held = await s.acquire('g', 60_000)
  const lane = await s.acquire('f', 1000)
  lane.release(400)
  t.notOk(s.isShort('f'))
  await t.rejects(s.acquire('f', 0), { code: 'WISP_TIMEOUT' }, 'no lane for it now, and no time to wait')
  held.release(100)
})

t.test('short lane: a function not measured here is trusted with the lane for one run at a time, so its burst leaves the lane to short ones', async (t) => {
  const clock = new ManualClock(0)
  const s = new RunScheduler({ slots: 2, defaultMs: 100, clock })
  ;(await s.acquire('light', 1000)).release(3)
  const started: string[] = []
  const permits = new Map<string, RunPermit>()
  const wait = (fn: string, tag: string): void => { void s.acquire(fn, 60_000).then((p) => { started.push(tag); permits.set(tag, p) }) }
  // A burst of a function this board has never run (a hog's first burst): two take the slots.
  for (const tag of ['new-1', 'new-2', 'new-3']) wait('new', tag)
  await flush()
  t.same(started, ['new-1', 'new-2'], 'the first two take the slots')
  t.notOk(s.isShort('new'), 'unmeasured, but with runs running here it is not trusted with the lane')
  t.equal(s.runningCount, 2, 'so the third waits: it would hold the lane behind its own two')
  wait('light', 'light-1')
  await flush()
  t.same(started, ['new-1', 'new-2', 'light-1'], 'the lane is free for a short function')
  permits.get('light-1')?.release(3)
  permits.get('new-1')?.release(300)
  await flush()
  t.same(started, ['new-1', 'new-2', 'light-1', 'new-3'], 'the third takes the freed slot')
  t.notOk(s.isShort('new'), 'and measured, it is long')
  permits.get('new-2')?.release(300)
  permits.get('new-3')?.release(300)
  await flush()
  t.equal(s.runningCount, 0)
  t.ok(s.isShort('other-new'), 'a function never run here, with nothing of it running, may take the lane')
})
