// The overload benchmark's client: a process of its own, as a real client is, so the gateway's
// RSS growth is the gateway's alone. It measures the cluster's capacity, sends 10x that for the
// given seconds, then a burst of 2,000, and reports over IPC. Before and after the overload, and
// before the burst, it asks the parent (the gateway's process) to take its readings and waits for
// the answer. Usage: node --import tsx test/bench/lib/overload-process.ts <mqtt url> <seconds>.
import { LoadClient, quantile } from '../../helpers/load.js'

export type OverloadPhase = 'before-overload' | 'after-overload' | 'before-burst'
export interface OverloadAsk { readonly ask: OverloadPhase }
export interface OverloadReport {
  readonly done: true
  readonly capacity: number, readonly rate: number, readonly p99Before: number, readonly p50Before: number
  readonly p99At5s: number, readonly p50At5s: number
  readonly over: ReturnType<LoadClient['stats']>, readonly burst: ReturnType<LoadClient['stats']>
  readonly refusedMedianMs: number
}

const url = process.argv[2]
const seconds = Number(process.argv[3])
if (url === undefined || !(seconds > 0)) throw new Error('usage: overload-process.ts <mqtt url> <seconds>')

const ask = async (phase: OverloadPhase): Promise<void> => {
  await new Promise<void>((resolve) => {
    const on = (m: unknown): void => { if ((m as { ok?: string }).ok === phase) { process.off('message', on); resolve() } }
    process.on('message', on)
    process.send?.({ ask: phase } satisfies OverloadAsk)
  })
}
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

const load = await LoadClient.connect(url, 'over')
const primes = (): string => load.send('primes', { n: 20000 })
for (let i = 0; i < 40; i++) primes()
await load.settle(30_000)
// Capacity: completions per second with 64 kept in flight for 5 s.
const cap0 = performance.now()
const capIds = new Set<string>()
while (performance.now() - cap0 < 5000) {
  while ([...capIds].filter((id) => (load.outcomes.get(id)?.replies.length ?? 0) === 0).length < 64) capIds.add(primes())
  await sleep(5)
}
await load.settle(30_000)
const capacity = [...capIds].filter((id) => load.outcomes.get(id)?.replies[0]?.ok === true).length / 5
const calm = new Set<string>()
for (let i = 0; i < 40; i++) { calm.add(primes()); await sleep(50) }
await load.settle(10_000)
const before = load.stats((o) => calm.has(o.id))
await ask('before-overload')
// WISP_OVERLOAD_RATE fixes the offered rate instead (invokes/s), to compare configurations on a loaded machine.
const fixedRate = Number(process.env.WISP_OVERLOAD_RATE)
const rate = fixedRate > 0 ? fixedRate : capacity * 10
const over = new Set<string>()
const t0 = performance.now()
for (let i = 0; performance.now() - t0 < seconds * 1000; i++) {
  const wait = t0 + (i / rate) * 1000 - performance.now()
  if (wait > 0) await sleep(wait)
  over.add(primes())
}
const ended = performance.now()
const after = new Set<string>()
for (let i = 0; i < 100; i++) { after.add(primes()); await sleep(50) }
await load.settle(60_000)
await ask('after-overload')
const at5s = [...load.outcomes.values()].filter((o) => after.has(o.id) && o.sentAt - ended <= 5000 && o.sentAt - ended > 4000).map((o) => (o.replies[0]?.at ?? Infinity) - o.sentAt)
await ask('before-burst')
const burst = new Set<string>()
for (let i = 0; i < 2000; i++) burst.add(primes())
await load.settle(90_000)
const refused = [...load.outcomes.values()].filter((o) => burst.has(o.id) && o.replies[0]?.code === 'WISP_OVERLOADED').map((o) => (o.replies[0]?.at ?? 0) - o.sentAt)
const report: OverloadReport = {
  done: true, capacity, rate, p99Before: before.p99Ms, p50Before: before.p50Ms,
  p99At5s: quantile(at5s, 0.99), p50At5s: quantile(at5s, 0.5),
  over: load.stats((o) => over.has(o.id)), burst: load.stats((o) => burst.has(o.id)), refusedMedianMs: quantile(refused, 0.5)
}
await load.close()
process.send?.(report)
process.disconnect()
