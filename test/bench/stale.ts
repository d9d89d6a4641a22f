// `npm run bench:stale`: lists the bench/results files whose measured sources changed since
// they were produced. `--check` exits 1 when any is stale.
import { fileURLToPath } from 'node:url'
import { staleness } from './lib/staleness.js'

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = staleness()
  for (const r of rows) {
    process.stdout.write(`${r.stale ? 'stale' : 'fresh'}  ${r.file}: ${r.reason}\n`)
    for (const f of r.changed.slice(0, 20)) process.stdout.write(`         ${f}\n`)
    if (r.changed.length > 20) process.stdout.write(`         … and ${r.changed.length - 20} more\n`)
  }
  const n = rows.filter((r) => r.stale).length
  process.stdout.write(`${n} of ${rows.length} results stale\n`)
  if (process.argv.includes('--check') && n > 0) process.exitCode = 1
}
