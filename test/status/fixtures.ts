// Hand-built snapshots for the status server tests (not a test file of its own).
import { getProfile } from '../../boards/index.js'
import type { BoardState } from '../../runtime/protocol/messages.js'
import { SnapshotFeed } from '../../runtime/status/feed.js'
import type { BoardSnapshot, ClusterSnapshot, InvocationRecord } from '../../runtime/status/types.js'

export const T0 = Date.UTC(2025, 4, 6, 12, 0, 0)

export const boardState = (id: string, over: Partial<BoardState> = {}): BoardState => ({
  v: 1,
  id,
  incarnation: `${id}-boot-1`,
  profile: 'banana-pi-m2-zero',
  status: 'online',
  ts: T0,
  seq: 7,
  power_w: 1.42,
  energy_j: 84.2,
  queue_len: 3,
  service_rate: 4.5,
  functions: {
    hello: { queue_len: 1, service_rate: 3.2, running: 2, runtimes: 1 },
    resize: { queue_len: 2, service_rate: 1.3, running: 1, runtimes: 2 }
  },
  mem_mb: 188,
  status_url: 'http://127.0.0.1:8081/',
  power_source: 'ina219',
  ...over
})

export const invocation = (i: number, board = 'b1'): InvocationRecord => {
  const ok = i % 4 !== 3
  return {
    request_id: `req-${i}`,
    fn: i % 2 === 0 ? 'hello' : 'resize',
    at_ms: T0 + i * 1000,
    ok,
    ...(ok ? {} : { error: { code: 'WISP_TIMEOUT' as const, message: 'ran past 5000 ms' } }),
    receipt: {
      request_id: `req-${i}`, function: i % 2 === 0 ? 'hello' : 'resize', board, attempt: 0, cold: i === 0,
      queue_ms: 2 + i, run_ms: 40 + 3 * i, total_ms: 45 + 4 * i, energy_mj: 12.5 + i, power_w: 1.4, power_source: 'ina219'
    },
    logs: i % 2 === 0 ? [`hello from ${i}`, '<script>alert(1)</script> is text, not HTML'] : []
  }
}

const samples = (n: number, base: number): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => [T0 - (n - i) * 1000, base + 0.4 * Math.sin(i / 4) + (i % 5) * 0.03])

export const boardSnapshot = (over: Partial<BoardSnapshot> = {}): BoardSnapshot => ({
  kind: 'board',
  generated_ms: T0,
  state: boardState('b1'),
  profile: getProfile('banana-pi-m2-zero'),
  power_source: 'ina219',
  power_w: 1.42,
  energy_j: 84.2,
  power_samples: samples(60, 1.3),
  invocations: [5, 4, 3, 2, 1, 0].map((i) => invocation(i)),
  ...over
})

export const clusterSnapshot = (over: Partial<ClusterSnapshot> = {}): ClusterSnapshot => {
  const history = Array.from({ length: 60 }, (_, i) => {
    const b1 = 1.3 + 0.3 * Math.sin(i / 5)
    const b2 = 2.1 + 0.5 * Math.cos(i / 7)
    const b3 = i < 30 ? 0.9 : 0
    return { t_ms: T0 - (60 - i) * 1000, total_w: b1 + b2 + b3, boards: { b1, b2, b3 } }
  })
  return {
    kind: 'cluster',
    generated_ms: T0,
    boards: [
      { id: 'b1', profile: 'banana-pi-m2-zero', power: 'on', power_w: 1.42, energy_j: 84.2, queue_len: 3, inflight: 2, power_source: 'ina219', status_url: 'http://127.0.0.1:8081/', last_seen_ms: T0 - 400 },
      { id: 'b2', profile: 'raspberry-pi-4b', power: 'draining', power_w: 2.6, energy_j: 161, queue_len: 0, inflight: 1, power_source: 'surrogate', status_url: 'http://127.0.0.1:8082/', last_seen_ms: T0 - 900 },
      { id: 'b3', profile: 'orange-pi-zero3', power: 'gated', power_w: 0, energy_j: 27.1, queue_len: 0, inflight: 0, last_seen_ms: T0 - 31_000 },
      { id: 'b4', profile: 'raspberry-pi-zero-2w', power: 'booting', power_w: 0.7, queue_len: 0 }
    ],
    total_power_w: 4.72,
    energy_j: 272.3,
    decisions: [
      { kind: 'balance', policy: 'least-expected-completion', at: T0 - 100, fn: 'hello', choice: 'b1', scores: { b1: 0.42, b2: 1.87 }, reason: 'least expected completion time' },
      { kind: 'scale', policy: 'proactive', at: T0 - 2000, fn: 'resize', choice: null, scores: {}, reason: 'forecast within current capacity' },
      { kind: 'power', policy: 'idle-gate', at: T0 - 30_000, choice: 'b3', scores: { b3: 31.2 }, reason: 'idle 30 s with spare capacity' }
    ],
    fairness: { jain: 0.962 },
    latency: { p50_ms: 48, p99_ms: 412, count: 1280 },
    power_history: history,
    invocations: [3, 2, 1, 0].map((i) => invocation(i, i % 2 === 0 ? 'b1' : 'b2')),
    ...over
  }
}

/** A source whose snapshot the test changes; `set` notifies subscribers like the agent does. */
export class MutableSource<S extends BoardSnapshot | ClusterSnapshot> extends SnapshotFeed<S> {
  current: S
  constructor (initial: S) {
    super(() => this.current)
    this.current = initial
  }

  set (next: S): void {
    this.current = next
    this.changed()
  }
}
