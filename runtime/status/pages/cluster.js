import { FUNCTION_COLUMNS, functionRows } from './functions.js'
import { PowerChart, badge, byId, color, connect, el, emptyRow, fmtAgo, fmtJ, fmtMs, fmtNum, fmtTime, fmtW, invocationRows, openDetails, replace, safeLink, setText } from './common.js'

const chart = new PowerChart(byId('power-chart'))
const MAX_DECISIONS = 30

const scoreChips = (d) => {
  const entries = Object.entries(d.scores ?? {})
  if (entries.length === 0) return '–'
  return el('div', { class: 'scores' }, entries.map(([id, v]) =>
    el('span', { class: id === d.choice ? 'score chosen' : 'score', title: id === d.choice ? 'chosen' : '' },
      `${id} ${typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : v}`)))
}

const renderChart = (s) => {
  const ids = s.boards.map((b) => b.id)
  const hist = s.power_history
  chart.update([
    { label: 'Total', color: '#1b1f24', width: 2.2, fill: 'rgba(27,31,36,0.05)' },
    ...ids.map((id, i) => ({ label: id, color: color(i) }))
  ], [
    hist.map((p) => p.t_ms / 1000),
    hist.map((p) => p.total_w),
    ...ids.map((id) => hist.map((p) => (typeof p.boards[id] === 'number' ? p.boards[id] : null)))
  ])
}

const render = (s) => {
  const on = s.boards.filter((b) => b.power === 'on').length
  setText('summary', `${s.boards.length} board${s.boards.length === 1 ? '' : 's'}, ${on} on`)
  setText('power', fmtW(s.total_power_w))
  setText('boards-on', `${on} of ${s.boards.length} boards on`)
  setText('energy', fmtJ(s.energy_j))
  setText('energy-wh', `${fmtNum(s.energy_j / 3.6, 3)} mWh`)
  setText('p50', fmtMs(s.latency.p50_ms ?? undefined))
  setText('p99', fmtMs(s.latency.p99_ms ?? undefined))
  setText('count', `${s.latency.count} invocations`)
  setText('jain', s.fairness.jain === null ? '–' : fmtNum(s.fairness.jain, 3))
  renderChart(s)

  replace('boards', s.boards.length === 0
    ? emptyRow(8, 'no board has joined yet')
    : s.boards.map((b) => el('tr', { 'data-board': b.id },
      // A gated or offline board serves no page: its id, not a dead link.
      el('td', {}, b.status_url && b.power !== 'gated' && b.power !== 'offline' ? safeLink(b.status_url, b.id) : b.id, el('div', { class: 'note' }, b.profile)),
      el('td', {}, badge(b.power)),
      // A board whose power sensor keeps failing: its last reading is stale, so none is shown.
      el('td', { class: 'num' }, b.power_unknown ? 'unknown' : fmtW(b.power_w)),
      el('td', { class: 'num' }, fmtJ(b.energy_j)),
      el('td', { class: 'num' }, b.queue_len),
      el('td', { class: 'num' }, b.inflight ?? '–'),
      el('td', {}, b.power_source ? badge(b.power_source) : '–'),
      el('td', {}, typeof b.last_seen_ms === 'number' ? fmtAgo(s.generated_ms - b.last_seen_ms) : '–'))))

  const functions = s.functions ?? []
  replace('functions', functions.length === 0 ? emptyRow(FUNCTION_COLUMNS, 'no function is deployed') : functionRows(functions))

  const decisions = s.decisions.slice(0, MAX_DECISIONS)
  replace('decisions', decisions.length === 0
    ? emptyRow(6, 'no decisions yet')
    : decisions.map((d) => el('tr', {},
      el('td', {}, fmtTime(d.at), d.repeats > 1 ? el('div', { class: 'note' }, `×${d.repeats}`) : false),
      el('td', {}, badge(d.kind, 'info'), el('div', { class: 'note' }, d.policy)),
      el('td', {}, d.fn ?? '–'),
      el('td', { class: 'mono' }, d.choice ?? 'none'),
      el('td', { class: 'scores-cell' }, scoreChips(d)),
      el('td', { class: 'reason' }, d.reason))))

  const invocations = s.invocations ?? []
  const open = openDetails('invocations')
  replace('invocations', invocations.length === 0 ? emptyRow(9, 'no invocations yet') : invocationRows(invocations, open))
}

connect('/api/cluster', render)
