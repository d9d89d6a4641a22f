import type { Command } from 'commander'
import type { FunctionListing, Version } from '../../protocol/admin.js'
import { fail } from '../errors.js'
import { addAdminOptions, checkName, table, withGateway, type AdminFlags } from '../admin-request.js'
import { formatStats, formatTriggers } from './ls.js'

type Described = FunctionListing & { secrets?: string[], current: number, versions: Array<Omit<Version, 'manifest'>> }

export const registerDescribe = (program: Command): void => {
  addAdminOptions(program.command('describe <fn>')
    .description('print a function\'s versions, triggers, limits and figures (admin account)')
    .option('--json', 'print JSON'))
    .action(async (fn: string, o: AdminFlags & { json?: boolean }) => {
      try {
        checkName(fn)
        const d = await withGateway(o, async (ask) => await ask({ op: 'describe', fn })) as Described
        if (o.json === true) { process.stdout.write(JSON.stringify(d, null, 2) + '\n'); return }
        process.stdout.write(`${d.name}: version ${d.current}, ${d.size} bytes, ${d.memory_mb} MB, timeout ${d.timeout_ms} ms, concurrency ${d.concurrency}, ${d.isolation}\n`)
        process.stdout.write(`triggers: ${formatTriggers(d.triggers)}\n`)
        if (d.secrets !== undefined && d.secrets.length > 0) process.stdout.write(`secrets: ${d.secrets.join(', ')}\n`)
        process.stdout.write(`${formatStats(d.stats)}\n\n`)
        process.stdout.write(table([['', 'version', 'sha256', 'size', 'deployed (UTC)', 'by'],
          ...[...d.versions].reverse().map((v) => [v.version === d.current ? '*' : '', String(v.version), v.sha256.slice(0, 12), String(v.size), new Date(v.at).toISOString().replace('T', ' ').slice(0, 19), v.by ?? '-'])]))
      } catch (err) { fail(err) }
    })
}
