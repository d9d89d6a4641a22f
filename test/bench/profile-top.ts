// Top self-time functions of the .cpuprofile files in a directory (as written by
// WISP_BENCH_CPU_PROF=<dir> npx tsx test/bench/cost.ts), grouped by process role.
// Usage: node --import tsx test/bench/profile-top.ts <dir> [top=15]
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: Node[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: profile-top.ts <dir> [top]')
const TOP = Number(process.argv[3] ?? 15)

const roleOf = (p: Profile): string => {
  const urls = p.nodes.map((n) => n.callFrame.url)
  if (urls.some((u) => u.includes('executor-host'))) return 'isolate host'
  if (urls.some((u) => u.includes('/aedes/'))) return 'gateway'
  if (urls.some((u) => u.includes('/runtime/agent/'))) return 'agent'
  return 'other'
}
const short = (u: string): string => u.replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/dist\//, 'dist/').replace(/^file:\/\//, '')

const byRole = new Map<string, { files: number, totalMs: number, self: Map<string, number> }>()
for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
  const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile
  const role = roleOf(p)
  const r = byRole.get(role) ?? { files: 0, totalMs: 0, self: new Map<string, number>() }
  byRole.set(role, r)
  r.files++
  const nodes = new Map(p.nodes.map((n) => [n.id, n]))
  p.samples.forEach((id, i) => {
    const n = nodes.get(id)
    if (n === undefined) return
    const ms = (p.timeDeltas[i] ?? 0) / 1000
    if (n.callFrame.functionName === '(idle)') return
    const key = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`
    r.totalMs += ms
    r.self.set(key, (r.self.get(key) ?? 0) + ms)
  })
}
for (const [role, r] of [...byRole].sort()) {
  console.log(`\n## ${role} (${r.files} profiles, ${Math.round(r.totalMs)} ms busy)`)
  for (const [k, ms] of [...r.self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${(100 * ms / r.totalMs).toFixed(1).padStart(5)}%  ${Math.round(ms).toString().padStart(6)} ms  ${k}`)
}
