import type { Manifest } from '../protocol/messages.js'
import type { CapCall, CapResult } from '../protocol/capabilities.js'
import type { ErrorCode } from '../shared/errors.js'
import type { ExecOutcomeBase, ExecRequest, RuntimeStats } from './executor-port.js'
import type { IsolatePoolOptions } from './isolate-pool.js'

/** Messages between RuntimePool (parent) and executor-host (child), sent with advanced serialisation. */
export type HostOptions = Omit<IsolatePoolOptions, 'cache' | 'clock' | 'log'>

/** An ExecRequest whose code is omitted when the child already holds that sha256. */
export type WireRequest = Omit<ExecRequest, 'code' | 'onCap' | 'onStart' | 'onRunning' | 'onStopped'> & { readonly code?: string }

export type WireError = { readonly code: ErrorCode, readonly message: string }
export type WireOutcome =
  | (ExecOutcomeBase & { readonly ok: true, readonly result: unknown })
  | (ExecOutcomeBase & { readonly ok: false, readonly error: WireError })

/** What the host reports of its runtimes: per function (running counts as of the last report), and the heap of all its isolates (MiB). */
export interface HostState { stats: Record<string, RuntimeStats>, memMb: number }

export type ToHost =
  | { t: 'init', options: HostOptions }
  | { t: 'invoke', id: number, req: WireRequest }
  | { t: 'validate', id: number, manifest: Manifest, code: string }
  | { t: 'warm', id: number, manifest: Manifest, code: string, runtimes: number }
  | { t: 'evict', fn: string }
  | { t: 'cache-reply', id: number, value: Uint8Array | undefined }
  /** The answer to capability call `seq`. */
  | { t: 'cap-reply', seq: number, result: CapResult }

export type FromHost =
  | { t: 'ready' }
  /**
   * The invocation started to run in its runtime and may take budgetMs of wall time from now (sent again for a stretch).
   * `running` and `done` carry the host's state when its runtimes or heap changed since the last state sent (a state
   * message of its own per invocation was a share of both processes' CPU); `state` still comes on its own every 500 ms
   * and after warm, evict and validate.
   */
  | { t: 'running', id: number, budgetMs: number, state?: HostState }
  | { t: 'done', id: number, outcome: WireOutcome, state?: HostState }
  /** An invocation that ran out of time has certainly stopped (its runtime answered or was disposed). */
  | { t: 'stopped', id: number }
  | { t: 'settled', id: number, error?: WireError }
  | ({ t: 'state' } & HostState)
  | { t: 'cache-get', id: number, key: string }
  /** Invocation `id`'s handler made a capability call (checked by the host); answered by `cap-reply`. */
  | { t: 'cap', id: number, seq: number, call: CapCall, budgetMs: number }
  | { t: 'cache-put', key: string, value: Uint8Array }
  | { t: 'cache-del', key: string }
  | { t: 'log', level: 'debug' | 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown> }
