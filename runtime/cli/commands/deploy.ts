import { readFileSync, statSync } from 'node:fs'
import type { Command } from 'commander'
import { WispError } from '../../shared/errors.js'
import { fail, intOption } from '../errors.js'
import { collect, describePublishes, describeTriggers, numberOption, triggerOptions, type TriggerFlags } from '../trigger-flags.js'
import { DEFAULT_TRIGGER_TZ } from '../../protocol/triggers.js'
import { addAdminOptions, withGateway, type AdminFlags } from '../admin-request.js'

interface DeployFlags extends TriggerFlags, AdminFlags { publishes: string[], variants: string[], memoryMb?: number, timeoutMs?: number, concurrency?: number, isolation?: string }

const isDirectory = (p: string): boolean => { try { return statSync(p).isDirectory() } catch { return false } }

export const registerDeploy = (program: Command): void => {
  addAdminOptions(program.command('deploy <fn> <file>')
    .description('deploy a function (an ES module exporting `handler`, or a folder: its package.json main or index.js bundled with the npm packages it imports) to the cluster as a new version, and wait for the gateway to accept it (needs an admin account when the broker has accounts)'))
    .option('--memory-mb <mb>', 'memory limit per runtime', intOption('--memory-mb'))
    .option('--timeout-ms <ms>', 'timeout per invocation', intOption('--timeout-ms'))
    .option('--concurrency <n>', 'invocations co-executing in one runtime', intOption('--concurrency'))
    .option('--isolation <mode>', 'shared (module state shared by co-executing invocations) or context (fresh globals per invocation)')
    .option('--on <filter>', 'run on each message on this MQTT topic filter (repeatable; none under wisp/, and none starting with + or #); event {topic, payload, qos, retain, receivedAt}, payload parsed as JSON when it parses, else the UTF-8 string', collect, [])
    .option('--publishes <filter>', 'let the handler publish with context.publish to topics matching this MQTT filter (repeatable, e.g. actuators/#; none under wisp/, and none starting with + or #); the gateway checks every publish', collect, [])
    .option('--variants <fns>', 'cheaper deployed functions (comma-separated, repeatable) that may run instead when the caller sends $wisp.accept_variants and carbon is high or the power cap tight; the receipt names the one that ran', collect, [])
    .option('--every <duration>', 'run once per interval cluster-wide (e.g. 30s, 5m, 1h; at least 1s), on multiples of it since the epoch; event {scheduledAt, firedAt}. Ticks missed while the gateway was down are skipped')
    .option('--cron <expr>', 'run on a cron schedule (5 fields, or 6 with seconds first) cluster-wide; event {scheduledAt, firedAt}. Ticks missed while the gateway was down are skipped; the next one runs')
    .option('--tz <zone>', 'IANA time zone the --cron expression is read in', DEFAULT_TRIGGER_TZ)
    .option('--trigger-concurrency <n>', 'triggered invocations in flight at once per trigger (default 16); past it the event goes to wisp/dead/<fn>', intOption('--trigger-concurrency'))
    .option('--trigger-rate <per-second>', 'triggered invocations started per second per trigger (default 100, burst 200); past it the event goes to wisp/dead/<fn>', numberOption('--trigger-rate'))
    .action(async (fn: string, file: string, o: DeployFlags) => {
      try {
        const { Topics } = await import('../../protocol/topics.js')
        const { buildManifest } = await import('../../protocol/manifest.js')
        const { publishCode } = await import('../../transport/publish-deployment.js')
        const { validateFunction } = await import('../../agent/validate.js')
        if (o.isolation !== undefined && o.isolation !== 'shared' && o.isolation !== 'context') {
          throw new WispError('WISP_BAD_CONFIG', '--isolation must be "shared" or "context"')
        }
        let code: string
        if (isDirectory(file)) {
          const { bundleDir } = await import('../bundle.js')
          code = await bundleDir(fn, file)
        } else {
          try { code = readFileSync(file, 'utf8') } catch (err) { throw new WispError('WISP_BAD_CONFIG', `cannot read ${file}: ${(err as Error).message}`) }
        }
        const manifest = buildManifest(fn, code, {
          memory_mb: o.memoryMb, timeout_ms: o.timeoutMs, concurrency: o.concurrency, isolation: o.isolation as 'shared' | 'context' | undefined, triggers: triggerOptions(o),
          publishes: o.publishes.length > 0 ? o.publishes : undefined,
          variants: o.variants.length > 0 ? o.variants.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '') : undefined
        })
        await validateFunction(manifest, code)
        // The code is published retained (boards fetch it by hash); the manifest goes through the gateway, which answers with the version.
        const ack = await withGateway(o, async (ask, t) => {
          await publishCode(t, new Topics(), manifest, code)
          return await ask({ op: 'deploy', manifest }) as { version: number }
        })
        process.stdout.write(`deployed ${manifest.name} version ${ack.version} (${manifest.size} bytes, sha256 ${manifest.sha256.slice(0, 12)}, ${manifest.isolation}, ${manifest.memory_mb} MB, ${manifest.timeout_ms} ms)${describeTriggers(manifest)}${describePublishes(manifest)}\n`)
      } catch (err) { fail(err) }
    })
}
