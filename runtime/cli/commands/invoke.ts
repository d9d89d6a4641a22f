import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import type { Reply } from '../../protocol/messages.js'
import { WispError } from '../../shared/errors.js'
import { fail, intOption } from '../errors.js'
import { addCredentialOptions, clientIdFor, type Credentials, credentials } from '../credentials.js'

/** Publishes one invoke and waits for its reply on `<prefix>/result/<client>/<fn>/<req>`. */
export const invokeOnce = async (o: { broker: string, fn: string, payload: string, timeoutMs: number, prefix?: string, credentials?: Credentials }): Promise<Reply> => {
  const { ReplySchema, parseWith } = await import('../../protocol/messages.js')
  const { Topics } = await import('../../protocol/topics.js')
  const { MqttTransport } = await import('../../transport/mqtt-transport.js')
  const topics = new Topics(o.prefix)
  const c = o.credentials ?? {}
  const tag = `cli-${randomBytes(4).toString('hex')}`
  // With an account the broker lets a client publish and read only under its own username.
  const client = c.username ?? tag
  const req = randomBytes(8).toString('hex')
  const t = await MqttTransport.open({ url: o.broker, clientId: clientIdFor(c, tag), ...c, reconnect: false })
  try {
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new WispError('WISP_TIMEOUT', `no reply from the cluster within ${o.timeoutMs} ms`)), o.timeoutMs)
      t.subscribe(topics.result(client, o.fn, req), (m) => {
        clearTimeout(timer)
        try { resolve(parseWith(ReplySchema, m.payload, 'reply') as Reply) } catch (err) { reject(err) }
      }).then(async () => { await t.publish(topics.invoke(o.fn, client, req), o.payload) }).catch(reject)
    })
    return await reply
  } finally {
    await t.close()
  }
}

export const registerInvoke = (program: Command): void => {
  addCredentialOptions(program.command('invoke <fn> [json]')
    .description('invoke a function and print its reply (exit code 1 when the reply is ok:false)')
    .option('-f, --file <path>', 'read the event (JSON) from a file, or from standard input with "-" (for events too large for the command line)')
    .option('--broker <url>', 'MQTT broker of the cluster', 'mqtt://127.0.0.1:1883')
    .option('--timeout-ms <ms>', 'how long to wait for the reply', intOption('--timeout-ms'), 30_000))
    .action(async (fn: string, json: string | undefined, o: { file?: string, broker: string, timeoutMs: number, username?: string, password?: string, ca?: string }) => {
      try {
        const payload = eventText(json, o.file)
        if (payload !== '') {
          try { JSON.parse(payload) } catch { throw new WispError('WISP_BAD_PAYLOAD', `the event is not valid JSON: ${payload.slice(0, 80)}`) }
        }
        const reply = await invokeOnce({ broker: o.broker, fn, payload, timeoutMs: o.timeoutMs, credentials: credentials(o) })
        process.stdout.write(JSON.stringify(reply, null, 2) + '\n')
        process.exit(reply.ok ? 0 : 1)
      } catch (err) { fail(err) }
    })
}

/** The event from the argument, a file, or standard input ("-"); both at once is a usage error. */
export const eventText = (json: string | undefined, file: string | undefined, readFile: (path: string | number) => string = (f) => readFileSync(f, 'utf8')): string => {
  if (file === undefined) return json ?? ''
  if (json !== undefined) throw new WispError('WISP_BAD_PAYLOAD', 'give the event either as an argument or with --file, not both')
  try {
    return readFile(file === '-' ? 0 : file).trim()
  } catch (err) {
    throw new WispError('WISP_BAD_PAYLOAD', `cannot read the event from ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`)
  }
}
