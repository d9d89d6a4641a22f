import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../helpers/ports.js'
import { TestClient } from '../helpers/mqtt.js'
import { waitForOutput, wispArgs } from '../helpers/wisp-cli.js'
import { childrenOf, cmdline, envOf } from '../helpers/proc.js'

const wisp = (args: string[], cwd: string): ChildProcess =>
  spawn(process.execPath, wispArgs(args), { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WISP_LOG: 'warn', INIT_CWD: cwd } })

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
/** The board processes the CLI started: `wisp start` runs in a child of bin/wisp.js (with the gateway's heap flags), the boards are its children. */
const boardsOf = (pid: number): number[] =>
  [pid, ...childrenOf(pid)].flatMap((p) => spawnSync('pgrep', ['-P', String(p), '-f', ' board --config ']).stdout.toString().trim().split('\n').filter(Boolean).map(Number))

const boardId = (pid: number): string | undefined => envOf(pid, 'WISP_PROCESS')
/** The isolate hosts of a board process: compiled JavaScript, run by plain node. */
const hostsOf = (pid: number): string[] => childrenOf(pid).map(cmdline).filter((c) => c.includes('executor-host'))
const until = async (ok: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms
  while (!ok() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 100))
  return ok()
}


t.test('wisp start: boards, a ready-to-paste example, an answer, and a clean shutdown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const mqttPort = await freePort()
  const httpPort = 21000 + (mqttPort % 20000)
  const p = wisp(['start', '--boards', '2', '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--invoke-port', '0', '--data-dir', join(dir, '.wisp')], dir)
  t.teardown(() => { if (p.exitCode === null) p.kill('SIGKILL') })
  const out = await waitForOutput(p, /Ctrl-C stops/, 60_000)
  t.match(out, new RegExp(`mqtt://127\\.0\\.0\\.1:${mqttPort} \\(open mode, loopback only`))
  t.match(out, /id=r\$\(date \+%s%N\); mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t "wisp\/result\/me\/hello\/\$id" -C 1 & sleep 0\.5; mosquitto_pub -h 127\.0\.0\.1 -p \d+ -t "wisp\/invoke\/hello\/me\/\$id"/, 'the example uses a fresh request id per paste')
  t.match(out, /hello/)

  const client = await TestClient.connect(`mqtt://127.0.0.1:${mqttPort}`)
  await client.sub('wisp/result/me/hello/r1')
  await client.pub('wisp/invoke/hello/me/r1', '{"name":"edge"}')
  const [r] = await client.waitFor((x) => x.length > 0, 15_000)
  t.match(r?.json, { ok: true, result: { greeting: 'hello, edge' } })
  await client.close()

  // The printed curl example, as a user would paste it: the result, and the receipt in headers.
  const curlLine = /^ {2}(curl -i .*)$/m.exec(out)?.[1]
  t.match(curlLine, /^curl -i -H 'Content-Type: application\/json' -d '\{"name":"edge"\}' http:\/\/127\.0\.0\.1:\d+\/function\/hello$/, 'a curl example with the real URL')
  const curl = spawnSync('sh', ['-c', curlLine ?? 'false'], { encoding: 'utf8', timeout: 30_000 })
  t.match(curl.stdout, /^HTTP\/1\.1 200 OK\r\n/, 'curl -X POST /function/hello: 200')
  t.match(curl.stdout, /\r\nx-wisp-board: b[12]\r\n/i, 'with a receipt header')
  t.match(curl.stdout, /\r\n\r\n\{"greeting":"hello, edge",/, 'the result as the body')

  // The event from standard input (`-f -`), as for events too large for the command line.
  const inv = spawn(process.execPath, wispArgs(['invoke', 'hello', '-f', '-', '--broker', `mqtt://127.0.0.1:${mqttPort}`]), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, WISP_LOG: 'warn' } })
  let invOut = ''
  inv.stdout.on('data', (d: Buffer) => { invOut += d.toString() })
  inv.stdin.end(JSON.stringify({ name: 'x'.repeat(200_000) }))
  t.equal(await new Promise<number | null>((resolve) => inv.on('exit', resolve)), 0, 'wisp invoke -f - exits 0')
  t.match(JSON.parse(invOut), { ok: true, result: { greeting: `hello, ${'x'.repeat(200_000)}` } }, 'a 200 kB event read from standard input')

  const kids = boardsOf(p.pid as number)
  t.equal(kids.length, 2, 'one child process per board')
    const b1 = kids.find((k) => boardId(k) === 'b1') as number
  const b2 = kids.find((k) => boardId(k) === 'b2') as number
  // b1 (2 GB): the live host and its standby; b2 (512 MB): one (the low-priority host is opt-in).
  t.ok(await until(() => hostsOf(b1).length === 2, 20_000), 'the 2 GB board keeps a standby isolate host')
  t.equal(hostsOf(b2).length, 1, 'the 512 MB board has none')
  for (const k of kids) {
    t.notMatch(cmdline(k), /tsx|\.ts\b/, 'the board runs compiled JavaScript')
    t.match(cmdline(k), /dist\/runtime\/cli\/main\.js board/)
  }
  t.match(hostsOf(b1)[0], /--no-node-snapshot \S*dist\/runtime\/agent\/executor-host\.js/, 'so do its isolate hosts')
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)))
  p.kill('SIGTERM')
  t.equal(await exited, 0, 'exits 0 on SIGTERM')
  t.same(kids.filter(alive), [], 'no orphan board processes')
})

t.test('a port in use gives a clear error naming --mqtt-port', async (t) => {
  const { createServer } = await import('node:net')
  const port = await freePort()
  const blocker = createServer().listen(port, '0.0.0.0')
  t.teardown(() => blocker.close())
  const dir = mkdtempSync(join(tmpdir(), 'wisp-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const p = wisp(['start', '--boards', '1', '--mqtt-port', String(port), '--invoke-port', '0', '--data-dir', join(dir, '.wisp')], dir)
  let err = ''
  p.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const code = await new Promise<number | null>((resolve) => p.on('exit', resolve))
  t.equal(code, 2)
  t.match(err, /WISP_BAD_CONFIG: MQTT port \d+ is already in use.*--mqtt-port/)
})

t.test('a second cluster on the same data folder says so and how to choose another, without a stack trace', async (t) => {
  const { startGateway } = await import('../../runtime/gateway/main.js')
  const { silentLogger } = await import('../../runtime/shared/log.js')
  const dir = mkdtempSync(join(tmpdir(), 'wisp-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = await startGateway({ dataDir: join(dir, '.wisp', 'gateway'), mqttPort: await freePort(), mqttHost: '127.0.0.1', httpPort: null, log: silentLogger })
  t.teardown(() => first.close())
  const p = wisp(['start', '--boards', '1', '--mqtt-port', String(await freePort()), '--http-port', String(await freePort()), '--invoke-port', '0', '--data-dir', join(dir, '.wisp')], dir)
  let err = ''
  p.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const code = await new Promise<number | null>((resolve) => p.on('exit', resolve))
  t.equal(code, 2)
  t.match(err, /WISP_BAD_CONFIG: another wisp process is using the data folder .*\.wisp.*--data-dir/)
  t.notMatch(err, /\n\s+at /, 'no stack trace')
})
