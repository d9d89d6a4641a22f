// CPU-bound: counts the primes below n (default 20000, at most 5,000,000) with a sieve.
export async function handler (event) {
  const n = Math.min(Math.max(2, Number(event?.n ?? 20000) | 0), 5_000_000)
  const composite = new Uint8Array(n)
  let count = 0
  let largest = 0
  for (let i = 2; i < n; i++) {
    if (composite[i] === 1) continue
    count++
    largest = i
    for (let j = i * i; j < n; j += i) composite[j] = 1
  }
  return { n, count, largest }
}
