import t from 'tap'
import { readFileSync } from 'node:fs'
import { GatewayConfigSchema } from '../../runtime/leader/gateway-config.js'

const doc = readFileSync(new URL('../../docs/gateway-config.md', import.meta.url), 'utf8')

t.test('the documented gateway config example is valid, and every key is documented', async (t) => {
  const example = /```json\n([\s\S]*?)\n```/.exec(doc)?.[1]
  t.ok(example, 'the page has a JSON example')
  const parsed = GatewayConfigSchema.safeParse(JSON.parse(example ?? '{}'))
  t.ok(parsed.success, parsed.success ? 'valid' : JSON.stringify(parsed.error.issues))
  t.ok(GatewayConfigSchema.safeParse({}).success, 'an empty file is valid, as the page says')
  for (const key of Object.keys(GatewayConfigSchema.shape)) t.match(doc, new RegExp(`\\| [^|]*\`${key}\``), `${key} is in the table`)
})
