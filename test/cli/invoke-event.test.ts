import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventText } from '../../runtime/cli/commands/invoke.js'

t.test('wisp invoke takes the event from the argument, a file, or standard input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wisp-event-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'event.json')
  writeFileSync(file, '{"name":"file"}\n')
  t.equal(eventText('{"a":1}', undefined), '{"a":1}')
  t.equal(eventText(undefined, undefined), '')
  t.equal(eventText(undefined, file), '{"name":"file"}')
  t.equal(eventText(undefined, '-', (f) => { t.equal(f, 0, 'standard input is descriptor 0'); return ' {"name":"stdin"} ' }), '{"name":"stdin"}')
  t.throws(() => eventText('{}', file), { code: 'WISP_BAD_PAYLOAD', message: /not both/ })
  t.throws(() => eventText(undefined, join(dir, 'missing.json')), { code: 'WISP_BAD_PAYLOAD', message: /cannot read the event from .*missing\.json/ })
})
