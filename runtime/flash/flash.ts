import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { configJson, metaData, needsSwap, networkConfig, unitOf, userData } from './cloud-init.js'
import { GATEWAY_USER_FILE, PREBUILT_FILE } from './first-boot.js'
import { gatewayUser, type GatewayUserEntry } from './gateway-user.js'
import { LOCKFILE } from './lockfile.js'
import { planFlash, type FlashInput, type FlashPlan } from './options.js'
import { packProject } from './pack.js'
import { UNIT_NAME } from './systemd.js'

const run = promisify(execFile)

export interface FlashDeps {
  /** One line per step, for the user (stderr in the CLI). */
  progress: (line: string) => void
  pack?: () => Promise<string>
}

export interface FlashResult {
  readonly plan: FlashPlan
  /** Every file written, relative to the destination. */
  readonly files: readonly string[]
  /** The board's account for the gateway config's `users`: user name → scrypt hash and role. */
  readonly gatewayUser: GatewayUserEntry
}

const kb = (file: string): string => `${Math.round(statSync(file).size / 1024)} KiB`

/**
 * Writes a board's first-boot bundle: cloud-init user-data, meta-data and network-config at
 * the top of the destination, and wisp/ with the packed package, the validated config, the
 * systemd unit and (optionally) prebuilt node_modules. Options are checked and the package
 * is packed before the first byte is written, so a bad option writes nothing.
 */
export const flash = async (input: FlashInput, deps: FlashDeps): Promise<FlashResult> => {
  const say = deps.progress
  const total = 6
  let n = 0
  const step = (msg: string): void => { say(`[${++n}/${total}] ${msg}`) }

  step(`checking options for board ${input.id} (${input.profile})`)
  const plan = planFlash(input)
  say(`      ${plan.profile.model}, ${plan.profile.arch}, ${plan.profile.memory_mb} MB; broker ${plan.config.broker} as ${plan.config.username ?? ''}`)
  const account = await gatewayUser(plan.config)

  step(plan.packageFile !== undefined ? `using the package ${plan.packageFile}` : 'packing wisp (npm pack)')
  const tgz = plan.packageFile ?? await (deps.pack ?? packProject)()
  say(`      ${basename(tgz)}, ${kb(tgz)}`)
  try {
    return await writeBundle(plan, tgz, account, say, step)
  } finally {
    if (plan.packageFile === undefined) rmSync(dirname(tgz), { recursive: true, force: true })
  }
}

const writeBundle = async (plan: FlashPlan, tgz: string, account: GatewayUserEntry, say: (line: string) => void, step: (msg: string) => void): Promise<FlashResult> => {
  const bundle = join(plan.dest, 'wisp')
  const written: string[] = []
  const write = (rel: string, text: string, mode = 0o644): void => {
    const file = join(plan.dest, rel)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text, { mode })
    written.push(rel)
  }
  if (plan.force && existsSync(bundle)) rmSync(bundle, { recursive: true, force: true })
  mkdirSync(bundle, { recursive: true })

  step(`writing ${bundle}`)
  copyFileSync(tgz, join(bundle, basename(tgz)))
  written.push(`wisp/${basename(tgz)}`)
  write('wisp/board.json', configJson(plan), 0o600)
  write(`wisp/${UNIT_NAME}`, unitOf(plan))
  if (plan.lockfile !== undefined) {
    copyFileSync(plan.lockfile, join(bundle, LOCKFILE))
    written.push(`wisp/${LOCKFILE}`)
  }

  step(plan.prebuilt !== undefined ? `packing prebuilt node_modules from ${plan.prebuilt}` : 'native modules will be built on the board at first boot')
  if (plan.prebuilt !== undefined) {
    // A tarball, because a FAT boot partition cannot hold node_modules/.bin symlinks.
    await run('tar', ['-czf', join(bundle, PREBUILT_FILE), '-C', dirname(plan.prebuilt), basename(plan.prebuilt)], { timeout: 600_000 })
    written.push(`wisp/${PREBUILT_FILE}`)
    say(`      ${PREBUILT_FILE}, ${kb(join(bundle, PREBUILT_FILE))}`)
  } else if (needsSwap(plan)) {
    say(`      ${plan.profile.memory_mb} MB ${plan.profile.arch}: cloud-init adds 1 GiB of swap before the build`)
  }

  step('writing cloud-init user-data, meta-data' + (plan.wifi !== undefined ? ' and network-config (Wi-Fi)' : ''))
  const ud = userData(plan, basename(tgz))
  write('user-data', ud, 0o600)
  write('meta-data', metaData(plan, ud))
  const net = networkConfig(plan)
  if (net !== undefined) write('network-config', net, 0o600)
  else if (plan.force && existsSync(join(plan.dest, 'network-config'))) rmSync(join(plan.dest, 'network-config'))

  // The gateway needs the hash, the board never does: --out gets a copy to move to the gateway
  // (first boot erases it should it reach the card); --boot writes nothing extra onto the card.
  if (plan.mode === 'out') write(GATEWAY_USER_FILE, JSON.stringify(account, null, 2) + '\n', 0o600)

  step('done')
  const where = plan.mode === 'boot' ? 'Unmount the card and boot the board' : `Copy the contents of ${plan.dest} onto the SD card's boot partition and boot the board`
  say(`      ${where}; it joins ${plan.config.broker} as ${plan.config.id} and serves its status page on port ${plan.config.http_port}.`)
  say(`      Add the board's account to the gateway config's "users"${plan.mode === 'out' ? ` (also in ${join(plan.dest, GATEWAY_USER_FILE)})` : ''}.`)
  return { plan, files: written.sort(), gatewayUser: account }
}

/** Files in a destination, for tests and for the "nothing written" check. */
export const listFiles = (dir: string): string[] => existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : []
