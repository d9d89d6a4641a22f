import t from 'tap'
import { guarded } from '../../runtime/agent/guarded.js'
import { every, systemClock } from '../../runtime/shared/clock.js'
import { WispError } from '../../runtime/shared/errors.js'
import type { Logger } from '../../runtime/shared/log.js'
import { until } from '../helpers/leader-rig.js'

const recordingLog = (): { log: Logger, lines: Array<{ msg: string, extra?: Record<string, unknown> }> } => {
  const lines: Array<{ msg: string, extra?: Record<string, unknown> }> = []
  const add = (msg: string, extra?: Record<string, unknown>): void => { lines.push({ msg, extra }) }
  return { log: { debug: add, info: add, warn: add, error: add }, lines }
}

t.test('a timer that throws, rejects or throws a non-Error keeps firing; each failure is logged, with its WISP_* code when it has one', async (t) => {
  const { log, lines } = recordingLog()
  let calls = 0
  const stop = every(systemClock, 10, guarded(log, 'gossip', async () => {
    const k = ++calls
    if (k === 1) throw new WispError('WISP_SENSOR', 'INA219 on I2C bus 1 address 0x40: read failed')
    if (k === 2) { await Promise.resolve(); throw new Error('a bug after an await') }
    if (k === 3) throw 'a string'
  }))
  t.teardown(stop)
  await until(() => calls >= 6, 5000, 'the timer to go on firing')
  await until(() => lines.length >= 3, 2000, 'three failures logged')
  t.same(lines.slice(0, 3), [
    { msg: 'gossip failed', extra: { code: 'WISP_SENSOR', error: 'INA219 on I2C bus 1 address 0x40: read failed' } },
    { msg: 'gossip failed', extra: { error: 'a bug after an await' } },
    { msg: 'gossip failed', extra: { error: 'a string' } }
  ])
})

t.test('a logger that throws too does not end the timer', async (t) => {
  const bad: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => { throw new Error('log sink gone') } }
  let calls = 0
  const stop = every(systemClock, 10, guarded(bad, 'power sample', () => { calls++; throw new Error('boom') }))
  t.teardown(stop)
  await until(() => calls >= 3, 5000, 'the timer to go on firing')
  t.pass(`fired ${calls} times`)
})
