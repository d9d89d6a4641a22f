/**
 * Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
 * a = λ/μ (erlangs). Computed through the Erlang B recursion B(k) = a·B(k−1)/(k + a·B(k−1)),
 * which is stable for large c, then C = c·B / (c − a·(1 − B)).
 */
export const erlangC = (c: number, a: number): number => {
  if (a <= 0) return 0
  if (c <= a) return 1
  let b = 1
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b)
  return (c * b) / (c - a * (1 - b))
}

/**
 * Fewest servers c so that the q-quantile of the M/M/c waiting time is at most `waitMs`:
 * P(W > t) = C(c, a) · e^{−(cμ − λ)t} ≤ 1 − q. Capped at `max`.
 */
export const serversFor = (lambdaPerS: number, serviceMs: number, waitMs: number, q = 0.99, max = 4096): number => {
  if (lambdaPerS <= 0) return 0
  const mu = 1000 / serviceMs
  const a = lambdaPerS / mu
  const t = Math.max(0, waitMs) / 1000
  // Erlang B grows one server at a time, so the whole search is O(c).
  let b = 1
  for (let c = 1; c <= max; c++) {
    b = (a * b) / (c + a * b)
    if (c <= a) continue
    const pWait = (c * b) / (c - a * (1 - b))
    if (pWait * Math.exp(-(c * mu - lambdaPerS) * t) <= 1 - q) return c
  }
  return max
}

/** Holt's linear exponential smoothing (level + trend), with an EWMA of squared one-step errors. */
export interface HoltState { level: number, trend: number, errVar: number, n: number }

export const holtUpdate = (s: HoltState, x: number, alpha: number, beta: number): HoltState => {
  if (s.n === 0) return { level: x, trend: 0, errVar: 0, n: 1 }
  const pred = s.level + s.trend
  const err = x - pred
  const level = alpha * x + (1 - alpha) * pred
  const trend = beta * (level - s.level) + (1 - beta) * s.trend
  return { level, trend, errVar: (1 - alpha) * s.errVar + alpha * err * err, n: s.n + 1 }
}

/** Forecast `steps` intervals ahead (never negative). */
export const holtForecast = (s: HoltState, steps: number): number => Math.max(0, s.level + steps * s.trend)
