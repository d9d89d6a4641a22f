import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { WispError } from '../shared/errors.js'

const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * AES-256-GCM for the functions' secrets at rest. The key is 32 random bytes in a file of the
 * gateway's data folder, created (mode 0600) on first use; each value gets its own random IV,
 * and its place (`<fn>/<NAME>`) is bound in as additional data, so a stored value moved to
 * another function or name does not decrypt.
 */
export class SecretCipher {
  private constructor (private readonly key: Buffer) {}

  /** Reads the key file, or creates it (exclusively, 0600) when there is none. */
  static open (keyFile: string): SecretCipher {
    let key: Buffer
    try {
      key = readFileSync(keyFile)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new WispError('WISP_BAD_CONFIG', `cannot read the secrets key ${keyFile}: ${(err as Error).message}`)
      key = randomBytes(KEY_BYTES)
      writeFileSync(keyFile, key, { mode: 0o600, flag: 'wx' })
      chmodSync(keyFile, 0o600) // whatever the umask
    }
    if (key.length !== KEY_BYTES) throw new WispError('WISP_BAD_CONFIG', `the secrets key ${keyFile} is not ${KEY_BYTES} bytes; restore it, or remove it and set the secrets again`)
    return new SecretCipher(key)
  }

  /**
   * Reads a key file that must exist (clustered gateways share one: each is given the same
   * file, e.g. made with `openssl rand 32 > secrets.key`); WISP_BAD_CONFIG when it is missing,
   * unreadable or not 32 bytes.
   */
  static read (keyFile: string, key = 'cluster.secrets_key_file'): SecretCipher {
    let bytes: Buffer
    try { bytes = readFileSync(keyFile) } catch (err) {
      throw new WispError('WISP_BAD_CONFIG', `cannot read ${key} ${keyFile}: ${(err as Error).message}; make one with \`openssl rand 32 > FILE\` and give every gateway the same file`)
    }
    if (bytes.length !== KEY_BYTES) throw new WispError('WISP_BAD_CONFIG', `${key} ${keyFile} has ${bytes.length} bytes, not ${KEY_BYTES}; make one with \`openssl rand 32 > FILE\``)
    return new SecretCipher(bytes)
  }

  /** base64 of IV, tag and ciphertext. */
  seal (place: string, plain: string): string {
    const iv = randomBytes(IV_BYTES)
    const c = createCipheriv('aes-256-gcm', this.key, iv)
    c.setAAD(Buffer.from(place, 'utf8'))
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()])
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')
  }

  /** The plaintext, or null when the value does not decrypt (another key, tampered, moved). */
  open (place: string, sealed: string): string | null {
    const b = Buffer.from(sealed, 'base64')
    if (b.length < IV_BYTES + TAG_BYTES) return null
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, b.subarray(0, IV_BYTES))
      d.setAAD(Buffer.from(place, 'utf8'))
      d.setAuthTag(b.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
      return Buffer.concat([d.update(b.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8')
    } catch { return null }
  }
}
