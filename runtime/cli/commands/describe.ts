import type { Command } from 'commander'
import type { FunctionRow, Version } from '../../protocol/admin.js'
import { fail } from '../errors.js'
import { addAdminOptions, checkName, table, withGateway, type AdminFlags } from '../admin-request.js'
import { formatStats, formatTriggers } from './ls.js'

type Described = FunctionRow & { secrets?: string[], current: number, versions: Array<Omit<Version, 'manifest'>> }

const utc = (at: number): string => new Date(at).toISOString().replace('T', ' ').slice(0, 19)

export const registerDescribe = (program: Command): void => {
  addAdminOptions(program.command('describe <fn>')
    .description('print a function\'s versions, triggers, limits, figures and recent errors (admin account)')
    .option('--json', 'print JSON'))
    .action(async (fn: string, o: AdminFlags & { json?: boolean }) => {
      try {
        checkName(fn)
        const d = await withGateway(o, async (ask) => await ask({ op: 'describe', fn })) as Described
        if (o.json === true) { process.stdout.write(JSON.stringify(d, null, 2) + '\n'); return }
        process.stdout.write(`${d.name}: version ${d.current}, ${d.size} bytes, ${d.memory_mb} MB, timeout ${d.timeout_ms} ms, concurrency ${d.concurrency}, ${d.isolation}\n`)
        process.stdout.write(`triggers: ${formatTriggers(d.triggers)}\n`)
        if (d.secrets !== undefined && d.secrets.length > 0) process.stdout.write(`secrets: ${d.secrets.join(', ')}\n`)
        process.stdout.write(`${formatStats(d.stats)}\n`)
        const errors = d.recent_errors ?? []
        process.stdout.write(errors.length === 0
          ? 'recent errors: none\n\n'
          : `recent errors (newest first):\n${errors.map((e) => `  ${utc(e.at)} ${e.board ?? '-'} ${e.request_id} ${e.code}: ${e.message}`).join('\n')}\n\n`)
        process.stdout.write(table([['', 'version', 'sha256', 'size', 'deployed (UTC)', 'by'],
          ...[...d.versions].reverse().map((v) => [v.version === d.current ? '*' : '', String(v.version), v.sha256.slice(0, 12), String(v.size), utc(v.at), v.by ?? '-'])]))
      } catch (err) { fail(err) }
    })
}
