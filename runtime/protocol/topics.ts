import { WispError } from '../shared/errors.js'

/**
 * Names (`<fn>`, `<client>`, `<id>`, account names) and request ids, as fixed by the public contract.
 * `constructor` is the one such name that plain objects already answer to (Object.prototype), so
 * no function, client, board or account may take it.
 */
export const NAME_RE = /^(?!constructor$)[a-z0-9-]{1,64}$/
export const NAME_RULE = '1-64 of [a-z0-9-], not "constructor"'
export const REQ_RE = /^[A-Za-z0-9_-]{1,64}$/
export const SHA256_RE = /^[0-9a-f]{64}$/

/** A board's channels: gossip, runs in, results out, control in, capability requests out and their replies in. */
export type BoardChannel = 'state' | 'run' | 'done' | 'control' | 'cap' | 'cap-reply'
const BOARD_CHANNELS: readonly string[] = ['state', 'run', 'done', 'control', 'cap', 'cap-reply']

export type ParsedTopic =
  | { kind: 'invoke', fn: string, client?: string, req?: string }
  | { kind: 'result', client: string, fn: string, req: string }
  | { kind: 'function', fn: string }
  | { kind: 'code', sha256: string }
  | { kind: 'board', id: string, channel: BoardChannel }
  | { kind: 'leader-state' }

const bad = (topic: string, why: string): WispError =>
  new WispError('WISP_BAD_PAYLOAD', `bad topic "${topic.slice(0, 200)}": ${why}`)

const name = (topic: string, what: string, s: string | undefined): string => {
  if (s === undefined || !NAME_RE.test(s)) throw bad(topic, `${what} must be ${NAME_RULE}`)
  return s
}

/** Builds and parses every topic of the contract under one prefix (default `wisp`). */
export class Topics {
  readonly prefix: string
  constructor (prefix = 'wisp') {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) throw new WispError('WISP_BAD_CONFIG', `topic prefix "${prefix}" must be 1-32 of [A-Za-z0-9_-]`)
    this.prefix = prefix
  }

  invoke (fn: string, client?: string, req?: string): string {
    return client === undefined ? `${this.prefix}/invoke/${fn}` : `${this.prefix}/invoke/${fn}/${client}/${req ?? ''}`
  }

  result (client: string, fn: string, req: string): string { return `${this.prefix}/result/${client}/${fn}/${req}` }
  resultsOf (client: string): string { return `${this.prefix}/result/${client}/` }
  fn (name: string): string { return `${this.prefix}/functions/${name}` }
  code (sha256: string): string { return `${this.prefix}/code/${sha256}` }
  board (id: string, channel: BoardChannel): string { return `${this.prefix}/boards/${id}/${channel}` }
  leaderState (): string { return `${this.prefix}/leader/state` }
  /** The grid's carbon intensity (any client allowed to publish there; admins by default). */
  gridCarbon (): string { return `${this.prefix}/grid/carbon` }
  /** Demand response: the cluster power cap (admins by default). */
  gridCap (): string { return `${this.prefix}/grid/cap` }
  /** Dead letters: triggered invocations of `fn` that failed (after the normal retries) or were refused. */
  dead (fn: string): string { return `${this.prefix}/dead/${fn}` }

  // Subscription filters (MQTT 3.1.1 §4.7: '+' one level, '#' the rest).
  get invokeFilter (): string { return `${this.prefix}/invoke/#` }
  get functionsFilter (): string { return `${this.prefix}/functions/+` }
  boardFilter (channel: BoardChannel): string { return `${this.prefix}/boards/+/${channel}` }

  /** Parses a topic of the contract; throws WISP_BAD_PAYLOAD naming what is wrong. */
  parse (topic: string): ParsedTopic {
    const parts = topic.split('/')
    if (parts[0] !== this.prefix) throw bad(topic, `does not start with "${this.prefix}/"`)
    const [, kind, ...rest] = parts
    switch (kind) {
      case 'invoke': {
        if (rest.length === 1) return { kind: 'invoke', fn: name(topic, 'function name', rest[0]) }
        if (rest.length !== 3) throw bad(topic, 'expected invoke/<fn> or invoke/<fn>/<client>/<req>')
        const req = rest[2] ?? ''
        if (!REQ_RE.test(req)) throw bad(topic, 'request id must be 1-64 of [A-Za-z0-9_-]')
        return { kind: 'invoke', fn: name(topic, 'function name', rest[0]), client: name(topic, 'client', rest[1]), req }
      }
      case 'result': {
        if (rest.length !== 3) throw bad(topic, 'expected result/<client>/<fn>/<req>')
        const req = rest[2] ?? ''
        if (!REQ_RE.test(req)) throw bad(topic, 'request id must be 1-64 of [A-Za-z0-9_-]')
        return { kind: 'result', client: name(topic, 'client', rest[0]), fn: name(topic, 'function name', rest[1]), req }
      }
      case 'functions':
        if (rest.length !== 1) throw bad(topic, 'expected functions/<fn>')
        return { kind: 'function', fn: name(topic, 'function name', rest[0]) }
      case 'code':
        if (rest.length !== 1 || !SHA256_RE.test(rest[0] ?? '')) throw bad(topic, 'expected code/<sha256 in lower-case hex>')
        return { kind: 'code', sha256: rest[0] as string }
      case 'boards': {
        const ch = rest[1]
        if (rest.length !== 2 || ch === undefined || !BOARD_CHANNELS.includes(ch)) throw bad(topic, 'expected boards/<id>/(state|run|done|control|cap|cap-reply)')
        return { kind: 'board', id: name(topic, 'board id', rest[0]), channel: ch as BoardChannel }
      }
      case 'leader':
        if (rest.length === 1 && rest[0] === 'state') return { kind: 'leader-state' }
        throw bad(topic, 'expected leader/state')
      default:
        throw bad(topic, `unknown kind "${String(kind)}"`)
    }
  }
}
