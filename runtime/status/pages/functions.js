// The cluster page's functions table: one row per deployed function, from /api/cluster `functions`
// (the gateway's FnStats, the same figures as `wisp ls`). Text only, never HTML from data.
import { badge, el, fmtMs, fmtTime } from './common.js'

const dash = '–'
const mj = (v) => (typeof v === 'number' ? `${v} mJ` : dash)
/** Carbon is often far below a milligram: keep its significant digits. */
const mg = (v) => (typeof v === 'number' ? `${Number(v.toPrecision(3))} mg` : dash)

const triggerList = (t) => {
  if (!t) return []
  const out = (t.on ?? []).map((f) => `on ${f}`)
  if (typeof t.every_ms === 'number') out.push(`every ${t.every_ms / 1000}s`)
  if (typeof t.cron === 'string') out.push(`cron ${t.cron} (${t.tz ?? 'UTC'})`)
  return out
}

const lines = (items) => (items.length === 0 ? dash : items.map((x) => el('div', { class: 'mono' }, x)))

export const FUNCTION_COLUMNS = 10

/** A function's newest failures, in a row of their own under it (messages are long). */
const errorRow = (f) => el('tr', { class: 'fn-errors', 'data-errors-of': f.name },
  el('td', { colspan: FUNCTION_COLUMNS, class: 'errors' }, el('ul', {}, f.recent_errors.map((e) => el('li', { 'data-code': e.code },
    badge(e.code, 'error'), ' ', el('span', { class: 'note' }, fmtTime(e.at)), ' ', el('span', { class: 'msg' }, e.message))))))

export const functionRows = (fns) => fns.flatMap((f) => {
  const s = f.stats
  const row = el('tr', { 'data-fn': f.name, class: (f.recent_errors ?? []).length > 0 ? 'has-errors' : false },
    el('td', {}, el('strong', {}, f.name),
      el('div', { class: 'note', 'data-version': f.version ?? '' }, `v${f.version ?? '?'} · ${f.versions_kept} kept`)),
    el('td', { class: 'triggers' }, lines(triggerList(f.triggers))),
    el('td', { class: 'publishes' }, lines(f.publishes ?? [])),
    el('td', { class: 'limits' }, `${f.memory_mb} MB · ${fmtMs(f.timeout_ms)}`, el('div', { class: 'note' }, `${f.concurrency} at once, ${f.isolation}`)),
    el('td', { class: 'num invocations' }, String(s.invocations), s.errors > 0 ? el('div', { class: 'note' }, `${s.errors} failed`) : false),
    el('td', { class: 'num' }, fmtMs(s.p50_ms ?? undefined)),
    el('td', { class: 'num' }, fmtMs(s.p99_ms ?? undefined)),
    el('td', { class: 'num energy' }, mj(s.energy_mj_per_invocation)),
    el('td', { class: 'num carbon', 'data-mg': s.carbon_mg_per_invocation ?? '' }, mg(s.carbon_mg_per_invocation)),
    el('td', { class: 'num carbon-total', 'data-mg': s.carbon_mg_total ?? '' }, mg(s.carbon_mg_total)))
  return (f.recent_errors ?? []).length > 0 ? [row, errorRow(f)] : [row]
})
