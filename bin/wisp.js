#!/usr/bin/env node
// Runs the CLI under tsx, so the package ships its TypeScript sources as they are, with
// --no-node-snapshot, which isolated-vm needs on Node 20, and for the commands that host the
// gateway its heap flags (node-flags.js). Signals are passed on to the CLI.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { nodeFlags } from './node-flags.js'

const main = fileURLToPath(new URL('../runtime/cli/main.ts', import.meta.url))
const tsx = import.meta.resolve('tsx')
const child = spawn(process.execPath, [...nodeFlags(process.argv[2]), '--import', tsx, main, ...process.argv.slice(2)], { stdio: 'inherit' })
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
