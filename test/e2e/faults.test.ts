import t from 'tap'
import { runFaults } from '../helpers/fault-run.js'

const SEED = Number(process.env.WISP_FAULT_SEED ?? 7)

t.test('faults under steady load: kill -9 a board, SIGSTOP one 5 s, restart the gateway, drop a board\'s TCP: nothing lost, nothing twice', async (t) => {
  const r = await runFaults({ seconds: 24, rate: 10, seed: SEED, log: (s) => t.comment(s) })
  t.comment(JSON.stringify({ stats: r.stats, baseline: r.baseline, lostAtS: r.lostAtS }))
  for (const f of r.faults) t.comment(JSON.stringify(f))
  t.equal(r.faults.length, 4, 'every fault injected')
  t.equal(r.stats.lost, 0, 'lost = 0: every request id answered')
  t.equal(r.stats.duplicates, 0, 'duplicate replies = 0')
  t.equal(r.stats.foreign, 0, 'every error is a WISP_* code')
  t.ok(r.stats.ok >= r.stats.sent * 0.9, `most succeed (${r.stats.ok} of ${r.stats.sent})`)
  t.ok(r.faults.every((f) => Number.isFinite(f.recoverMs)), 'the cluster answers again after every fault')
})
