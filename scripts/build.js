#!/usr/bin/env node
// `npm run build` (and prepare, pretest, prebench, preevaluate): compiles the TypeScript to
// dist/ with tsc (incremental), bundles the isolate-side prelude (runtime/agent/sandbox.isolate.ts)
// into one script, and writes dist/build-stamp.json, which the CLI and the tests check so
// that a stale dist/ is an error rather than old code. Nothing to do when the stamp matches
// the sources, or in an installed package (compiled already, no sources).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const stampModule = join(root, 'dist/runtime/shared/build-stamp.js')
const force = process.argv.includes('--force')
const fail = (msg) => { console.error(`wisp build: ${msg}`); process.exit(1) }

if (!existsSync(join(root, 'runtime/cli/main.ts'))) {
  // An installed package: dist/ came with it.
  if (!existsSync(join(root, 'dist/build-stamp.json'))) fail('no sources and no dist/: this package was packed without its build')
  process.exit(0)
}

if (!force && existsSync(stampModule)) {
  const { distProblem } = await import(pathToFileURL(stampModule).href)
  if (distProblem(root) === undefined) process.exit(0)
}

const started = Date.now()
const require = createRequire(import.meta.url)
let tsc, esbuild
try { tsc = require.resolve('typescript/bin/tsc'); esbuild = require('esbuild') } catch {
  fail('typescript and esbuild are needed to build from the sources: run `npm install` (with dev dependencies)')
}
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root })
if (r.status !== 0) fail(`tsc failed (exit ${r.status ?? r.signal})`)

// The prelude as one classic script whose completion value is its `setup` function; the
// wrapper removes the global it came through within the same run. Bundling here (rather than
// `.toString()` of host functions) keeps no helper of a transpiler out of the isolate.
const out = await esbuild.build({
  entryPoints: [join(root, 'runtime/agent/sandbox.isolate.ts')],
  bundle: true,
  format: 'iife',
  target: 'es2022',
  platform: 'neutral',
  keepNames: false,
  minify: false,
  write: false,
  logLevel: 'silent'
})
const text = out.outputFiles[0]?.text
if (text === undefined) fail('the sandbox bundle produced no output')
mkdirSync(join(root, 'dist/runtime/agent'), { recursive: true })
writeFileSync(join(root, 'dist/runtime/agent/sandbox.prelude.js'),
  text + '\n;(() => { const s = globalThis.__wisp_setup; delete globalThis.__wisp_setup; return s })()\n')

const { writeStamp } = await import(pathToFileURL(stampModule).href + `?t=${started}`)
writeStamp(root, started)
console.error(`wisp build: dist/ built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
