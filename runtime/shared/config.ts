import { z } from 'zod'
import { readJsonFile, validateConfig } from '../../boards/index.js'

/** The gateway process (`wisp gateway --config F`). */
export const GatewayConfigSchema = z.object({
  mqtt_port: z.number().int().min(0).max(65535).default(1883),
  /** Interface of the embedded broker; anything but loopback needs `users`. */
  mqtt_host: z.string().default('127.0.0.1'),
  http_port: z.number().int().min(0).max(65535).default(8080),
  /** Interface of the cluster page; anything but loopback needs `users`. */
  http_host: z.string().default('127.0.0.1'),
  /** An external broker instead of the embedded aedes (e.g. mqtt://localhost:1883 for Mosquitto). */
  broker: z.url({ protocol: /^mqtts?$|^wss?$/ }).optional(),
  topic_prefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('wisp'),
  data_dir: z.string().min(1).default('.wisp/gateway'),
  wait_ms: z.number().int().min(0).max(600_000).default(10_000),
  /** Accounts of the embedded broker (none = anonymous): clients may only read their own replies. */
  users: z.record(z.string().regex(/^[a-z0-9-]{1,64}$/), z.object({
    password_sha256: z.string().regex(/^[0-9a-f]{64}$/),
    role: z.enum(['client', 'board', 'admin']).default('client')
  })).default({}),
  /** Control-plane policy set (wisp, wisp-no-gate, baseline, p2c). */
  policy: z.string().default('wisp'),
  /** The gateway's relays: board id → GPIO line (kernel number), polarity and the board's profile. */
  relays: z.record(z.string().regex(/^[a-z0-9-]{1,64}$/), z.object({
    line: z.number().int().min(0).max(1023),
    active_low: z.boolean().default(false),
    profile: z.string().regex(/^[a-z0-9-]{1,64}$/)
  })).default({})
})
export type GatewayConfig = Readonly<z.infer<typeof GatewayConfigSchema>>

export const loadGatewayConfig = (file: string): GatewayConfig =>
  validateConfig(GatewayConfigSchema, readJsonFile(file, 'gateway config'), `gateway config ${file}`)
