import { z } from 'zod'
import { readJsonFile, validateConfig } from '../../boards/index.js'
import { ROLES } from '../shared/roles.js'
import { isPasswordHash } from '../shared/password.js'
import { GreenConfigSchema } from './green/green-config.js'
import { NAME_RE, NAME_RULE } from '../protocol/topics.js'

/** One broker account: `wisp users add NAME --role R` prints it. */
const UserSchema = z.object({
  password_hash: z.string().optional(),
  password_sha256: z.unknown().optional(),
  role: z.enum(ROLES)
}).strict().superRefine((u, ctx) => {
  if (u.password_sha256 !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['password_sha256'], message: 'unsalted SHA-256 password hashes are no longer accepted; make a salted one with `wisp users add NAME --role ROLE` and put its "password_hash" in place of "password_sha256"' })
  } else if (u.password_hash === undefined || !isPasswordHash(u.password_hash)) {
    ctx.addIssue({ code: 'custom', path: ['password_hash'], message: 'must be a scrypt hash as printed by `wisp users add NAME --role ROLE` (scrypt$N$r$p$salt$hash)' })
  }
}).transform((u) => ({ password_hash: u.password_hash as string, role: u.role }))

/** The gateway process (`wisp gateway --config F`). */
export const GatewayConfigSchema = z.object({
  mqtt_port: z.number().int().min(0).max(65535).default(1883),
  /** Interface of the embedded broker; anything but loopback needs `users`. */
  mqtt_host: z.string().default('127.0.0.1'),
  http_port: z.number().int().min(0).max(65535).default(8080),
  /** An mqtts listener of the embedded broker: PEM files; `host` defaults to mqtt_host. */
  tls: z.object({
    cert: z.string().min(1),
    key: z.string().min(1),
    port: z.number().int().min(0).max(65535).default(8883),
    host: z.string().optional()
  }).strict().optional(),
  /** Interface of the cluster page; anything but loopback needs `users`. */
  http_host: z.string().default('127.0.0.1'),
  /** Names the cluster page answers to besides localhost, the host name and IP addresses (a Host check against DNS rebinding). */
  http_allowed_hosts: z.array(z.string().regex(/^[A-Za-z0-9.-]{1,253}$/)).default([]),
  /** HTTP invokes (POST /function/<fn>, /async-function/<fn>); null = not served. */
  invoke_port: z.number().int().min(0).max(65535).nullable().default(8090),
  /** Interface of the HTTP invokes; anything but loopback needs `users`. */
  invoke_host: z.string().default('127.0.0.1'),
  /** An external broker instead of the embedded aedes (e.g. mqtt://localhost:1883 for Mosquitto). */
  broker: z.url({ protocol: /^mqtts?$|^wss?$/ }).optional(),
  /**
   * Clustered gateways: the embedded brokers share subscriptions, sessions and retained messages
   * through this Redis, and one leader at a time holds a lease there (README "Growing past one gateway").
   */
  cluster: z.object({
    redis: z.string().regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL'),
    lease_ms: z.number().int().min(500).max(60_000).default(3000),
    /** A 32-byte key file, the same on every gateway, sealing the functions' secrets in Redis. */
    secrets_key_file: z.string().min(1).optional()
  }).strict().optional(),
  topic_prefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('wisp'),
  data_dir: z.string().min(1).default('.wisp/gateway'),
  wait_ms: z.number().int().min(0).max(600_000).default(10_000),
  /** The leader's account on an external broker (an admin there); env WISP_USERNAME / WISP_PASSWORD also work. */
  broker_username: z.string().min(1).optional(),
  broker_password: z.string().min(1).optional(),
  /** Accounts of the embedded broker (none = open mode, loopback only); see SECURITY.md. */
  users: z.record(z.string().regex(NAME_RE, `must be ${NAME_RULE}`), UserSchema).default({}),
  /** Control-plane policy set (wisp, wisp-no-gate, baseline, p2c). */
  policy: z.string().default('wisp'),
  /** The gateway's relays: board id → GPIO line (kernel number), polarity and the board's profile. */
  relays: z.record(z.string().regex(NAME_RE), z.object({
    line: z.number().int().min(0).max(1023),
    active_low: z.boolean().default(false),
    profile: z.string().regex(NAME_RE)
  })).default({}),
  /** Carbon intensity signals and prices for receipts' `carbon_mg` and `cost` (docs/gateway-config.md). */
  green: GreenConfigSchema.optional()
})
export type GatewayConfig = Readonly<z.infer<typeof GatewayConfigSchema>>

export const loadGatewayConfig = (file: string): GatewayConfig =>
  validateConfig(GatewayConfigSchema, readJsonFile(file, 'gateway config'), `gateway config ${file}`)
