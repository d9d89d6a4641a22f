import type { Command } from 'commander'
import { WispError } from '../../shared/errors.js'
import { fail, intOption } from '../errors.js'

export const registerStart = (program: Command): void => {
  program.command('start')
    .description('start an embedded cluster: broker + leader + simulated boards (separate processes) + the sample functions')
    .option('--boards <n>', 'simulated boards', intOption('--boards'), 4)
    .option('--mqtt-port <port>', 'MQTT port of the embedded broker', intOption('--mqtt-port'), 1883)
    .option('--http-port <port>', 'gateway status page port; board N gets port + N', intOption('--http-port'), 8080)
    .option('--invoke-port <port>', 'HTTP invokes: POST /function/<fn> and /async-function/<fn> (0 = any free port)', intOption('--invoke-port'), 8090)
    .option('--data-dir <dir>', 'data folder (one sub-folder per process)', '.wisp')
    .option('--wait-ms <ms>', 'how long an invocation may wait for a live board', intOption('--wait-ms'), 10_000)
    .option('--policy <set>', 'control-plane policy set: wisp, wisp-no-gate, baseline, p2c', 'wisp')
    .option('--gate-idle-ms <ms>', 'power-gate a board idle this long (when the rest cover demand)', intOption('--gate-idle-ms'))
    .option('--boot-scale <x>', 'factor on the simulated boards\' boot times', Number, 1)
    .option('--accounts', 'broker accounts: a fresh admin, a client "me" and one per board (printed once); otherwise open mode, loopback only')
    .option('--mqtt-host <host>', 'interface of the broker; anything but loopback needs --accounts', '127.0.0.1')
    .action(async (o: { boards: number, mqttPort: number, httpPort: number, invokePort: number, dataDir: string, waitMs: number, policy: string, gateIdleMs?: number, bootScale: number, accounts?: boolean, mqttHost: string }) => {
      const { startCluster } = await import('../../cluster/embedded-cluster.js')
      const { createLogger } = await import('../../shared/log.js')
      const log = createLogger('wisp')
      try {
        if (o.boards < 1 || o.boards > 64) throw new WispError('WISP_BAD_CONFIG', '--boards must be between 1 and 64')
        const cluster = await startCluster({ accounts: o.accounts === true, mqttHost: o.mqttHost, boards: o.boards, mqttPort: o.mqttPort, httpPort: o.httpPort, invokePort: o.invokePort, dataDir: o.dataDir, log, leader: { waitMs: o.waitMs }, policy: o.policy, bootScale: o.bootScale, powerPolicy: o.gateIdleMs === undefined ? undefined : { idleMs: o.gateIdleMs, dwellMs: Math.max(2000, o.gateIdleMs), maxMinOnMs: Math.max(2000, o.gateIdleMs), intervalMs: Math.min(5000, Math.max(250, Math.floor(o.gateIdleMs / 4))) } })
        const port = cluster.gateway.broker?.port ?? o.mqttPort
        const url = cluster.gateway.url
        const p = port === 1883 ? '' : ` -p ${port}`
        const acc = cluster.accounts
        const mode = acc === null
          ? 'open mode, loopback only: no accounts, not reachable from other hosts'
          : `accounts: admin / ${acc.admin}, client me / ${acc.me} (shown once; each board has its own)`
        const as = acc === null ? '' : ` -u me -P '${acc.me}' -i me-sub`
        const asPub = acc === null ? '' : ` -u me -P '${acc.me}' -i me-pub`
        const asCli = acc === null ? '' : ` --username me --password '${acc.me}'`
        process.stdout.write([
          '',
          `wisp is up: ${o.boards} simulated boards, functions: ${cluster.gateway.registry.list().map((f) => f.name).join(', ')}`,
          `  broker   ${url}${o.mqttHost !== '127.0.0.1' ? `, listening on ${o.mqttHost}` : ''} (${mode})`,
          `  cluster  ${cluster.gateway.statusUrl ?? '(no page)'}`,
          `  http     ${cluster.gateway.invokeUrl ?? '(none)'}function/<fn>`,
          ...cluster.boards.map((b, i) => `  ${b.id.padEnd(8)} http://127.0.0.1:${o.httpPort + i + 1}/`),
          '',
          'Try it (in another terminal):',
          // A fresh request id per paste: the leader answers a repeated id once (deduplication).
          `  id=r$(date +%s%N); mosquitto_sub -h 127.0.0.1${p}${as} -t "wisp/result/me/hello/$id" -C 1 & sleep 0.5; mosquitto_pub -h 127.0.0.1${p}${asPub} -t "wisp/invoke/hello/me/$id" -m '{"name":"edge"}'`,
          `  npx wisp invoke hello '{"name":"edge"}' --broker ${url}${asCli}`,
          `  curl -i${acc === null ? '' : ` -u 'me:${acc.me}'`} -H 'Content-Type: application/json' -d '{"name":"edge"}' ${cluster.gateway.invokeUrl ?? ''}function/hello`,
          '',
          'Ctrl-C stops the cluster.',
          ''
        ].join('\n'))
        let stopping = false
        const stop = (sig: string): void => {
          if (stopping) return
          stopping = true
          log.info(`${sig}: stopping the cluster`)
          cluster.close().then(() => process.exit(0), (err) => { log.error('stop failed', { err: String(err) }); process.exit(1) })
        }
        process.on('SIGINT', () => stop('SIGINT'))
        process.on('SIGTERM', () => stop('SIGTERM'))
      } catch (err) { fail(err) }
    })
}
