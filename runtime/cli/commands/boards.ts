import type { Command } from 'commander'
import { fail, intOption } from '../errors.js'
import { addCredentialOptions, clientIdFor, credentials } from '../credentials.js'

const print = (rows: string[][]): void => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? []
  for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd() + '\n')
}

export const registerBoards = (program: Command): void => {
  addCredentialOptions(program.command('boards')
    .description('list the board profiles wisp knows (boards/profiles/*.json); with --live, the boards of a running cluster')
    .option('--json', 'print JSON')
    .option('--live', 'the live fleet: each board\'s status, version, uptime and last gossip, heard on the broker (with accounts, an admin one)')
    .option('--broker <url>', 'MQTT broker of the cluster (with --live)', 'mqtt://127.0.0.1:1883')
    .option('--wait-ms <ms>', 'how long to listen for gossip (with --live)', intOption('--wait-ms'), 2500))
    .action(async (o: { json?: boolean, live?: boolean, broker: string, waitMs: number, username?: string, password?: string, ca?: string }) => {
      try {
        if (o.live === true) {
          const { randomBytes } = await import('node:crypto')
          const { Topics } = await import('../../protocol/topics.js')
          const { MqttTransport } = await import('../../transport/mqtt-transport.js')
          const { collectFleet, fleetRows } = await import('../fleet.js')
          const c = credentials(o)
          const t = await MqttTransport.open({ url: o.broker, clientId: clientIdFor(c, `boards-${randomBytes(4).toString('hex')}`), ...c, reconnect: false })
          const fleet = await collectFleet(t, new Topics(), o.waitMs).finally(async () => { await t.close() })
          if (o.json === true) { process.stdout.write(JSON.stringify([...fleet.values()], null, 2) + '\n'); return }
          if (fleet.size === 0) { process.stdout.write(`no board gossiped on ${o.broker} within ${o.waitMs} ms\n`); return }
          print(fleetRows(fleet, Date.now()))
          return
        }
        const { loadProfiles } = await import('../../../boards/index.js')
        const profiles = [...loadProfiles().values()]
        if (o.json === true) { process.stdout.write(JSON.stringify(profiles, null, 2) + '\n'); return }
        const rows = [['profile', 'arch', 'cores', 'memory', 'idle W', 'peak W', 'boot s', 'speed'],
          ...profiles.map((p) => [p.name, p.arch, String(p.cores), `${p.memory_mb} MB`, p.idle_w.toFixed(1), p.peak_w.toFixed(1), String(p.boot_s), p.speed.toFixed(2)])]
        print(rows)
      } catch (err) { fail(err) }
    })
}
