/** A dependency-free SVG: wisp ÷ baseline for each headline figure, one group per utilisation (log scale, 1 = parity). */
export const chart = (summary: Record<string, Record<string, { mean: Record<string, number> }>>, sets: string[]): string => {
  const metrics: Array<[string, string]> = [['p99_ms', 'p99'], ['mean_slowdown', 'slowdown'], ['jain', 'Jain'], ['energy_j', 'energy'], ['idle_energy_j', 'idle energy'], ['cold_starts', 'cold starts']]
  const utils = Object.keys(summary)
  const W = 760
  const H = 360
  const top = 40
  const bottom = H - 60
  const y = (r: number): number => { const l = Math.max(-3, Math.min(3, Math.log10(Math.max(r, 1e-3)))); return top + (bottom - top) * (3 - l) / 6 }
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<text x="10" y="20" font-size="14">wisp ÷ knative baseline (log scale; below 1 is lower)${sets.length > 2 ? ` — also in the JSON: ${sets.filter((s) => s !== 'wisp' && s !== 'baseline').join(', ')}` : ''}</text>`]
  for (const l of [-3, -2, -1, 0, 1, 2, 3]) {
    const yy = y(10 ** l)
    parts.push(`<line x1="50" x2="${W - 10}" y1="${yy}" y2="${yy}" stroke="${l === 0 ? '#000' : '#ddd'}"/><text x="8" y="${yy + 4}">1e${l}</text>`)
  }
  const gw = (W - 70) / metrics.length
  metrics.forEach(([k, label], i) => {
    utils.forEach((u, j) => {
      const w = summary[u]?.wisp?.mean[k] ?? 0
      const b = summary[u]?.baseline?.mean[k] ?? 0
      const r = b === 0 ? 1 : w / b
      const x = 60 + i * gw + j * (gw / (utils.length + 1))
      const y0 = y(1)
      const y1 = y(r)
      parts.push(`<rect x="${x}" y="${Math.min(y0, y1)}" width="${gw / (utils.length + 1) - 4}" height="${Math.max(1, Math.abs(y1 - y0))}" fill="${j === 0 ? '#4a90d9' : '#d9824a'}"/>`)
      parts.push(`<text x="${x}" y="${Math.min(y0, y1) - 3}" font-size="9">${r.toPrecision(2)}</text>`)
    })
    parts.push(`<text x="${60 + i * gw}" y="${bottom + 20}">${label}</text>`)
  })
  utils.forEach((u, j) => parts.push(`<rect x="${60 + j * 120}" y="${H - 25}" width="10" height="10" fill="${j === 0 ? '#4a90d9' : '#d9824a'}"/><text x="${75 + j * 120}" y="${H - 16}">offered ${Number(u) * 100} %</text>`))
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}
