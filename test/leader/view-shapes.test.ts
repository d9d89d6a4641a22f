import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('../fixtures/view-shapes.ts', import.meta.url))

// A pick reads a few boards' views and `functions[fn]` on each. Boards' views of several hidden
// classes make every field read polymorphic; functions records built key by key are fast-mode
// objects with one hidden class per sequence of function names (a transition tree over 10,000
// names on a large cluster), so `functions[fn]` misses V8's stub cache board after board.
t.test('every board view has one hidden class and a dictionary functions record, however it was built', async (t) => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', fixture], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${err.message}\n${stderr}`)); else resolve(stdout)
    })
  })
  const r = JSON.parse(out) as { boards: number, common: number, maps: number, fastFunctions: number, routable: number }
  t.ok(r.common > 100 && r.routable < r.boards, `views from gossip, copies, patches and routability changes were built (${out})`)
  t.equal(r.maps, 1, 'one hidden class for every board view without the rare fields')
  t.equal(r.fastFunctions, 0, 'no functions record in fast mode')
})
