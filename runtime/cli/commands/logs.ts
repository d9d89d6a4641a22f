import type { Command } from 'commander'
import type { LogLine } from '../../protocol/admin.js'
import { fail } from '../errors.js'
import { parseDuration } from '../duration.js'
import { addAdminOptions, checkName, withGateway, type AdminFlags } from '../admin-request.js'

const print = (l: LogLine): void => {
  process.stdout.write(`${new Date(l.at).toISOString()} ${l.board ?? '-'} ${l.request_id} ${l.level === 'error' ? 'ERROR ' : ''}${l.text}\n`)
}

export const registerLogs = (program: Command): void => {
  addAdminOptions(program.command('logs <fn>')
    .description('print a function\'s recent handler logs and failures, kept by the gateway (admin account)')
    .option('-f, --follow', 'keep printing new lines as they arrive (Ctrl-C stops)')
    .option('--since <duration>', 'only lines of the last <duration> (e.g. 10m)'))
    .action(async (fn: string, o: AdminFlags & { follow?: boolean, since?: string }) => {
      try {
        checkName(fn)
        const since = o.since === undefined ? 0 : Date.now() - parseDuration('--since', o.since)
        const { logsTopic } = await import('../../protocol/admin.js')
        await withGateway(o, async (ask, t) => {
          let last = 0
          const pending: LogLine[] = []
          let live = false
          if (o.follow === true) {
            await t.subscribe(logsTopic('wisp', fn), (m) => {
              let l: LogLine
              try { l = JSON.parse(m.payload.toString('utf8')) as LogLine } catch { return }
              if (typeof l.seq !== 'number' || typeof l.text !== 'string') return
              if (!live) { pending.push(l); return }
              if (l.seq > last) { last = l.seq; print(l) }
            }, { qos: 0 })
          }
          const r = await ask({ op: 'logs', fn, since }) as { lines: LogLine[] }
          for (const l of r.lines) { last = Math.max(last, l.seq); print(l) }
          if (o.follow !== true) return
          live = true
          for (const l of pending) if (l.seq > last) { last = l.seq; print(l) }
          await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve) })
        })
      } catch (err) { fail(err) }
    })
}
