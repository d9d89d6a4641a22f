import { PowerChart, badge, byId, color, connect, el, emptyRow, fmtJ, fmtNum, fmtW, invocationRows, openDetails, replace, setText } from './common.js'

const chart = new PowerChart(byId('power-chart'))

const render = (s) => {
  const st = s.state
  const p = s.profile
  document.title = `wisp · ${st.id}`
  setText('title', `wisp board ${st.id}`)
  setText('model', `${p.model} · ${p.name}`)
  replace('status', badge(st.status))
  setText('power', s.power_unknown ? 'unknown (sensor failing)' : fmtW(s.power_w))
  replace('source', badge(s.power_source), s.power_source === 'surrogate' ? ' model from CPU load' : ' measured')
  setText('energy', fmtJ(s.energy_j))
  setText('energy-wh', `${fmtNum(s.energy_j / 3.6, 3)} mWh`)
  setText('queue', String(st.queue_len))
  setText('rate', `${fmtNum(st.service_rate, 2)} done/s`)
  setText('mem', `${fmtNum(st.mem_mb, 0)} MB`)
  setText('budget', `of ${p.memory_mb} MB, isolates ${p.runtime_budget_mb} MB`)

  const samples = s.power_samples
  chart.update([{ label: 'Power', color: color(0), width: 2, fill: 'rgba(29,78,216,0.08)' }],
    [samples.map((x) => x[0] / 1000), samples.map((x) => x[1])])

  const fns = Object.entries(st.functions).sort(([a], [b]) => a.localeCompare(b))
  replace('functions', fns.length === 0
    ? emptyRow(5, 'no function has run here yet')
    : fns.map(([name, f]) => el('tr', {},
      el('td', {}, name),
      el('td', { class: 'num' }, f.queue_len),
      el('td', { class: 'num' }, f.running),
      el('td', { class: 'num' }, f.runtimes),
      el('td', { class: 'num' }, `${fmtNum(f.service_rate, 2)}/s`))))

  const open = openDetails('invocations')
  replace('invocations', s.invocations.length === 0 ? emptyRow(9, 'no invocations yet') : invocationRows(s.invocations, open))

  byId('profile').replaceChildren(...[
    ['Model', p.model], ['Architecture', `${p.arch}, ${p.cores} cores`], ['Memory', `${p.memory_mb} MB`],
    ['Idle / peak', `${fmtW(p.idle_w)} / ${fmtW(p.peak_w)}`], ['Relative speed', `${p.speed}× a Pi 4B core`],
    ['Boot / shutdown', `${p.boot_s} s / ${p.shutdown_s} s`], ['Incarnation', st.incarnation]
  ].flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]))
}

connect('/api/board', render)
