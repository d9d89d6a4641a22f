// What each result in bench/results measures: git glob pathspecs of the code whose change
// makes the committed figure stale. The benchmark itself and the shared bench library are
// always part of it (a changed harness is a changed measurement).
const HARNESS = ['test/bench/lib/figures.ts', 'test/bench/lib/functions.ts', 'package.json', 'package-lock.json']
// The benchmarks whose process hosts the gateway run with its heap flags (run-all.ts).
const GATEWAY_FLAGS = 'runtime/shared/node-flags.ts'
const AGENT = ['runtime/agent/**', 'runtime/board-model/**', 'runtime/shared/**', 'runtime/protocol/**']

export const SOURCES: Record<string, string[]> = {
  'cold-start': ['test/bench/cold-start.ts', ...HARNESS, ...AGENT],
  throughput: ['test/bench/throughput.ts', ...HARNESS, ...AGENT],
  memory: ['test/bench/memory.ts', ...HARNESS, ...AGENT],
  'end-to-end': ['test/bench/end-to-end.ts', 'test/bench/lib/echo-process.ts', GATEWAY_FLAGS, 'test/helpers/cluster.ts', ...HARNESS, ...AGENT,
    'runtime/leader/**', 'runtime/transport/**', 'runtime/cluster/**', 'boards/**',
    'runtime/board/**', 'runtime/gateway/**', 'runtime/status/board-status.ts', 'runtime/status/cluster-status.ts'],
  energy: ['test/bench/energy.ts', 'test/node-firmware-bridge/**', 'node-firmware-bridge/**', ...HARNESS],
  scale: ['test/bench/scale.ts', 'test/bench/lib/stub-fleet.ts', 'test/helpers/board-stub.ts', 'test/helpers/load.ts', GATEWAY_FLAGS, ...HARNESS, 'runtime/leader/**', 'runtime/transport/**', 'runtime/gateway/**',
    'runtime/protocol/**', 'runtime/shared/**', 'boards/**'],
  routing: ['test/bench/routing.ts', ...HARNESS, 'runtime/leader/**', 'runtime/shared/**', 'runtime/protocol/**', 'boards/**'],
  'sim-vs-live': ['test/bench/sim-vs-live.ts', 'test/bench/lib/runtime-cpu.ts', GATEWAY_FLAGS, 'test/helpers/cluster.ts', ...HARNESS, 'runtime/**', 'boards/**'],
  reliability: ['test/bench/reliability.ts', 'test/bench/lib/overload-process.ts', 'test/bench/lib/overload-run.ts', GATEWAY_FLAGS, 'test/helpers/cluster.ts', 'test/helpers/load.ts', 'test/helpers/fault-run.ts',
    'test/helpers/fault-cluster.ts', 'test/helpers/noisy.ts', ...HARNESS, 'runtime/**', 'boards/**'],
  footprint: ['test/bench/footprint.ts', 'test/helpers/mqtt.ts', ...HARNESS, 'runtime/**', 'boards/**', 'node-firmware-bridge/**', 'bin/wisp.js', 'scripts/build.js', 'tsconfig.build.json'],
  cost: ['test/bench/cost.ts', 'test/bench/lib/cost-load.ts', 'test/bench/lib/echo-process.ts', 'test/bench/lib/workerd-hello.capnp', 'test/bench/lib/workerd-hello.js',
    ...HARNESS, 'runtime/**', 'boards/**', 'bin/wisp.js', 'examples/functions/hello.js'],
  green: ['test/bench/green.ts', 'test/bench/lib/green-day.ts', 'test/bench/evaluate-params.ts', ...HARNESS, 'runtime/sim/**', 'runtime/board-model/**', 'runtime/leader/policies/**',
    'runtime/leader/cluster-state.ts', 'runtime/leader/demand.ts', 'runtime/protocol/**', 'runtime/shared/**', 'boards/**'],
  evaluation: ['test/bench/evaluate.ts', 'test/bench/evaluation-chart.ts', ...HARNESS, 'runtime/sim/**', 'runtime/board-model/**', 'node-firmware-bridge/surrogate.ts', 'runtime/leader/policies/**',
    // The simulator's policies read the live leader's view builder.
    'runtime/leader/cluster-state.ts', 'runtime/leader/demand.ts', 'runtime/leader/leader.ts', 'runtime/protocol/**', 'runtime/shared/**', 'boards/**']
}
