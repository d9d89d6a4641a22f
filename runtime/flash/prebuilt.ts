import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { BoardProfile } from '../../boards/schema.js'
import { WispError } from '../shared/errors.js'

/** Modules with native code that wisp loads on a board; they must be built for its CPU. */
export const NATIVE_MODULES = ['isolated-vm', 'i2c-bus', 'epoll'] as const

// ELF e_machine values (System V ABI, "Machine" table) and class (1 = 32-bit, 2 = 64-bit).
const MACHINE: Record<BoardProfile['arch'], { machine: number, cls: number, name: string }> = {
  armv6l: { machine: 40, cls: 1, name: '32-bit ARM' },
  armv7l: { machine: 40, cls: 1, name: '32-bit ARM' },
  aarch64: { machine: 183, cls: 2, name: '64-bit ARM' },
  x86_64: { machine: 62, cls: 2, name: 'x86-64' }
}

const findNodeFiles = (dir: string, depth = 0): string[] => {
  if (depth > 4 || !existsSync(dir)) return []
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'src') out.push(...findNodeFiles(p, depth + 1))
    else if (e.isFile() && e.name.endsWith('.node')) out.push(p)
  }
  return out
}

const elfOf = (file: string): { machine: number, cls: number } | null => {
  const buf = Buffer.alloc(20)
  const fd = openSync(file, 'r')
  try { readSync(fd, buf, 0, 20, 0) } finally { closeSync(fd) }
  if (buf.readUInt32BE(0) !== 0x7f454c46) return null
  const le = buf[5] === 1
  return { cls: buf[4] ?? 0, machine: le ? buf.readUInt16LE(18) : buf.readUInt16BE(18) }
}

/**
 * Checks that a prebuilt node_modules (the folder itself or a folder holding it) has
 * isolated-vm compiled for the profile's CPU, so a board never boots with a binary it
 * cannot load. Returns the node_modules path.
 */
export const checkPrebuilt = (dir: string, profile: BoardProfile): string => {
  const bad = (msg: string): WispError => new WispError('WISP_BAD_CONFIG', `--prebuilt ${dir}: ${msg}`)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw bad('not a directory')
  const nm = basename(dir) === 'node_modules' ? dir : join(dir, 'node_modules')
  if (!existsSync(join(nm, 'isolated-vm', 'package.json'))) throw bad('no node_modules/isolated-vm in it; run `npm install --omit=dev` in the unpacked package on a board first')
  const binaries = findNodeFiles(join(nm, 'isolated-vm'))
  if (binaries.length === 0) throw bad('isolated-vm has no compiled .node binary')
  const want = MACHINE[profile.arch]
  for (const file of binaries) {
    const elf = elfOf(file)
    if (elf === null) throw bad(`${file} is not a Linux (ELF) binary`)
    if (elf.machine !== want.machine || elf.cls !== want.cls) throw bad(`${basename(file)} is not built for ${want.name} (${profile.name} is ${profile.arch})`)
  }
  return nm
}
