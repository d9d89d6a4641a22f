// A data transform in the spirit of a thumbnail: downsamples a grey-scale image given as a
// JSON array of rows (0-255) by box-averaging blocks of `factor` x `factor` pixels.
export async function handler (event) {
  const rows = Array.isArray(event?.pixels) ? event.pixels : null
  if (rows === null || rows.length === 0 || !Array.isArray(rows[0])) {
    throw new TypeError('expected {"pixels": [[0-255, ...], ...], "factor"?: 2..16}')
  }
  const factor = Math.min(16, Math.max(2, Number(event.factor ?? 2) | 0))
  const h = Math.floor(rows.length / factor)
  const w = Math.floor(rows[0].length / factor)
  const out = []
  for (let y = 0; y < h; y++) {
    const line = []
    for (let x = 0; x < w; x++) {
      let sum = 0
      for (let dy = 0; dy < factor; dy++) {
        const row = rows[y * factor + dy]
        for (let dx = 0; dx < factor; dx++) sum += Number(row[x * factor + dx]) || 0
      }
      line.push(Math.round(sum / (factor * factor)))
    }
    out.push(line)
  }
  return { width: w, height: h, factor, pixels: out }
}
