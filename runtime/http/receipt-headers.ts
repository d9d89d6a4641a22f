import type { Receipt } from '../protocol/messages.js'

/** The receipt of a reply as `X-Wisp-*` response headers (names in lower case, as node:http sends them). */
export const receiptHeaders = (r: Receipt): Record<string, string> => ({
  'x-wisp-request-id': r.request_id,
  'x-wisp-board': r.board,
  'x-wisp-attempt': String(r.attempt),
  'x-wisp-cold': String(r.cold),
  'x-wisp-queue-ms': String(r.queue_ms),
  'x-wisp-run-ms': String(r.run_ms),
  'x-wisp-total-ms': String(r.total_ms),
  'x-wisp-energy-mj': String(r.energy_mj)
})
