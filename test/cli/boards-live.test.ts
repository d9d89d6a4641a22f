import t from 'tap'
import { spawn } from 'node:child_process'
import { startBroker } from '../../runtime/leader/broker.js'
import { Topics } from '../../runtime/protocol/topics.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import { collectFleet, fleetRows } from '../../runtime/cli/fleet.js'
import { packageVersion } from '../../runtime/shared/package-root.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { inProcessBoard } from '../helpers/board.js'
import { wispArgs } from '../helpers/wisp-cli.js'

t.test('wisp boards --live: each live board with its version, uptime and last gossip', async (t) => {
  const broker = await startBroker({ port: 0, log: silentLogger })
  t.teardown(broker.close)
  const board = await inProcessBoard({ id: 'live1', broker: broker.url })
  t.teardown(board.cleanup)

  const tr = await MqttTransport.open({ url: broker.url, reconnect: false })
  t.teardown(() => tr.close())
  const fleet = await collectFleet(tr, new Topics(), 1500)
  const s = fleet.get('live1')
  t.match(s, { id: 'live1', status: 'online', version: packageVersion() }, 'its gossip, with its version')
  const rows = fleetRows(fleet, (s?.ts ?? 0) + 2000)
  t.same(rows[0], ['board', 'profile', 'status', 'version', 'uptime', 'last seen', 'power', 'queue'])
  t.match(rows[1], ['live1', 'raspberry-pi-4b', 'online', packageVersion(), /^\d+s$/, '2s ago', /W$/, '0'])

  // The command as a user runs it (dist/).
  const p = spawn(process.execPath, wispArgs(['boards', '--live', '--broker', broker.url, '--wait-ms', '1500']), { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  p.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>((resolve) => p.once('exit', resolve))
  t.equal(code, 0)
  t.match(out, /^board\s+profile\s+status\s+version\s+uptime\s+last seen/m)
  t.match(out, /^live1\s+raspberry-pi-4b\s+online\s+\S+\s+\d+s\s+\d+s ago/m)
})

t.test('fleetRows: an offline board shows no uptime', async (t) => {
  const fleet = new Map([['z9', { v: 1 as const, id: 'z9', incarnation: 'mg0000000-abcd', status: 'offline' as const, ts: 1_000 }]])
  t.same(fleetRows(fleet, 3_725_000)[1], ['z9', '-', 'offline', '-', '-', '1h02m ago', '-', '-'])
})

t.test('fleetRows: a board whose power sensor keeps failing shows its power unknown, not its last reading', async (t) => {
  const s = {
    v: 1 as const, id: 'b1', incarnation: 'mg0000000-abcd', profile: 'raspberry-pi-4b', status: 'online' as const, ts: 1_000, seq: 1,
    power_w: 4.2, energy_j: 0, queue_len: 0, service_rate: 0, functions: {}, mem_mb: 0, power_source: 'ina219' as const, power_unknown: true as const
  }
  t.equal(fleetRows(new Map([['b1', s]]), 2_000)[1]?.[6], 'unknown')
  t.equal(fleetRows(new Map([['b1', { ...s, power_unknown: undefined }]]), 2_000)[1]?.[6], '4.20 W')
})
