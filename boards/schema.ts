import { z } from 'zod'

/** A board model. Every figure names its source in `sources`. */
export const ProfileSchema = z.object({
  name: z.string().regex(/^[a-z0-9-]{1,64}$/),
  model: z.string().min(1),
  arch: z.enum(['armv6l', 'armv7l', 'aarch64', 'x86_64']),
  cores: z.number().int().min(1).max(64),
  memory_mb: z.number().int().min(64),
  /** Memory the agent may give to isolates (the rest is OS, Node and the agent). */
  runtime_budget_mb: z.number().int().min(16),
  idle_w: z.number().positive(),
  peak_w: z.number().positive(),
  boot_s: z.number().min(0),
  shutdown_s: z.number().min(0),
  /** Single-core speed relative to a Raspberry Pi 4B (Cortex-A72 @ 1.5 GHz) = 1. */
  speed: z.number().positive().max(10),
  sample_hz: z.number().positive().max(1000).default(10),
  gateable: z.boolean().default(true),
  /**
   * Keep a second isolate host started and idle, to take over at once when the live one dies.
   * It costs a Node process (about 45 MB on x86-64); unset, a board has one when it has at least
   * EXTRA_HOST_MIN_MEMORY_MB (see boards/extra-hosts.ts).
   */
  standby_host: z.boolean().optional(),
  /**
   * Run the functions this board measured as long in a second isolate host with a lower OS
   * priority, so they yield the CPU to short ones. It costs a Node process (about 45 MB on
   * x86-64); unset, a board has one when it has at least EXTRA_HOST_MIN_MEMORY_MB (see
   * boards/extra-hosts.ts).
   */
  low_priority_host: z.boolean().optional(),
  sources: z.record(z.string(), z.string().min(1))
}).refine((p) => p.peak_w >= p.idle_w, { message: 'peak_w must be >= idle_w', path: ['peak_w'] })
  .refine((p) => p.runtime_budget_mb < p.memory_mb, { message: 'runtime_budget_mb must be below memory_mb', path: ['runtime_budget_mb'] })
export type BoardProfile = Readonly<z.infer<typeof ProfileSchema>>

const name = z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be 1-64 of [a-z0-9-]')

/** One installed board. */
export const BoardConfigSchema = z.object({
  id: name,
  profile: name,
  broker: z.url({ protocol: /^mqtts?$|^wss?$/ }),
  /** Other gateways of a cluster: after a lost connection the board tries `broker`, then these, in turn. */
  fallback_brokers: z.array(z.url({ protocol: /^mqtts?$/ })).max(8).default([]),
  username: z.string().optional(),
  password: z.string().optional(),
  /** CA certificate (PEM file) to trust for an mqtts:// broker with a private certificate. */
  ca_file: z.string().min(1).optional(),
  topic_prefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('wisp'),
  data_dir: z.string().min(1).default('.wisp/board'),
  http_port: z.number().int().min(0).max(65535).default(8081),
  /** The board page listens on loopback unless an interface is configured (flashed boards set 0.0.0.0). */
  http_host: z.string().default('127.0.0.1'),
  /** Where others reach the status page; defaults to http://<hostname>:<http_port>/ */
  status_url: z.string().optional(),
  gossip_ms: z.number().int().min(50).max(60_000).default(1000),
  keepalive_s: z.number().int().min(1).max(600).default(3),
  max_event_bytes: z.number().int().min(1024).max(2 * 1024 * 1024).default(256 * 1024),
  queue_limit: z.number().int().min(1).max(100_000).default(256),
  /** Invocations run at once; the rest wait, highest response ratio first. Default: the profile's cores. */
  run_slots: z.number().int().min(1).max(4096).optional(),
  /** false: one isolate host for every function, even where the profile has a low-priority host (true: one even where it has not). */
  low_priority_host: z.boolean().optional(),
  shutdown_command: z.array(z.string()).default(['systemctl', 'poweroff']),
  ina219: z.object({
    bus: z.number().int().min(0).max(255),
    address: z.number().int().min(0x40).max(0x4f),
    shunt_ohm: z.number().positive().default(0.1),
    max_current_a: z.number().positive().default(3.2)
  }).optional(),
  relay: z.object({
    line: z.number().int().min(0).max(1023),
    active_low: z.boolean().default(false)
  }).optional(),
  /** Simulation only: emulate the profile's speed and cores, and model the INA219 at register level. */
  sim: z.object({
    emulate_speed: z.boolean().default(true),
    ina219: z.boolean().default(true)
  }).optional()
})
export type BoardConfig = Readonly<z.infer<typeof BoardConfigSchema>>
