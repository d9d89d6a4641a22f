import type { Command } from 'commander'
import type { FnStatsView, FunctionListing } from '../../protocol/admin.js'
import { fail } from '../errors.js'
import { addAdminOptions, table, withGateway, type AdminFlags } from '../admin-request.js'

const ms = (n: number | null): string => n === null ? '-' : `${n} ms`

export const formatTriggers = (t: FunctionListing['triggers']): string => {
  if (t === null || t === undefined) return '-'
  const parts = [...t.on.map((f) => `on ${f}`)]
  if (t.every_ms !== undefined) parts.push(`every ${t.every_ms / 1000}s`)
  if (t.cron !== undefined) parts.push(`cron "${t.cron}" (${t.tz})`)
  return parts.length === 0 ? '-' : parts.join(', ')
}

export const formatStats = (s: FnStatsView): string =>
  `invocations ${s.invocations} (${s.errors} failed), p50 ${ms(s.p50_ms)}, p99 ${ms(s.p99_ms)}, energy ${s.energy_mj_per_invocation === null ? '-' : `${s.energy_mj_per_invocation} mJ`}/invocation, ` +
  `carbon ${s.carbon_mg_per_invocation === null ? '-' : `${s.carbon_mg_per_invocation} mg`}/invocation (${s.carbon_mg_total === null ? '-' : `${s.carbon_mg_total} mg`} in total)`

const num = (n: number | null): string => n === null ? '-' : String(n)

export const registerLs = (program: Command): void => {
  addAdminOptions(program.command('ls')
    .description('list deployed functions: version, code size, triggers, limits, invocations, p50/p99, energy and carbon per invocation (admin account)')
    .option('--json', 'print JSON'))
    .action(async (o: AdminFlags & { json?: boolean }) => {
      try {
        const r = await withGateway(o, async (ask) => await ask({ op: 'ls' })) as { functions: FunctionListing[] }
        if (o.json === true) { process.stdout.write(JSON.stringify(r.functions, null, 2) + '\n'); return }
        process.stdout.write(table([['name', 'version', 'size', 'memory', 'timeout', 'triggers', 'invocations', 'p50', 'p99', 'mJ/inv', 'mg CO2/inv'],
          ...r.functions.map((f) => [f.name, String(f.version ?? '-'), `${f.size} B`, `${f.memory_mb} MB`, `${f.timeout_ms} ms`, formatTriggers(f.triggers),
            String(f.stats.invocations), ms(f.stats.p50_ms), ms(f.stats.p99_ms), num(f.stats.energy_mj_per_invocation), num(f.stats.carbon_mg_per_invocation)])]))
      } catch (err) { fail(err) }
    })
}
