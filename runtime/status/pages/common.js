/* global uPlot, ResizeObserver, Node */
// Shared by the board and cluster pages: DOM building (text only, never HTML from data),
// number formats, the live connection and the power chart.

/** Builds an element; children are nodes or strings (set as text, so data is never parsed as HTML). */
export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') node.className = v
    else node.setAttribute(k, String(v))
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue
    node.append(c instanceof Node ? c : String(c))
  }
  return node
}

export const byId = (id) => document.getElementById(id)

export const setText = (id, text) => { const n = byId(id); if (n) n.textContent = text }

export const replace = (id, ...children) => { const n = byId(id); if (n) n.replaceChildren(...children.flat()) }

const num = (v, digits) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–')

export const fmtW = (w) => `${num(w, w >= 10 ? 1 : 2)} W`
export const fmtMs = (ms) => (typeof ms !== 'number' || !Number.isFinite(ms) ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`)
export const fmtJ = (j) => {
  if (typeof j !== 'number' || !Number.isFinite(j)) return '–'
  if (j >= 3600) return `${(j / 3600).toFixed(2)} Wh`
  if (j >= 100) return `${j.toFixed(0)} J`
  return `${j.toFixed(j >= 10 ? 1 : 2)} J`
}
export const fmtNum = num
export const fmtTime = (t) => new Date(t).toLocaleTimeString([], { hour12: false })
export const fmtAgo = (ms) => (typeof ms !== 'number' ? '–' : ms < 1500 ? 'now' : ms < 90_000 ? `${Math.round(ms / 1000)} s ago` : `${Math.round(ms / 60_000)} min ago`)

export const badge = (text, kind = text) => el('span', { class: `badge ${kind}` }, text)

/** Only http(s) links from gossip become anchors; anything else is shown as text. */
export const safeLink = (url, text) => {
  try {
    const u = new URL(url)
    if (u.protocol === 'http:' || u.protocol === 'https:') return el('a', { href: u.href }, text)
  } catch { /* not a URL */ }
  return document.createTextNode(text)
}

export const emptyRow = (cols, text) => el('tr', {}, el('td', { colspan: cols, class: 'empty' }, text))

/** Receipts and logs of recent invocations; open <details> survive re-rendering. */
export const invocationRows = (list, openIds) => list.map((inv) => {
  const r = inv.receipt
  const outcome = inv.ok ? badge('ok') : badge(inv.error?.code ?? 'error', 'error')
  const logs = inv.logs ?? []
  const detailText = [
    ...(inv.error ? [`${inv.error.code}: ${inv.error.message}`] : []),
    ...logs,
    ...(r ? [`receipt ${JSON.stringify(r)}`] : [])
  ].join('\n')
  const details = el('details', { 'data-id': inv.request_id, open: openIds.has(inv.request_id) },
    el('summary', {}, logs.length ? `${logs.length} log line${logs.length === 1 ? '' : 's'}` : 'receipt'),
    el('pre', {}, detailText || '(nothing logged)'))
  return el('tr', {},
    el('td', {}, fmtTime(inv.at_ms)),
    el('td', {}, inv.fn),
    el('td', {}, outcome, r?.cold ? [' ', badge('cold')] : []),
    el('td', { class: 'mono' }, r ? r.board : '–'),
    el('td', { class: 'num' }, fmtMs(r?.queue_ms)),
    el('td', { class: 'num' }, fmtMs(r?.run_ms)),
    el('td', { class: 'num' }, fmtMs(r?.total_ms)),
    el('td', { class: 'num' }, r ? `${num(r.energy_mj, 1)} mJ` : '–'),
    el('td', {}, details))
})

export const openDetails = (containerId) => {
  const ids = new Set()
  for (const d of byId(containerId)?.querySelectorAll('details[open]') ?? []) ids.add(d.getAttribute('data-id'))
  return ids
}

/** Loads the current snapshot, then follows /events; calls render on every snapshot. */
export const connect = (apiPath, render) => {
  const conn = byId('conn')
  const show = (live, text) => { conn.classList.toggle('live', live); conn.lastChild.textContent = text }
  const safeRender = (snap) => {
    try { render(snap) } catch (err) { show(false, `render failed: ${err.message}`); throw err }
  }
  fetch(apiPath, { cache: 'no-store' }).then((r) => r.json()).then(safeRender).catch(() => show(false, 'waiting for data'))
  const events = new EventSource('/events')
  events.addEventListener('open', () => { show(true, 'live') })
  events.addEventListener('error', () => { show(false, 'reconnecting…') })
  events.addEventListener('snapshot', (e) => { safeRender(JSON.parse(e.data)) })
}

const PALETTE = ['#1d4ed8', '#15803d', '#b45309', '#7c3aed', '#be123c', '#0e7490', '#4d7c0f', '#c2410c']
export const color = (i) => PALETTE[i % PALETTE.length]

/**
 * A uPlot time chart that fills its container and follows its width. `series` are
 * {label, color, fill?}; data is [seconds[], ...values[]]. Rebuilt when the series change.
 */
export class PowerChart {
  constructor (container) {
    this.container = container
    this.plot = null
    this.key = ''
    new ResizeObserver(() => { this.plot?.setSize(this.size()) }).observe(container)
  }

  size () {
    const width = Math.max(240, this.container.clientWidth)
    return { width, height: width < 500 ? 190 : 240 }
  }

  update (series, data) {
    const key = series.map((s) => s.label).join('\u0000')
    if (key !== this.key || this.plot === null) {
      this.plot?.destroy()
      this.key = key
      this.plot = new uPlot({
        ...this.size(),
        legend: { live: false },
        cursor: { points: { show: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
        axes: [
          { stroke: '#5d6673', grid: { stroke: '#eceef1' }, ticks: { stroke: '#e3e6ea' } },
          { stroke: '#5d6673', grid: { stroke: '#eceef1' }, ticks: { stroke: '#e3e6ea' }, size: 50, values: (_u, vals) => vals.map((v) => `${v} W`) }
        ],
        series: [
          { value: (_u, v) => (v == null ? '–' : fmtTime(v * 1000)) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: s.width ?? 1.5,
            fill: s.fill,
            spanGaps: false,
            points: { show: false },
            value: (_u, v) => (v == null ? '–' : fmtW(v))
          }))
        ]
      }, data, this.container)
    } else {
      this.plot.setData(data)
    }
    const xs = data[0]
    this.container.dataset.points = String(xs.length)
    this.container.dataset.last = xs.length ? String(xs[xs.length - 1]) : ''
  }
}
