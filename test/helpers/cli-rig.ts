import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testCluster, type TestCluster } from './cluster.js'
import { TestClient } from './mqtt.js'

export interface FnFiles {
  /** Writes `code` as `name` in a temp folder removed at teardown, and returns its path. */
  readonly file: (name: string, code: string) => string
  /** An empty functions folder, so a test cluster deploys nothing of its own. */
  readonly empty: string
}

/** Function sources for a CLI test, in a temp folder that `teardown` removes. */
export const fnFiles = (prefix: string, teardown: (fn: () => void) => void): FnFiles => {
  const dir = mkdtempSync(join(tmpdir(), `wisp-${prefix}-`))
  teardown(() => rmSync(dir, { recursive: true, force: true }))
  const empty = join(dir, 'none')
  mkdirSync(empty)
  return { file: (name, code) => { const f = join(dir, name); writeFileSync(f, code); return f }, empty }
}

export interface InvokeReply { ok: boolean, result?: unknown, error?: { code: string, message: string } }

/**
 * Invokes over MQTT as client `t` (request ids r1, r2, …) and waits for the reply; the client
 * must already be subscribed to `wisp/result/t/#`.
 */
export const mqttInvoker = (client: TestClient): ((fn: string, event?: unknown) => Promise<InvokeReply>) => {
  let n = 0
  return async (fn, event = {}) => {
    const req = `r${++n}`
    await client.pub(`wisp/invoke/${fn}/t/${req}`, JSON.stringify(event))
    await client.waitFor(() => client.on(`wisp/result/t/${fn}/${req}`).length > 0, 15_000)
    return client.on(`wisp/result/t/${fn}/${req}`)[0]?.json as InvokeReply
  }
}

export interface CliCluster {
  readonly c: TestCluster
  /** `--broker <url>`, to append to a `wisp` command line. */
  readonly broker: readonly string[]
  readonly client: TestClient
  readonly invoke: (fn: string, event?: unknown) => Promise<InvokeReply>
}

/**
 * A test cluster for CLI tests, plus a client subscribed to `wisp/result/t/#` (and `extraSubs`)
 * and an invoker over it; `teardown` closes both.
 */
export const cliCluster = async (teardown: (fn: () => Promise<void>) => void, o: Parameters<typeof testCluster>[0], extraSubs: readonly string[] = []): Promise<CliCluster> => {
  const c = await testCluster(o)
  teardown(c.close)
  const client = await TestClient.connect(c.url)
  teardown(async () => { await client.close() })
  for (const topic of ['wisp/result/t/#', ...extraSubs]) await client.sub(topic)
  return { c, broker: ['--broker', c.url], client, invoke: mqttInvoker(client) }
}
