import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The `wisp` command as a user runs it: bin/wisp.js, which runs the compiled CLI in dist/. */
export const WISP_BIN = fileURLToPath(new URL('../../bin/wisp.js', import.meta.url))

/** Node's arguments for `wisp <args>`, as the systemd unit and `npm start` give them. */
export const wispArgs = (args: readonly string[], bin = WISP_BIN): string[] => [bin, ...args]

/** Resolves with a process's stdout once it matches `re`; rejects if it exits or `ms` passes first. */
export const waitForOutput = async (p: ChildProcess, re: RegExp, ms: number): Promise<string> => {
  let out = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${String(re)} within ${ms} ms; got: ${out}`)), ms)
    p.stdout?.on('data', (d: Buffer) => { out += d.toString(); if (re.test(out)) { clearTimeout(timer); resolve(out) } })
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${out}`)) })
  })
}

/** Runs `wisp <args>` as a user does (bin/wisp.js and dist/) to its end, bounded in time; `input` goes to its stdin. */
export const runWisp = async (args: readonly string[], timeoutMs = 30_000, input?: string): Promise<{ code: number | null, out: string, err: string }> => {
  const { spawn } = await import('node:child_process')
  return await new Promise((resolve) => {
    const p = spawn(process.execPath, wispArgs(args), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...process.env, WISP_LOG: 'warn' } })
    let out = ''
    let err = ''
    p.stdout?.on('data', (d: Buffer) => { out += d.toString() })
    p.stderr?.on('data', (d: Buffer) => { err += d.toString() })
    if (p.stdin !== null) {
      p.stdin.on('error', () => {}) // a command that refuses early may not read all of it
      p.stdin.end(input)
    }
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }) })
  })
}
