// The simulator is bit-for-bit repeatable: one seed gives one report, byte for byte, run after run
// in one process and in separate processes, whatever the clock and the unseeded random sources
// say (the children replace Math.random, Date.now, performance.now and node:crypto's randomness
// with values of their own: a simulation that drew on any of them would differ).
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { smallSimulation } from './fixtures/repeatable-sim.js'

const CHILD = fileURLToPath(new URL('./fixtures/repeatable-sim.ts', import.meta.url))

const inChild = async (perturb: number): Promise<string> => await new Promise((resolve, reject) => {
  const c = spawn(process.execPath, ['--import', 'tsx', CHILD, '--child'], { env: { ...process.env, WISP_PERTURB: String(perturb), WISP_SEED: '1' }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  c.stdout.on('data', (b: Buffer) => { out += b.toString() })
  c.on('error', reject)
  c.on('close', (code) => { if (code === 0) resolve(out); else reject(new Error(`simulation child exited ${String(code)}`)) })
})

t.test('one seed, one report: twice in this process (another seed run in between) and in two child processes with different clocks and random sources', async (tt) => {
  const first = await smallSimulation(1)
  const other = await smallSimulation(2)
  const again = await smallSimulation(1)
  tt.not(other, first, 'another seed gives another report (the check can tell them apart)')
  tt.equal(again, first, 'the same seed again in this process: byte for byte')
  const [a, b] = await Promise.all([inChild(1), inChild(2)])
  tt.equal(a, first, 'in a child process: byte for byte')
  tt.equal(b, first, 'in a child whose clock and unseeded randomness differ: byte for byte')
  const r = JSON.parse(first) as { cold_ms: number, policies: Record<string, { invocations: number }> }
  tt.equal(r.cold_ms, 20, 'the report records its cold-start input')
  tt.ok((r.policies.wisp?.invocations ?? 0) > 500, 'a simulation with real load')
})
