import t from 'tap'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { invokeOnce } from '../../runtime/cli/commands/invoke.js'
import { flash } from '../../runtime/flash/flash.js'
import type { Reply } from '../../runtime/protocol/messages.js'
import { freePort } from '../helpers/ports.js'
import { wispArgs } from '../helpers/wisp-cli.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)

const waitFor = async <T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> => {
  const end = Date.now() + ms
  let last: unknown
  while (Date.now() < end) {
    try { const v = await probe(); if (v !== undefined) return v } catch (err) { last = err }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`${what}: not within ${ms} ms (${String(last)})`)
}

const stopChild = async (p: ChildProcess): Promise<void> => {
  if (p.exitCode !== null || p.signalCode !== null) return
  const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()))
  p.kill('SIGTERM')
  const hard = setTimeout(() => p.kill('SIGKILL'), 5000)
  await gone
  clearTimeout(hard)
}

t.test('a flashed bundle installs into an empty prefix, first boot moves its config to /etc/wisp, and the board joins a running cluster and answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-flash-install-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const logs: string[] = []
  const child = (args: string[], cwd: string, bin?: string): ChildProcess => {
    const p = spawn(process.execPath, wispArgs(args, bin),
      { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WISP_LOG: 'info' } })
    p.stdout?.on('data', (d: Buffer) => logs.push(d.toString()))
    p.stderr?.on('data', (d: Buffer) => logs.push(d.toString()))
    t.teardown(() => stopChild(p))
    return p
  }
  t.teardown(() => { if (t.passing() === false) t.comment(logs.join('').slice(-4000)) })

  // The gateway: embedded broker and leader, with the sample "hello" deployed.
  const mqttPort = await freePort()
  const broker = `mqtt://127.0.0.1:${mqttPort}`
  writeFileSync(join(dir, 'gateway.json'), JSON.stringify({ mqtt_port: mqttPort, mqtt_host: '127.0.0.1', http_port: await freePort(), invoke_port: 0, data_dir: join(dir, 'gateway') }))
  child(['gateway', '--config', join(dir, 'gateway.json')], dir)
  await waitFor('gateway up', 30_000, async () => /gateway up/.test(logs.join('')) ? true : undefined)
  await run(process.execPath, wispArgs(['deploy', 'hello', join(ROOT, 'examples/functions/hello.js'), '--broker', broker]), { cwd: dir, timeout: 30_000 })

  // Flash a board for that broker, then install the bundle the way first boot does.
  const httpPort = await freePort()
  const card = join(dir, 'card')
  await flash({ profile: 'raspberry-pi-4b', id: 'flashed', broker, out: card, httpPort: String(httpPort), dataDir: join(dir, 'board-data') }, { progress: (l) => logs.push(l + '\n') })
  const prefix = join(dir, 'prefix')
  mkdirSync(prefix)
  await run('tar', ['-xzf', join(card, 'wisp/wisp-0.1.0.tgz'), '-C', prefix, '--strip-components=1'], { timeout: 30_000 })
  // Stands in for --prebuilt: dependencies built once for this machine's architecture.
  symlinkSync(join(ROOT, 'node_modules'), join(prefix, 'node_modules'), 'dir')
  // First boot's secrets step, on a scratch root: the config leaves the boot partition for /etc/wisp.
  const root = join(dir, 'root')
  mkdirSync(join(root, 'boot/firmware'), { recursive: true })
  cpSync(card, join(root, 'boot/firmware'), { recursive: true })
  const ud = parse(readFileSync(join(card, 'user-data'), 'utf8')) as { write_files: Array<{ path: string, content: string }> }
  writeFileSync(join(dir, 'first-boot.sh'), ud.write_files.find((f) => f.path.endsWith('/first-boot.sh'))?.content ?? '')
  await run('sh', [join(dir, 'first-boot.sh'), 'secrets'], { env: { PATH: process.env.PATH, WISP_ROOT: root, WISP_USER: userInfo().username }, timeout: 30_000 })
  t.notOk(existsSync(join(root, 'boot/firmware/wisp/board.json')), 'no config left on the boot partition')
  const configFile = join(root, 'etc/wisp/board.json')
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { id: string, username: string, http_host: string }
  t.match(config, { id: 'flashed', username: 'flashed', http_host: '127.0.0.1' })

  // The unit's command line, from the installed copy, outside the source tree.
  child(['board', '--config', configFile], dir, join(prefix, 'bin/wisp.js'))
  const status = await waitFor('board status page', 60_000, async () => {
    const r = await fetch(`http://127.0.0.1:${httpPort}/api/board`)
    return r.ok ? await r.json() as { state: { id: string, status: string } } : undefined
  })
  t.equal(status.state.id, 'flashed')

  const reply = await waitFor('an answer from the flashed board', 60_000, async () => {
    const r: Reply = await invokeOnce({ broker, fn: 'hello', payload: '{"name":"flash"}', timeoutMs: 15_000 })
    return r.ok ? r : undefined
  })
  t.match(reply, { ok: true, result: { greeting: 'hello, flash' } })
  t.equal(reply.receipt?.board, 'flashed', 'the installed agent ran it')
})
