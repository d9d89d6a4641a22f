import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { WispError } from '../../shared/errors.js'
import { fail, intOption } from '../errors.js'
import { collect, describePublishes, describeTriggers, numberOption, triggerOptions, type TriggerFlags } from '../trigger-flags.js'
import { DEFAULT_TRIGGER_TZ } from '../../protocol/triggers.js'
import { addCredentialOptions, clientIdFor, credentials } from '../credentials.js'

interface DeployFlags extends TriggerFlags { broker: string, publishes: string[], memoryMb?: number, timeoutMs?: number, concurrency?: number, isolation?: string, username?: string, password?: string, ca?: string }

export const registerDeploy = (program: Command): void => {
  addCredentialOptions(program.command('deploy <fn> <file>')
    .description('deploy a function (an ES module exporting `handler`) to the cluster (needs an admin account when the broker has accounts)')
    .option('--broker <url>', 'MQTT broker of the cluster', 'mqtt://127.0.0.1:1883'))
    .option('--memory-mb <mb>', 'memory limit per runtime', intOption('--memory-mb'))
    .option('--timeout-ms <ms>', 'timeout per invocation', intOption('--timeout-ms'))
    .option('--concurrency <n>', 'invocations co-executing in one runtime', intOption('--concurrency'))
    .option('--isolation <mode>', 'shared (module state shared by co-executing invocations) or context (fresh globals per invocation)')
    .option('--on <filter>', 'run on each message on this MQTT topic filter (repeatable; none under wisp/, and none starting with + or #); event {topic, payload, qos, retain, receivedAt}, payload parsed as JSON when it parses, else the UTF-8 string', collect, [])
    .option('--publishes <filter>', 'let the handler publish with context.publish to topics matching this MQTT filter (repeatable, e.g. actuators/#; none under wisp/, and none starting with + or #); the gateway checks every publish', collect, [])
    .option('--every <duration>', 'run once per interval cluster-wide (e.g. 30s, 5m, 1h; at least 1s), on multiples of it since the epoch; event {scheduledAt, firedAt}. Ticks missed while the gateway was down are skipped')
    .option('--cron <expr>', 'run on a cron schedule (5 fields, or 6 with seconds first) cluster-wide; event {scheduledAt, firedAt}. Ticks missed while the gateway was down are skipped; the next one runs')
    .option('--tz <zone>', 'IANA time zone the --cron expression is read in', DEFAULT_TRIGGER_TZ)
    .option('--trigger-concurrency <n>', 'triggered invocations in flight at once per trigger (default 16); past it the event goes to wisp/dead/<fn>', intOption('--trigger-concurrency'))
    .option('--trigger-rate <per-second>', 'triggered invocations started per second per trigger (default 100, burst 200); past it the event goes to wisp/dead/<fn>', numberOption('--trigger-rate'))
    .action(async (fn: string, file: string, o: DeployFlags) => {
      try {
        const { Topics } = await import('../../protocol/topics.js')
        const { buildManifest } = await import('../../protocol/manifest.js')
        const { publishDeployment } = await import('../../transport/publish-deployment.js')
        const { MqttTransport } = await import('../../transport/mqtt-transport.js')
        const { validateFunction } = await import('../../agent/validate.js')
        if (o.isolation !== undefined && o.isolation !== 'shared' && o.isolation !== 'context') {
          throw new WispError('WISP_BAD_CONFIG', '--isolation must be "shared" or "context"')
        }
        let code: string
        try { code = readFileSync(file, 'utf8') } catch (err) { throw new WispError('WISP_BAD_CONFIG', `cannot read ${file}: ${(err as Error).message}`) }
        const manifest = buildManifest(fn, code, {
          memory_mb: o.memoryMb, timeout_ms: o.timeoutMs, concurrency: o.concurrency, isolation: o.isolation as 'shared' | 'context' | undefined, triggers: triggerOptions(o),
          publishes: o.publishes.length > 0 ? o.publishes : undefined
        })
        await validateFunction(manifest, code)
        const c = credentials(o)
        const t = await MqttTransport.open({ url: o.broker, clientId: clientIdFor(c, `deploy-${process.pid}`), ...c, reconnect: false })
        try { await publishDeployment(t, new Topics(), manifest, code) } finally { await t.close() }
        process.stdout.write(`deployed ${manifest.name} (${manifest.size} bytes, sha256 ${manifest.sha256.slice(0, 12)}, ${manifest.isolation}, ${manifest.memory_mb} MB, ${manifest.timeout_ms} ms)${describeTriggers(manifest)}${describePublishes(manifest)}\n`)
      } catch (err) { fail(err) }
    })
}
