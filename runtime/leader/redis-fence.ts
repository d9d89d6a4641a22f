import type { Redis } from 'ioredis'

/** Applies a list of writes only while `KEYS[1]` (the last fencing token handed out) is still this leader's. */
export const FENCED = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for _, op in ipairs(cjson.decode(ARGV[2])) do redis.call(unpack(op)) end
return 1`

/** One Redis command, e.g. `['HSET', key, field, value]`. */
export type FencedOp = Array<string | number>

/** The key of the last fencing token handed out (lease.ts INCRements it at each election). */
export const fenceKey = (ns: string): string => `${ns}:fence`

/**
 * Applies `ops` atomically if `fence` is still the newest token, else none of them: a leader
 * deposed without knowing it yet cannot overwrite what its successor writes. True when applied.
 */
export const fencedWrite = async (redis: Redis, ns: string, fence: number, ops: readonly FencedOp[]): Promise<boolean> =>
  Number(await redis.eval(FENCED, 1, fenceKey(ns), String(fence), JSON.stringify(ops))) === 1
