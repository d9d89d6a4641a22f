import t from 'tap'
import { request } from 'node:http'
import { Registry, register as globalRegistry } from 'prom-client'
import { createBoardMetrics, createClusterMetrics, recordInvocation } from '../../runtime/status/metrics.js'
import { collapseDecisions } from '../../runtime/status/cluster-status.js'
import type { Decision } from '../../runtime/leader/policies/types.js'
import { startStatusServer } from '../../runtime/status/server.js'
import type { BoardSnapshot } from '../../runtime/status/types.js'
import { MutableSource, boardSnapshot, invocation } from './fixtures.js'

interface Family { help?: string, type?: string, samples: Array<{ name: string, labels: Record<string, string>, value: number }> }

// Prometheus text exposition format 0.0.4: # HELP / # TYPE lines, then `name{l="v",...} value`.
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`)
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y

const parseExposition = (text: string): Map<string, Family> => {
  const families = new Map<string, Family>()
  const fam = (n: string): Family => {
    let f = families.get(n)
    if (f === undefined) { f = { samples: [] }; families.set(n, f) }
    return f
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    let m: RegExpExecArray | null
    if ((m = new RegExp(`^# HELP (${NAME}) (.+)$`).exec(line)) !== null) { fam(m[1] as string).help = m[2]; continue }
    if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line)) !== null) { fam(m[1] as string).type = m[2]; continue }
    if (line.startsWith('#')) throw new Error(`bad comment line: ${line}`)
    m = SAMPLE.exec(line)
    if (m === null) throw new Error(`bad sample line: ${line}`)
    const [, name, rawLabels, rawValue] = m as unknown as [string, string, string | undefined, string]
    const labels: Record<string, string> = {}
    if (rawLabels !== undefined && rawLabels !== '') {
      LABEL.lastIndex = 0
      while (LABEL.lastIndex < rawLabels.length) {
        const l = LABEL.exec(rawLabels)
        if (l === null) throw new Error(`bad labels: ${line}`)
        labels[l[1] as string] = l[2] as string
      }
    }
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue)
    if (Number.isNaN(value) && rawValue !== 'NaN') throw new Error(`bad value: ${line}`)
    const base = name.replace(/_(bucket|sum|count)$/, '')
    fam(families.has(base) ? base : name).samples.push({ name, labels, value })
  }
  return families
}

const get = (url: string): Promise<{ status: number, type: string, body: string }> => new Promise((resolve, reject) => {
  const req = request(url, { timeout: 5000 }, (res) => {
    let body = ''
    res.setEncoding('utf8')
    res.on('data', (c: string) => { body += c })
    res.on('end', () => { resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }) })
  })
  req.on('timeout', () => { req.destroy(new Error('timeout')) })
  req.on('error', reject)
  req.end()
})

t.test('/metrics serves well-formed Prometheus text with the values set', async (t) => {
  const registry = new Registry()
  const m = createBoardMetrics(registry)
  const inv = invocation(2)
  recordInvocation(m, 'hello', 'ok', inv.receipt)
  recordInvocation(m, 'hello', 'ok', inv.receipt)
  recordInvocation(m, 'resize', 'WISP_TIMEOUT')
  m.queueLength.set({ board: 'b1', function: 'hello' }, 4)
  m.power.set({ board: 'b1', source: 'ina219' }, 1.42)
  m.energy.set({ board: 'b1' }, 84.2)

  const source = new MutableSource<BoardSnapshot>(boardSnapshot())
  const srv = await startStatusServer({ kind: 'board', port: 0, source, registry })
  t.teardown(() => srv.close())
  const res = await get(srv.url + 'metrics')
  t.equal(res.status, 200)
  t.match(res.type, /^text\/plain; version=0\.0\.4/)

  const fams = parseExposition(res.body)
  for (const [name, f] of fams) {
    t.ok(f.help !== undefined && f.help.length > 10, `${name} has HELP`)
    t.ok(f.type !== undefined, `${name} has TYPE`)
    t.ok(f.samples.length > 0, `${name} has samples`)
  }
  const inv1 = fams.get('wisp_invocations_total')
  t.equal(inv1?.type, 'counter')
  t.same(inv1?.samples.map((s) => [s.labels, s.value]), [
    [{ function: 'hello', outcome: 'ok' }, 2],
    [{ function: 'resize', outcome: 'WISP_TIMEOUT' }, 1]
  ])

  const lat = fams.get('wisp_invocation_duration_seconds')
  t.equal(lat?.type, 'histogram')
  const count = lat?.samples.find((s) => s.name.endsWith('_count'))
  const sum = lat?.samples.find((s) => s.name.endsWith('_sum'))
  t.equal(count?.value, 2)
  t.equal(sum?.value, 2 * (inv.receipt?.total_ms ?? 0) / 1000)
  const inf = lat?.samples.find((s) => s.labels.le === '+Inf')
  t.equal(inf?.value, 2, '+Inf bucket holds every observation')
  const buckets = (lat?.samples ?? []).filter((s) => s.name.endsWith('_bucket')).map((s) => s.value)
  t.same(buckets, [...buckets].sort((a, b) => a - b), 'buckets are cumulative')
  t.ok(fams.has('wisp_invocation_queue_seconds') && fams.has('wisp_invocation_run_seconds'))

  t.equal(fams.get('wisp_queue_length')?.type, 'gauge')
  t.same(fams.get('wisp_queue_length')?.samples[0], { name: 'wisp_queue_length', labels: { board: 'b1', function: 'hello' }, value: 4 })
  t.same(fams.get('wisp_board_power_watts')?.samples[0]?.value, 1.42)
  t.same(fams.get('wisp_board_energy_joules')?.samples[0]?.labels, { board: 'b1' })
  t.equal(globalRegistry.getMetricsAsArray().length, 0, 'the global registry is untouched')
})

t.test('cluster metrics and two registries side by side', async (t) => {
  const a = new Registry()
  const b = new Registry()
  const ma = createClusterMetrics(a)
  createBoardMetrics(b)
  t.doesNotThrow(() => createBoardMetrics(new Registry()), 'each registry gets its own metric objects')
  t.throws(() => createBoardMetrics(a), 'registering twice on one registry is a mistake prom-client reports')
  ma.clusterPower.set(4.72)
  ma.boards.set({ state: 'on' }, 3)
  ma.boards.set({ state: 'gated' }, 1)
  ma.decisions.inc({ kind: 'balance', policy: 'least-queue' })
  const fams = parseExposition(await a.metrics())
  t.equal(fams.get('wisp_cluster_power_watts')?.samples[0]?.value, 4.72)
  t.same(fams.get('wisp_boards')?.samples.map((s) => [s.labels.state, s.value]), [['on', 3], ['gated', 1]])
  t.equal(fams.get('wisp_decisions_total')?.type, 'counter')
  t.equal(fams.get('wisp_decisions_total')?.samples[0]?.value, 1)
  t.notOk(parseExposition(await b.metrics()).get('wisp_cluster_power_watts'), 'a board registry has no cluster metrics')
})

t.test('the parser rejects malformed exposition text', async (t) => {
  t.throws(() => parseExposition('wisp_x{a="1" 3\n'))
  t.throws(() => parseExposition('wisp_x abc\n'))
  t.throws(() => parseExposition('# TYPE wisp_x bogus\n'))
})

t.test('the cluster page collapses a run of identical decisions into its newest row with a count', async (t) => {
  const d = (at: number, kind: Decision['kind'], reason: string, choice: string | null = null): Decision => ({ kind, policy: 'p', at, choice, scores: {}, reason })
  const newestFirst = [d(5, 'scale', 'within capacity'), d(4, 'scale', 'within capacity'), d(3, 'scale', 'within capacity'), d(2, 'balance', 'least', 'b1'), d(1, 'scale', 'within capacity')]
  const out = collapseDecisions(newestFirst)
  t.same(out.map((x) => [x.at, x.kind, x.repeats]), [[5, 'scale', 3], [2, 'balance', undefined], [1, 'scale', undefined]])
  t.same(collapseDecisions([d(2, 'balance', 'least', 'b1'), d(1, 'balance', 'least', 'b2')]).length, 2, 'a different choice is a different row')
})
