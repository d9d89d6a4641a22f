import t from 'tap'
import { errors, runWorkload } from './workload.js'

t.test('conservation: attributed + unattributed idle = measured over mixed concurrent invocations', async (t) => {
  const r = await runWorkload({ seed: 7, durationMs: 30_000 })
  const l = r.ledger
  t.ok(r.invocations.length > 100, `${r.invocations.length} invocations`)
  t.ok(l.measuredJ > 0)
  t.ok(Math.abs(l.pendingJ) < 1e-6, 'nothing left pending once every invocation ended')
  t.ok(Math.abs(l.attributedJ + l.unattributedIdleJ + l.residualJ - l.measuredJ) < 1e-6, 'exact with the settlement residual')
  const err = Math.abs(l.attributedJ + l.unattributedIdleJ - l.measuredJ) / l.measuredJ
  t.ok(err < 0.01, `attributed + unattributed idle within 1 % of measured (${(err * 100).toFixed(3)} %)`)
  const sum = r.invocations.reduce((a, i) => a + i.attributedJ, 0)
  t.ok(Math.abs(sum - l.attributedJ) < 1e-6, 'the receipts add up to the attributed total')
  t.ok(Math.abs(l.measuredJ - r.trueTotalJ) / r.trueTotalJ < 0.01, 'the simulated meter measures the true total within 1 %')
})

t.test('accuracy: within 5 % of each invocation\'s true energy, better than CPU-time-only attribution', async (t) => {
  const r = await runWorkload({ seed: 3, durationMs: 120_000 })
  const learned = errors(r.invocations, (i) => i.attributedJ)
  const naive = errors(r.invocations, (i) => i.baselineJ)
  t.ok(learned.weighted < 0.05, `energy-weighted MAE ${(learned.weighted * 100).toFixed(2)} % < 5 %`)
  t.ok(learned.weighted < naive.weighted, `better than CPU-time-only (${(naive.weighted * 100).toFixed(2)} %)`)
  t.ok(learned.perInvocation < 0.05, `per-invocation MAE ${(learned.perInvocation * 100).toFixed(2)} % < 5 %`)
  t.ok(learned.perInvocation < naive.perInvocation, `better than CPU-time-only per invocation (${(naive.perInvocation * 100).toFixed(2)} %)`)
  const m = r.port.powerModel()
  t.ok((m.intensityW['kv-scan'] ?? 0) < (m.intensityW.hash ?? 0), 'memory-bound function learned as less power-intense than CPU-bound')
})
