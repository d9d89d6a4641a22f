import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { WispError } from '../../shared/errors.js'
import { fail, intOption } from '../errors.js'
import { addCredentialOptions, clientIdFor, credentials } from '../credentials.js'

export const registerDeploy = (program: Command): void => {
  addCredentialOptions(program.command('deploy <fn> <file>')
    .description('deploy a function (an ES module exporting `handler`) to the cluster (needs an admin account when the broker has accounts)')
    .option('--broker <url>', 'MQTT broker of the cluster', 'mqtt://127.0.0.1:1883'))
    .option('--memory-mb <mb>', 'memory limit per runtime', intOption('--memory-mb'))
    .option('--timeout-ms <ms>', 'timeout per invocation', intOption('--timeout-ms'))
    .option('--concurrency <n>', 'invocations co-executing in one runtime', intOption('--concurrency'))
    .option('--isolation <mode>', 'shared (module state shared by co-executing invocations) or context (fresh globals per invocation)')
    .action(async (fn: string, file: string, o: { broker: string, memoryMb?: number, timeoutMs?: number, concurrency?: number, isolation?: string, username?: string, password?: string, ca?: string }) => {
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
          memory_mb: o.memoryMb, timeout_ms: o.timeoutMs, concurrency: o.concurrency, isolation: o.isolation as 'shared' | 'context' | undefined
        })
        await validateFunction(manifest, code)
        const c = credentials(o)
        const t = await MqttTransport.open({ url: o.broker, clientId: clientIdFor(c, `deploy-${process.pid}`), ...c, reconnect: false })
        try { await publishDeployment(t, new Topics(), manifest, code) } finally { await t.close() }
        process.stdout.write(`deployed ${manifest.name} (${manifest.size} bytes, sha256 ${manifest.sha256.slice(0, 12)}, ${manifest.isolation}, ${manifest.memory_mb} MB, ${manifest.timeout_ms} ms)\n`)
      } catch (err) { fail(err) }
    })
}
