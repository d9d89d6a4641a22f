// The part of autocannon's API the cost benchmark uses (autocannon ships no types).
declare module 'autocannon' {
  interface Options { url: string, method?: string, body?: string, headers?: Record<string, string>, connections?: number, duration?: number }
  interface Stats { average: number, p50: number, p99: number, total: number }
  interface Result { requests: Stats, latency: Stats, errors: number, non2xx: number }
  export default function autocannon (opts: Options): Promise<Result>
}
