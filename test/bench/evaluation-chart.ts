/**
 * A dependency-free SVG line chart: one line per policy set, a figure against offered peak
 * utilisation (log y axis).
 */
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']

export const lineChart = (title: string, unit: string, loads: readonly number[], series: Readonly<Record<string, ReadonlyArray<number | null>>>): string => {
  const W = 640
  const H = 360
  const L = 70
  const R = W - 130
  const T = 40
  const B = H - 50
  const vals = Object.values(series).flat().filter((v): v is number => v !== null && v > 0)
  const lo = Math.floor(Math.log10(Math.min(...vals, 1)))
  const hi = Math.ceil(Math.log10(Math.max(...vals, 10)))
  const x = (u: number): number => L + (R - L) * (u - loads[0]!) / Math.max(1e-9, loads[loads.length - 1]! - loads[0]!)
  const y = (v: number): number => B - (B - T) * (Math.log10(Math.max(v, 10 ** lo)) - lo) / Math.max(1, hi - lo)
  const p: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/><text x="10" y="20" font-size="14">${title}</text>`]
  for (let l = lo; l <= hi; l++) p.push(`<line x1="${L}" x2="${R}" y1="${y(10 ** l)}" y2="${y(10 ** l)}" stroke="#ddd"/><text x="8" y="${y(10 ** l) + 4}">1e${l} ${unit}</text>`)
  for (const u of loads) p.push(`<line x1="${x(u)}" x2="${x(u)}" y1="${T}" y2="${B}" stroke="#eee"/><text x="${x(u) - 12}" y="${B + 18}">${Math.round(u * 100)} %</text>`)
  p.push(`<text x="${(L + R) / 2 - 80}" y="${H - 10}">offered load in the busiest 10 minutes</text>`)
  Object.entries(series).forEach(([name, ys], i) => {
    const c = COLOURS[i % COLOURS.length]!
    const pts = ys.map((v, k) => (v === null ? null : `${x(loads[k]!).toFixed(1)},${y(v).toFixed(1)}`)).filter((s): s is string => s !== null)
    p.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(' ')}"/>`)
    for (const pt of pts) { const [a, b] = pt.split(','); p.push(`<circle cx="${a}" cy="${b}" r="3" fill="${c}"/>`) }
    p.push(`<line x1="${R + 10}" x2="${R + 30}" y1="${T + 16 * i}" y2="${T + 16 * i}" stroke="${c}" stroke-width="2"/><text x="${R + 34}" y="${T + 16 * i + 4}">${name}</text>`)
  })
  p.push('</svg>')
  return p.join('\n') + '\n'
}
