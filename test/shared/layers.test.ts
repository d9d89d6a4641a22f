import t from 'tap'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

/**
 * The folders in layer order: a folder may import only from folders in earlier layers. Within a
 * layer, only the pairs in SAME_LAYER are allowed (node-firmware-bridge implements boards' types;
 * the simulator runs the leader's policies unchanged).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['runtime/shared'],
  ['runtime/protocol'],
  ['runtime/transport'],
  ['boards', 'node-firmware-bridge'],
  ['runtime/board-model'],
  ['runtime/agent', 'runtime/leader', 'runtime/sim'],
  ['runtime/status'],
  ['runtime/http'],
  ['runtime/board', 'runtime/gateway'],
  ['runtime/cluster', 'runtime/flash'],
  ['runtime/cli']
]
const SAME_LAYER = new Set(['node-firmware-bridge -> boards', 'runtime/sim -> runtime/leader'])

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const folders = LAYERS.flat()
const layerOf = new Map(LAYERS.flatMap((fs, i) => fs.map((f) => [f, i] as const)))

const folderOf = (base: string, file: string): string | undefined => {
  const rel = relative(base, file).split(sep).join('/')
  return folders.find((f) => rel === f || rel.startsWith(`${f}/`))
}

const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
  const p = join(dir, e.name)
  if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(p)
  return /\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : []
})

/** Every relative specifier a file imports, re-exports or loads with import(), type-only ones included. */
const relativeImports = (file: string): string[] =>
  ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith('./') || s.startsWith('../'))

const offences = (base: string): string[] => {
  const out: string[] = []
  for (const top of ['runtime', 'boards', 'node-firmware-bridge']) {
    for (const file of sources(join(base, top))) {
      const from = folderOf(base, file)
      const rel = relative(base, file).split(sep).join('/')
      if (from === undefined) { out.push(`${rel}: folder not in the layer list`); continue }
      for (const spec of relativeImports(file)) {
        const to = folderOf(base, resolve(dirname(file), spec))
        if (to === undefined) { out.push(`${rel}: imports ${spec}, outside the layered folders`); continue }
        if (to === from) continue
        const a = layerOf.get(from) as number
        const b = layerOf.get(to) as number
        if (b < a || (b === a && SAME_LAYER.has(`${from} -> ${to}`))) continue
        out.push(`${rel}: imports ${spec} (${from} -> ${to})`)
      }
    }
  }
  return out
}

t.test('imports flow one way through the layers', async (t) => {
  t.same(offences(root), [], 'imports against the layer order (file: import (from -> to))')
})

t.test('the check sees wrong-way imports, type-only and re-exports included', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'wisp-layers-'))
  t.teardown(() => rmSync(base, { recursive: true, force: true }))
  const write = (file: string, body: string): void => {
    mkdirSync(dirname(join(base, file)), { recursive: true })
    writeFileSync(join(base, file), body)
  }
  write('boards/index.ts', "export { z } from '../node-firmware-bridge/x.js'\n")
  write('node-firmware-bridge/x.ts', "import { b } from '../boards/index.js'\nexport const z = b\n")
  write('runtime/shared/a.ts', "import type { S } from '../status/types.js'\nimport { p } from '../protocol/p.js'\n")
  write('runtime/protocol/p.ts', "const m = await import('../shared/a.js')\n")
  write('runtime/status/types.ts', "export type S = string\n")
  write('runtime/leader/l.ts', "import { s } from '../sim/s.js'\n")
  write('runtime/sim/s.ts', "import { l } from '../leader/l.js'\n")
  write('runtime/extra/e.ts', '')
  t.same(offences(base).sort(), [
    'boards/index.ts: imports ../node-firmware-bridge/x.js (boards -> node-firmware-bridge)',
    'runtime/extra/e.ts: folder not in the layer list',
    'runtime/leader/l.ts: imports ../sim/s.js (runtime/leader -> runtime/sim)',
    'runtime/shared/a.ts: imports ../protocol/p.js (runtime/shared -> runtime/protocol)',
    'runtime/shared/a.ts: imports ../status/types.js (runtime/shared -> runtime/status)'
  ])
})
