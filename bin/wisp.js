#!/usr/bin/env node
// Runs the compiled CLI (dist/, made by `npm run build`) with plain node: no TypeScript is
// compiled at run time. A missing or stale dist/ is an error, not old code. isolated-vm needs
// --no-node-snapshot on Node 20 in a process that makes isolates, and Node starts slower
// without its snapshot (about 0.1 s): of the commands, only `deploy` (which checks the code
// in an isolate) makes isolates in its own process, so only it is run in a child process with
// the flag (signals are passed on). Boards fork their isolate hosts with it. The commands that
// host the gateway (start, gateway) also run in a child, with the gateway's heap flags
// (runtime/shared/node-flags.ts).
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

const command = process.argv.slice(2).find((a) => !a.startsWith('-'))
const { nodeFlags } = await import(new URL('dist/runtime/shared/node-flags.js', root).href)
const flags = command === 'deploy' || command === 'start' || command === 'gateway' ? nodeFlags(command) : []
if (flags.every((f) => process.execArgv.includes(f))) {
  await import(main.href)
} else {
  // The IPC channel ties the child to this process: if this one is killed, the child exits too.
  const child = spawn(process.execPath, [...flags, ...process.execArgv, fileURLToPath(main), ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, WISP_WRAPPED: '1' } })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
}
