/**
 * A child process hosting board stubs `b<first>`…`b<first+n-1>` (test/helpers/board-stub.ts),
 * so the boards' MQTT clients do not share the gateway's event loop. Forked with IPC and a JSON
 * config as argv[2]; it sends `{ ready: true }` once every stub has announced itself, answers
 * `'stats'` with `{ answered, cold }` and stops its stubs (Last Will state retained) on `'stop'`.
 */
import { startStubs, type BoardStub } from '../../helpers/board-stub.js'

export interface FleetConfig { url: string, first: number, n: number, profiles: string[], gossipMs: number, slots: number, coldMs: number }

/** A function's modelled run time on a stub: 5-45 ms, fixed per function (`fn<k>`). */
export const runMs = (fn: string): number => 5 + (Number(fn.replace(/^\D+/, '')) % 41 || 0)

const main = async (): Promise<void> => {
  const c = JSON.parse(process.argv[2] ?? '{}') as FleetConfig
  const send = (m: unknown): void => { process.send?.(m) }
  const stubs: BoardStub[] = await startStubs(c.n, { url: c.url, profiles: c.profiles, first: c.first, runMs, coldMs: c.coldMs, gossipMs: c.gossipMs, slots: c.slots, parallel: 50 })
  process.on('message', (m) => {
    if (m === 'stats') send({ answered: stubs.reduce((k, s) => k + s.answered, 0), cold: stubs.reduce((k, s) => k + s.cold, 0) })
    if (m === 'stop') {
      void (async () => {
        for (let i = 0; i < stubs.length; i += 50) await Promise.all(stubs.slice(i, i + 50).map(async (s) => await s.stop()))
        process.exit(0)
      })()
    }
  })
  process.on('disconnect', () => process.exit(0))
  send({ ready: true })
}

if (process.send !== undefined) await main()
