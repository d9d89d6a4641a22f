/** A tiny leveled logger writing one line per event to stderr; the process name says who spoke. */
export type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug: (msg: string, extra?: Record<string, unknown>) => void
  info: (msg: string, extra?: Record<string, unknown>) => void
  warn: (msg: string, extra?: Record<string, unknown>) => void
  error: (msg: string, extra?: Record<string, unknown>) => void
}

export const createLogger = (name: string, min: Level = (process.env.WISP_LOG as Level | undefined) ?? 'info'): Logger => {
  const threshold = ORDER[min] ?? ORDER.info
  const write = (level: Level) => (msg: string, extra?: Record<string, unknown>): void => {
    if (ORDER[level] < threshold) return
    const tail = extra === undefined ? '' : ' ' + JSON.stringify(extra)
    process.stderr.write(`[${name}] ${level} ${msg}${tail}\n`)
  }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
