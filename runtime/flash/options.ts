import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { basename, join, resolve } from 'node:path'
import { getProfile, validateConfig } from '../../boards/index.js'
import { BoardConfigSchema, type BoardConfig, type BoardProfile } from '../../boards/schema.js'
import { WispError } from '../shared/errors.js'
import { checkBrokerUrl } from './broker-url.js'
import { readGatewayCa } from './gateway-ca.js'
import { checkLockfile } from './lockfile.js'
import { checkPrebuilt } from './prebuilt.js'

/** The options of `wisp flash` as the command line gives them (strings, before validation). */
export interface FlashInput {
  profile: string
  id: string
  broker: string
  out?: string
  boot?: string
  username?: string
  password?: string
  wifiSsid?: string
  wifiPassword?: string
  wifiCountry?: string
  hostname?: string
  httpHost?: string
  httpPort?: string
  dataDir?: string
  ina219Bus?: string
  ina219Address?: string
  shuntOhm?: string
  maxCurrent?: string
  relayLine?: string
  relayActiveLow?: boolean
  prebuilt?: string
  package?: string
  nodeVersion?: string
  lockfile?: string
  ca?: string
  insecure?: boolean
  force?: boolean
}

export interface Wifi { readonly ssid: string, readonly password?: string, readonly country?: string }

/** Everything a flash needs, validated; nothing has been written yet. */
export interface FlashPlan {
  readonly config: BoardConfig
  readonly profile: BoardProfile
  /** Where user-data, meta-data and network-config go; the bundle goes to `<dest>/wisp/`. */
  readonly dest: string
  readonly mode: 'out' | 'boot'
  readonly hostname: string
  readonly wifi?: Wifi
  /** A node_modules folder built on a board of the same architecture. */
  readonly prebuilt?: string
  /** A packed wisp tarball to ship instead of packing this project. */
  readonly packageFile?: string
  /** The package-lock.json first boot runs `npm ci` from (absent with a prebuilt node_modules). */
  readonly lockfile?: string
  /** PEM of the CA the board trusts for the broker, besides the system's roots. */
  readonly gatewayCa?: string
  readonly nodeVersion: string
  readonly force: boolean
}

/** Node.js 20 release installed on first boot when the image has no Node 20 of its own. */
export const DEFAULT_NODE_VERSION = '20.20.2'

const bad = (msg: string): WispError => new WispError('WISP_BAD_CONFIG', msg)

const number = (flag: string, raw: string | undefined, opts: { int?: boolean, min?: number, max?: number } = {}): number | undefined => {
  if (raw === undefined) return undefined
  const n = /^0x[0-9a-f]+$/i.test(raw) ? Number.parseInt(raw, 16) : Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n) || (opts.int === true && !Number.isInteger(n)) ||
      (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const range = opts.min !== undefined && opts.max !== undefined ? ` in ${opts.min}..${opts.max}` : ''
    throw bad(`${flag} must be a${opts.int === true ? 'n integer' : ' number'}${range}, got "${raw}"`)
  }
  return n
}

const checkDest = (input: FlashInput): { dest: string, mode: 'out' | 'boot' } => {
  if ((input.out === undefined) === (input.boot === undefined)) throw bad('give exactly one of --out DIR (a folder to copy onto the SD card) or --boot DIR (the mounted boot partition)')
  const mode = input.out !== undefined ? 'out' : 'boot'
  const dest = resolve((input.out ?? input.boot) as string)
  if (!existsSync(dest)) {
    if (mode === 'boot') throw bad(`--boot ${dest} does not exist; mount the SD card's boot partition first`)
    return { dest, mode }
  }
  if (!statSync(dest).isDirectory()) throw bad(`--${mode} ${dest} is not a directory`)
  if (input.force === true) return { dest, mode }
  if (mode === 'out' && readdirSync(dest).length > 0) throw bad(`--out ${dest} is not empty; use --force to write into it`)
  if (mode === 'boot' && existsSync(join(dest, 'wisp'))) throw bad(`${dest} already holds a wisp bundle; use --force to replace it`)
  return { dest, mode }
}

const checkWifi = (input: FlashInput): Wifi | undefined => {
  if (input.wifiSsid === undefined) {
    if (input.wifiPassword !== undefined || input.wifiCountry !== undefined) throw bad('--wifi-password and --wifi-country need --wifi-ssid')
    return undefined
  }
  const ssidBytes = Buffer.byteLength(input.wifiSsid)
  if (ssidBytes < 1 || ssidBytes > 32) throw bad('--wifi-ssid must be 1-32 bytes (IEEE 802.11 SSID)')
  // WPA2-PSK passphrases are 8-63 printable ASCII characters (IEEE 802.11i, H.4.1).
  if (input.wifiPassword !== undefined && !/^[\x20-\x7e]{8,63}$/.test(input.wifiPassword)) throw bad('--wifi-password must be 8-63 printable ASCII characters (WPA2)')
  if (input.wifiCountry !== undefined && !/^[A-Z]{2}$/.test(input.wifiCountry)) throw bad('--wifi-country must be a two-letter ISO 3166 code such as GB or DE')
  return { ssid: input.wifiSsid, ...(input.wifiPassword !== undefined ? { password: input.wifiPassword } : {}), ...(input.wifiCountry !== undefined ? { country: input.wifiCountry } : {}) }
}

const ina219 = (input: FlashInput): Record<string, number> | undefined => {
  const bus = number('--ina219-bus', input.ina219Bus, { int: true, min: 0, max: 255 })
  const address = number('--ina219-address', input.ina219Address, { int: true, min: 0x40, max: 0x4f })
  const shunt = number('--shunt-ohm', input.shuntOhm, { min: 1e-6, max: 100 })
  const maxA = number('--max-current', input.maxCurrent, { min: 1e-3, max: 100 })
  if (bus === undefined) {
    if (address !== undefined || shunt !== undefined || maxA !== undefined) throw bad('--ina219-address, --shunt-ohm and --max-current need --ina219-bus')
    return undefined
  }
  // 0x40 is the INA219 address with A0 and A1 tied to GND (SBOS448, table 1).
  return { bus, address: address ?? 0x40, ...(shunt !== undefined ? { shunt_ohm: shunt } : {}), ...(maxA !== undefined ? { max_current_a: maxA } : {}) }
}

/** 24 random bytes (192 bits) as base64url: no character needs quoting in JSON, shell or URL. */
const generatePassword = (): string => randomBytes(24).toString('base64url')

const DEFAULT_DATA_DIR = '/var/lib/wisp/board'

/** The unit names the folder in ReadWritePaths= and first boot creates it, so: absolute, no spaces or `..`. */
const checkDataDir = (raw: string | undefined): string => {
  if (raw === undefined) return DEFAULT_DATA_DIR
  if (!/^\/[A-Za-z0-9._/-]*$/.test(raw) || raw.split('/').includes('..')) throw bad(`--data-dir must be an absolute path of [A-Za-z0-9._/-] without "..", got "${raw}"`)
  return raw
}

const checkHttpHost = (raw: string | undefined): string => {
  if (raw === undefined) return '127.0.0.1'
  if (isIP(raw) === 0) throw bad(`--http-host must be an IP address such as 127.0.0.1 or 0.0.0.0, got "${raw}"`)
  return raw
}

/** Validates every option before anything is written; throws WISP_BAD_CONFIG naming the option. */
export const planFlash = (input: FlashInput): FlashPlan => {
  const profile = getProfile(input.profile)
  checkBrokerUrl(input.broker, input.insecure === true)
  const gatewayCa = readGatewayCa(input.ca, input.broker)
  const { dest, mode } = checkDest(input)
  const wifi = checkWifi(input)
  const relayLine = number('--relay-line', input.relayLine, { int: true, min: 0, max: 1023 })
  if (relayLine === undefined && input.relayActiveLow === true) throw bad('--relay-active-low needs --relay-line')
  // The broker's board role lets an account publish only under wisp/boards/<its user name>/.
  if (input.username !== undefined && input.username !== input.id) throw bad(`--username must be the board id ("${input.id}"): the broker ties a board's topics to its account name, got "${input.username}"`)
  if (input.password !== undefined && input.password.length < 8) throw bad('--password must be at least 8 characters (leave it out for a generated one)')
  if (input.password !== undefined && input.username === undefined) throw bad('--password needs --username (without both, the board gets its id as user name and a generated password)')
  const httpPort = number('--http-port', input.httpPort, { int: true, min: 1, max: 65535 }) ?? 8081
  const sensor = ina219(input)
  const raw = {
    id: input.id,
    profile: profile.name,
    broker: input.broker,
    username: input.username ?? input.id,
    password: input.password ?? generatePassword(),
    data_dir: checkDataDir(input.dataDir),
    // The board page stays on the board unless asked: it shows functions and receipts.
    http_host: checkHttpHost(input.httpHost),
    http_port: httpPort,
    ...(sensor !== undefined ? { ina219: sensor } : {}),
    ...(relayLine !== undefined ? { relay: { line: relayLine, active_low: input.relayActiveLow === true } } : {})
  }
  const config = validateConfig(BoardConfigSchema, raw, 'board config')
  const hostname = input.hostname ?? `wisp-${config.id}`
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(hostname)) throw bad(`--hostname must be a DNS label (RFC 1123), got "${hostname}"`)
  const nodeVersion = input.nodeVersion ?? DEFAULT_NODE_VERSION
  if (!/^20\.\d+\.\d+$/.test(nodeVersion)) throw bad(`--node-version must be a Node.js 20 release such as ${DEFAULT_NODE_VERSION}, got "${nodeVersion}"`)
  const prebuilt = input.prebuilt === undefined ? undefined : checkPrebuilt(resolve(input.prebuilt), profile)
  let packageFile: string | undefined
  if (input.package !== undefined) {
    packageFile = resolve(input.package)
    if (!existsSync(packageFile) || !statSync(packageFile).isFile() || !basename(packageFile).endsWith('.tgz')) throw bad(`--package ${packageFile} is not a .tgz file`)
  }
  const lockfile = prebuilt === undefined ? checkLockfile(input.lockfile === undefined ? undefined : resolve(input.lockfile), packageFile) : undefined
  return Object.freeze({
    config, profile, dest, mode, hostname, nodeVersion, force: input.force === true,
    ...(lockfile !== undefined ? { lockfile } : {}),
    ...(gatewayCa !== undefined ? { gatewayCa } : {}),
    ...(wifi !== undefined ? { wifi } : {}),
    ...(prebuilt !== undefined ? { prebuilt } : {}),
    ...(packageFile !== undefined ? { packageFile } : {})
  })
}
