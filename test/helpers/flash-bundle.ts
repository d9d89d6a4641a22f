import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * A package tarball laid out as npm pack lays it out (package/…), with this project's
 * package.json so this project's lockfile matches it, written into `dir`.
 */
export const fakePackage = (dir: string): string => {
  mkdirSync(join(dir, 'package', 'bin'), { recursive: true })
  writeFileSync(join(dir, 'package', 'package.json'), readFileSync(join(ROOT, 'package.json')))
  writeFileSync(join(dir, 'package', 'bin', 'wisp.js'), '')
  execFileSync('tar', ['-czf', join(dir, 'wisp-0.1.0.tgz'), '-C', dir, 'package'])
  return join(dir, 'wisp-0.1.0.tgz')
}

/**
 * A prebuilt node_modules in `dir` whose isolated-vm binary has only the ELF header of the
 * given machine (e_machine 40 = 32-bit ARM, 183 = AArch64) and class (1 = 32-bit, 2 = 64-bit).
 */
export const fakePrebuilt = (dir: string, machine: number, cls: number): string => {
  const nm = join(dir, 'node_modules')
  mkdirSync(join(nm, 'isolated-vm', 'out'), { recursive: true })
  writeFileSync(join(nm, 'isolated-vm', 'package.json'), '{"name":"isolated-vm","version":"5.0.4"}')
  const elf = Buffer.alloc(64)
  elf.writeUInt32BE(0x7f454c46, 0)
  elf[4] = cls
  elf[5] = 1
  elf.writeUInt16LE(machine, 18)
  writeFileSync(join(nm, 'isolated-vm', 'out', 'isolated_vm.node'), elf)
  return dir
}
