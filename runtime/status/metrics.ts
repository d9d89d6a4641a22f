import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Receipt } from '../protocol/messages.js'
import type { ErrorCode } from '../shared/errors.js'

/*
 * Metric objects for /metrics, created on a caller's Registry (never prom-client's global
 * one, so a gateway and the boards of `wisp start` in one test process never collide).
 * Names follow the Prometheus conventions: base units (seconds, watts, joules), `_total`
 * on counters.
 */

/** Latency buckets from 1 ms (a warm hello-world) to 60 s (a slow board's long job). */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** Invocations by function and outcome (`ok` or a WISP_… error code). */
export const invocationsCounter = (registry: Registry): Counter<'function' | 'outcome'> => new Counter({
  name: 'wisp_invocations_total',
  help: 'Invocations finished, by function and outcome (ok or a WISP_ error code).',
  labelNames: ['function', 'outcome'] as const,
  registers: [registry]
})

export interface LatencyHistograms {
  /** From arrival to reply. */
  readonly total: Histogram<'function'>
  /** Waiting in the board's queue. */
  readonly queue: Histogram<'function'>
  /** Running in the runtime. */
  readonly run: Histogram<'function'>
}

const histogram = (registry: Registry, name: string, help: string): Histogram<'function'> => new Histogram({
  name, help, labelNames: ['function'] as const, buckets: LATENCY_BUCKETS_S, registers: [registry]
})

export const latencyHistograms = (registry: Registry): LatencyHistograms => ({
  total: histogram(registry, 'wisp_invocation_duration_seconds', 'Invocation latency from arrival to reply, in seconds.'),
  queue: histogram(registry, 'wisp_invocation_queue_seconds', 'Time invocations waited in a board queue, in seconds.'),
  run: histogram(registry, 'wisp_invocation_run_seconds', 'Time invocations ran in a runtime, in seconds.')
})

/** Queue length per board and function. */
export const queueLengthGauge = (registry: Registry): Gauge<'board' | 'function'> => new Gauge({
  name: 'wisp_queue_length',
  help: 'Invocations queued, by board and function.',
  labelNames: ['board', 'function'] as const,
  registers: [registry]
})

export const powerGauge = (registry: Registry): Gauge<'board' | 'source'> => new Gauge({
  name: 'wisp_board_power_watts',
  help: 'Latest power drawn by a board, in watts (source: ina219 or surrogate).',
  labelNames: ['board', 'source'] as const,
  registers: [registry]
})

export const energyGauge = (registry: Registry): Gauge<'board'> => new Gauge({
  name: 'wisp_board_energy_joules',
  help: 'Energy a board has used since its agent (or the leader) started, in joules.',
  labelNames: ['board'] as const,
  registers: [registry]
})

export const clusterPowerGauge = (registry: Registry): Gauge => new Gauge({
  name: 'wisp_cluster_power_watts',
  help: 'Sum of the latest power of every board, in watts.',
  registers: [registry]
})

export const boardsGauge = (registry: Registry): Gauge<'state'> => new Gauge({
  name: 'wisp_boards',
  help: 'Boards by power state (on, booting, draining, shutting-down, gated, offline).',
  labelNames: ['state'] as const,
  registers: [registry]
})

export const decisionsCounter = (registry: Registry): Counter<'kind' | 'policy'> => new Counter({
  name: 'wisp_decisions_total',
  help: 'Decisions the leader made, by kind and policy.',
  labelNames: ['kind', 'policy'] as const,
  registers: [registry]
})

export const carbonCounter = (registry: Registry): Counter<'function' | 'board'> => new Counter({
  name: 'wisp_carbon_grams_total',
  help: 'CO2 of the energy invocations used, at the grid carbon intensity when they ran, in grams (receipts\' carbon_mg).',
  labelNames: ['function', 'board'] as const,
  registers: [registry]
})

export const costCounter = (registry: Registry): Counter<'function' | 'board'> => new Counter({
  name: 'wisp_cost_total',
  help: 'Cost of invocations at the gateway\'s configured prices (receipts\' cost), in the prices\' currency.',
  labelNames: ['function', 'board'] as const,
  registers: [registry]
})

export interface BoardMetrics {
  readonly invocations: Counter<'function' | 'outcome'>
  readonly latency: LatencyHistograms
  readonly queueLength: Gauge<'board' | 'function'>
  readonly power: Gauge<'board' | 'source'>
  readonly energy: Gauge<'board'>
}

export interface ClusterMetrics extends BoardMetrics {
  readonly clusterPower: Gauge
  readonly boards: Gauge<'state'>
  readonly decisions: Counter<'kind' | 'policy'>
  readonly carbon: Counter<'function' | 'board'>
  readonly cost: Counter<'function' | 'board'>
}

export const createBoardMetrics = (registry: Registry): BoardMetrics => ({
  invocations: invocationsCounter(registry),
  latency: latencyHistograms(registry),
  queueLength: queueLengthGauge(registry),
  power: powerGauge(registry),
  energy: energyGauge(registry)
})

export const createClusterMetrics = (registry: Registry): ClusterMetrics => ({
  ...createBoardMetrics(registry),
  clusterPower: clusterPowerGauge(registry),
  boards: boardsGauge(registry),
  decisions: decisionsCounter(registry),
  carbon: carbonCounter(registry),
  cost: costCounter(registry)
})

/** Adds a receipt's carbon and cost (set by the leader) to the cluster's totals. */
export const recordGreen = (m: ClusterMetrics, fn: string, receipt?: Receipt): void => {
  if (receipt === undefined) return
  if (receipt.carbon_mg !== undefined) m.carbon.inc({ function: fn, board: receipt.board }, receipt.carbon_mg / 1000)
  if (receipt.cost !== undefined) m.cost.inc({ function: fn, board: receipt.board }, receipt.cost)
}

/** Counts one finished invocation and, when it has a receipt, observes its latencies. */
export const recordInvocation = (m: BoardMetrics, fn: string, outcome: 'ok' | ErrorCode, receipt?: Receipt): void => {
  m.invocations.inc({ function: fn, outcome })
  if (receipt === undefined) return
  m.latency.total.observe({ function: fn }, receipt.total_ms / 1000)
  m.latency.queue.observe({ function: fn }, receipt.queue_ms / 1000)
  m.latency.run.observe({ function: fn }, receipt.run_ms / 1000)
}
