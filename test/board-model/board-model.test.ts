import t from 'tap'
import { getProfile } from '../../boards/index.js'
import { learnedRunMs, learnInvMs, learnMeanMs } from '../../runtime/board-model/estimate.js'
import { busyRuntimes, lruIdleVictim } from '../../runtime/board-model/eviction.js'
import { busyPowerW, profilePowerW } from '../../runtime/board-model/power.js'
import { addQueuedWork, WORK_CLASSES } from '../../runtime/board-model/work.js'

t.test('estimates: the first run sets them; then moving averages of run time and of 1 / run time', async (t) => {
  t.equal(learnMeanMs(undefined, 40), 40)
  t.equal(learnInvMs(undefined, 40), 1 / 40)
  t.equal(learnMeanMs(100, 200, 0.5), 150)
  let mean: number | undefined
  let inv: number | undefined
  for (let i = 0; i < 200; i++) { const ran = i % 2 === 0 ? 10 : 1000; mean = learnMeanMs(mean, ran); inv = learnInvMs(inv, ran) }
  t.ok(Math.abs(mean! - 505) < 60, `mean of 10 and 1000 ≈ 505 (${mean})`)
  t.ok(Math.abs(1 / inv! - 2 / (1 / 10 + 1 / 1000)) < 3, `harmonic mean ≈ 19.8 (${1 / inv!})`)
  t.equal(learnInvMs(undefined, 0), 100, 'a zero run time counts as 0.01 ms')
})

t.test('what a run teaches: a warm run the time it held its core, a cold run only its handler\'s time', async (t) => {
  t.equal(learnedRunMs(12, false, 3), 12, 'warm: the time the core was held (IPC included)')
  t.equal(learnedRunMs(767, true, 4), 4, 'cold: the runtime build is not the function\'s run time')
  t.equal(learnedRunMs(900, true, 0), null, 'cold and the handler never ran (the build failed, the host died): nothing')
  t.equal(learnedRunMs(250, false, 0), 250, 'warm and failed without a handler time (its host died): the time it held the core')
})

t.test('queued work by class of expected run time', async (t) => {
  const byClass = new Array<number>(WORK_CLASSES).fill(0)
  addQueuedWork(byClass, 10, 2)
  addQueuedWork(byClass, 600, 1)
  addQueuedWork(byClass, 1e9, 1)
  t.equal(byClass[3], 20, 'two of 10 ms in [8, 16)')
  t.equal(byClass[9], 600, '[512, 1024)')
  t.equal(byClass[WORK_CLASSES - 1], 1e9, 'the last class holds everything longer')
  addQueuedWork(byClass, 10, -1)
  t.equal(byClass[3], 10, 'taking one off')
})

t.test('eviction: the least recently used function with an idle runtime, never the one asking', async (t) => {
  const fns = [
    { runtimes: 1, running: 1, lastUsed: 0 }, // its only runtime is busy
    { runtimes: 2, running: 1, lastUsed: 50 }, // one idle
    { runtimes: 1, running: 0, lastUsed: 20 }, // idle, older
    { runtimes: 0, running: 0, lastUsed: 1 } // holds none
  ]
  t.equal(lruIdleVictim(fns, () => 1, 9), 2)
  t.equal(lruIdleVictim(fns, () => 1, 2), 1, 'the asking function keeps its own')
  t.equal(lruIdleVictim(fns, (i) => (i === 1 ? 0 : 1), 2), 1, 'concurrency 0: one runtime serves all its runs, the second is idle')
  t.equal(lruIdleVictim([fns[0]!, fns[3]!], () => 1, 9), -1, 'nothing idle to evict')
  t.equal(busyRuntimes(5, 2), 3)
  t.equal(busyRuntimes(5, 0), 1)
  t.equal(busyRuntimes(0, 0), 0)
})

t.test('power: idle + (peak − idle) · busy cores / cores, at most peak', async (t) => {
  const p = getProfile('raspberry-pi-4b')
  t.equal(busyPowerW(p, 0), p.idle_w)
  t.equal(busyPowerW(p, p.cores), p.peak_w)
  t.equal(busyPowerW(p, p.cores * 3), p.peak_w, 'more runs than cores share them')
  t.equal(busyPowerW(p, p.cores / 2), profilePowerW(p, 0.5))
  t.ok(Math.abs(profilePowerW(p, 0.5) - (p.idle_w + p.peak_w) / 2) < 1e-12)
})
