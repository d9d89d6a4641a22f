import { resolve } from 'node:path'
import type { Command } from 'commander'
import { fail } from '../errors.js'
import { addAdminOptions, withGateway, type AdminFlags } from '../admin-request.js'
import { parseDuration } from '../duration.js'
import { WispError } from '../../shared/errors.js'
import type { BoardResult, Progress, RolloutReport } from '../../leader/upgrade.js'
import { NAME_RE, NAME_RULE } from '../../protocol/topics.js'

type Flags = AdminFlags & { to: string, boards?: string, package?: string, timeout: string }

const line = (p: Progress): string => p.step === 'done'
  ? `${p.board}: ${p.outcome ?? 'done'}${p.error === undefined ? '' : ` (${p.error})`}\n`
  : `${p.board}: ${p.step}…\n`

const summary = (b: BoardResult): string => {
  switch (b.outcome) {
    case 'failed': return `${b.board}: FAILED at ${b.step ?? '?'}: ${b.error ?? ''}; ${b.rolled_back === true ? `rolled back to ${b.from ?? 'its previous version'}` : 'NOT back online yet'}`
    case 'upgraded': return `${b.board}: ${b.from ?? '?'} → upgraded`
    case 'already': return `${b.board}: already on it`
    case 'skipped': return `${b.board}: skipped (${b.error ?? ''})`
    case 'not-started': return `${b.board}: not started (still on ${b.from ?? '?'})`
  }
}

export const registerUpgrade = (program: Command): void => {
  addAdminOptions(program.command('upgrade')
    .description('roll a new wisp version over the boards one at a time: drain, install, restart, health check, next; a board that fails is rolled back and the rollout stops (admin account)')
    .requiredOption('--to <version>', 'the wisp version the boards end on')
    .option('--boards <ids>', 'the boards to upgrade, in this order (comma-separated; default all)')
    .option('--package <path|url>', 'the packed wisp tarball flashed boards fetch (`npm pack`); simulated boards need none')
    .option('--timeout <duration>', 'how long each step may take on one board', '2m'))
    .action(async (o: Flags) => {
      try {
        const timeoutMs = parseDuration('--timeout', o.timeout)
        const boards = o.boards?.split(',').map((s) => s.trim()).filter((s) => s !== '')
        if (boards !== undefined && boards.some((b) => !NAME_RE.test(b))) throw new WispError('WISP_BAD_CONFIG', `--boards must be board ids (${NAME_RULE}) separated by commas`)
        const pkg = o.package === undefined || /^https?:\/\//.test(o.package) ? o.package : resolve(o.package)
        const report = await withGateway(o, async (ask, _t, ackMs) => await ask(
          { op: 'upgrade', to: o.to, timeout_ms: timeoutMs, ...(pkg === undefined ? {} : { package: pkg }), ...(boards === undefined ? {} : { boards }) },
          // Each step reports progress: the gateway is silent at most a step's timeout, and a rollback's.
          2 * timeoutMs + ackMs,
          (p) => process.stdout.write(line(p as Progress))
        )) as RolloutReport
        process.stdout.write(report.boards.map(summary).join('\n') + '\n')
        if (!report.ok) {
          process.stderr.write(`wisp: the rollout to ${report.to} stopped: a board failed its upgrade\n`)
          process.exitCode = 1
          return
        }
        process.stdout.write(`every board is on ${report.to}\n`)
      } catch (err) { fail(err) }
    })
}
