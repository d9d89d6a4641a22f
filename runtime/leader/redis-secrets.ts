import type { Redis } from 'ioredis'
import { WispError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { fencedWrite, type FencedOp } from './redis-fence.js'
import type { SecretCipher } from './secret-cipher.js'
import type { SealedSecrets } from './secret-storage.js'
import { SecretStore } from './secret-store.js'

/**
 * Sealed secrets in the Redis hash `<ns>:secrets` (place → AES-256-GCM output, base64): the key
 * stays in each gateway's key file, never in Redis. Writes carry the leader's fencing token; a
 * refused one fails the admin request, which the client retries with the new leader.
 */
export const redisSealedSecrets = (redis: Redis, ns: string, fence: number): SealedSecrets => {
  const key = `${ns}:secrets`
  const write = async (ops: FencedOp[]): Promise<void> => {
    if (!await fencedWrite(redis, ns, fence, ops)) throw new WispError('WISP_OVERLOADED', 'this gateway no longer leads the cluster: the secret was not written; retry')
  }
  return {
    entries: async function * () { yield * Object.entries(await redis.hgetall(key)) },
    put: async (place, sealed) => { await write([['HSET', key, place, sealed]]) },
    del: async (places) => { if (places.length > 0) await write([['HDEL', key, ...places]]) },
    close: async () => {}
  }
}

/** The cluster's secrets, read (and decrypted) when this gateway is elected. */
export const openRedisSecrets = async (redis: Redis, ns: string, fence: number, cipher: SecretCipher | null, log: Logger): Promise<SecretStore> =>
  await SecretStore.load(redisSealedSecrets(redis, ns, fence), cipher, log)
