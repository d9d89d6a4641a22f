import type { Command } from 'commander'
import { fail } from '../errors.js'

export const registerBoards = (program: Command): void => {
  program.command('boards')
    .description('list the board profiles wisp knows (boards/profiles/*.json)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const { loadProfiles } = await import('../../../boards/index.js')
        const profiles = [...loadProfiles().values()]
        if (o.json === true) { process.stdout.write(JSON.stringify(profiles, null, 2) + '\n'); return }
        const rows = [['profile', 'arch', 'cores', 'memory', 'idle W', 'peak W', 'boot s', 'speed'],
          ...profiles.map((p) => [p.name, p.arch, String(p.cores), `${p.memory_mb} MB`, p.idle_w.toFixed(1), p.peak_w.toFixed(1), String(p.boot_s), p.speed.toFixed(2)])]
        const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? []
        for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd() + '\n')
      } catch (err) { fail(err) }
    })
}
