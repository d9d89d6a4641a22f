#!/usr/bin/env -S node --no-node-snapshot
// Runs the compiled CLI (dist/, made by `npm run build`) with plain node: no TypeScript is
// compiled at run time. isolated-vm needs --no-node-snapshot on Node 20: the line above passes
// it, and `node bin/wisp.js` without it starts the CLI in a child process that has it (signals
// are passed on). A missing or stale dist/ is an error, not old code.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = new URL('../', import.meta.url)
const stamp = new URL('dist/runtime/shared/build-stamp.js', root)
const main = new URL('dist/runtime/cli/main.js', root)
const fail = (msg) => { console.error(`WISP_BAD_CONFIG: ${msg}`); process.exit(2) }

if (!existsSync(stamp) || !existsSync(main)) fail('dist/ is missing: run `npm run build` (dist/ holds the compiled JavaScript that wisp runs)')
const { distProblem } = await import(stamp.href)
const problem = distProblem(fileURLToPath(root))
if (problem !== undefined) fail(problem)

if (process.execArgv.includes('--no-node-snapshot')) {
  await import(main.href)
} else {
  const child = spawn(process.execPath, ['--no-node-snapshot', ...process.execArgv, fileURLToPath(main), ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
}
