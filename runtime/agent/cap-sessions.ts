import { CAP_LIMITS, capError, checkCapCall, type CapCall, type CapResult } from '../protocol/capabilities.js'
import { MAX_MESSAGE_BYTES } from '../protocol/messages.js'

interface Session {
  /** End of the invocation's budget, on performance.now()'s scale. */
  readonly deadline: number
  readonly serve: ((call: CapCall, budgetMs: number) => Promise<CapResult>) | undefined
  calls: number
  pending: number
}

const reply = (r: CapResult): string => JSON.stringify(r.ok ? { ok: true, value: r.value } : { ok: false, code: r.error.code, message: r.error.message })

/**
 * The host side of the capability calls of one runtime's invocations. The isolate's call is
 * untrusted: its JSON is bounded, parsed and checked against the schema here, each invocation
 * may make CAP_LIMITS.callsPerInvocation calls (pendingPerInvocation at once), and every call is
 * answered by the invocation's deadline at the latest, whatever the board or gateway do.
 */
export class CapSessions {
  private readonly sessions = new Map<string, Session>()

  open (invocation: string, deadline: number, serve: ((call: CapCall, budgetMs: number) => Promise<CapResult>) | undefined): void {
    this.sessions.set(invocation, { deadline, serve, calls: 0, pending: 0 })
  }

  close (invocation: string): void { this.sessions.delete(invocation) }

  /** One call from the isolate: (invocation id, call as JSON) → reply as JSON. Never rejects. */
  async call (invocation: string, json: string): Promise<string> {
    return reply(await this.serve(invocation, json))
  }

  private async serve (invocation: string, json: string): Promise<CapResult> {
    const s = this.sessions.get(invocation)
    if (s === undefined) return capError('WISP_FORBIDDEN', 'the invocation that made this call has ended')
    if (s.serve === undefined) return capError('WISP_FORBIDDEN', 'capabilities are not available to this invocation')
    if (s.calls >= CAP_LIMITS.callsPerInvocation) return capError('WISP_CAP_LIMIT', `an invocation may make ${CAP_LIMITS.callsPerInvocation} capability calls`)
    if (s.pending >= CAP_LIMITS.pendingPerInvocation) return capError('WISP_CAP_LIMIT', `an invocation may wait for ${CAP_LIMITS.pendingPerInvocation} capability calls at once`)
    if (json.length > MAX_MESSAGE_BYTES.cap) return capError('WISP_PAYLOAD_TOO_LARGE', `the call is ${json.length} characters; the limit is ${MAX_MESSAGE_BYTES.cap}`)
    let raw: unknown
    try { raw = JSON.parse(json) } catch { return capError('WISP_BAD_PAYLOAD', 'the call is not JSON') }
    const checked = checkCapCall(raw)
    if (!checked.ok) return { ok: false, error: checked.error }
    s.calls++
    const left = s.deadline - performance.now()
    if (left <= 0) return capError('WISP_TIMEOUT', 'no time left before the deadline')
    s.pending++
    let timer: NodeJS.Timeout | undefined
    try {
      const late = new Promise<CapResult>((resolve) => {
        timer = setTimeout(() => { resolve(capError('WISP_TIMEOUT', `${checked.call.op}: no answer before the invocation's deadline`)) }, left)
      })
      const served = s.serve(checked.call, left).catch((err: unknown) => capError('WISP_FUNCTION_ERROR', `${checked.call.op} failed: ${(err as Error)?.message ?? String(err)}`))
      return await Promise.race([served, late])
    } finally {
      clearTimeout(timer)
      s.pending--
    }
  }
}
