import t from 'tap'
import { spawnSync } from 'node:child_process'
import { shellVersionNameCheck, versionNameFault } from '../../runtime/shared/version-name.js'

/** Names either check must refuse or accept alike; the expected verdict is written out so a change of rule shows here. */
const TABLE: ReadonlyArray<readonly [name: string, fault: 'bad' | 'reserved' | null]> = [
  ['1.2.3', null], ['2.0.0-rc.1+build.7', null], ['v2', null], ['a', null], ['A'.repeat(64), null], ['0', null],
  ['A'.repeat(65), 'bad'], ['', 'bad'], ['.hidden', 'bad'], ['-n', 'bad'], ['+1', 'bad'], ['../../etc', 'bad'],
  ['a/b', 'bad'], ['a b', 'bad'], ['a\nb', 'bad'], ['1.0\n', 'bad'], ['é', 'bad'], ['1_0', 'bad'], ['a\\b', 'bad'], ["a'b", 'bad'], ['$(id)', 'bad'], ['*', 'bad'],
  ['flashed', 'reserved'], ['previous', 'reserved'], ['Flashed', null], ['previous1', null]
]

/** The generated shell check run on `name` by `shell`: the fault it reports, or null when it lets the name through. */
const shellFault = (shell: string, name: string): 'bad' | 'reserved' | null => {
  const script = `fail() { echo "$1"; exit 1; }\nV="$1"\n${shellVersionNameCheck('V', 'fail')}\necho ok\n`
  const r = spawnSync(shell, ['-c', script, 'check', name], { encoding: 'utf8' })
  const out = r.stdout.trim()
  if (r.status === 0 && out === 'ok') return null
  if (r.status === 1 && out === 'bad version name') return 'bad'
  if (r.status === 1 && out === `version name ${name} is reserved`) return 'reserved'
  throw new Error(`${shell} gave status ${String(r.status)}: ${out} ${r.stderr}`)
}

t.test('the TypeScript check and the generated shell check accept and refuse the same names', async (t) => {
  for (const [name, fault] of TABLE) {
    t.equal(versionNameFault(name), fault, `TypeScript: ${JSON.stringify(name)}`)
    for (const shell of ['bash', 'sh']) t.equal(shellFault(shell, name), fault, `${shell}: ${JSON.stringify(name)}`)
  }
})

t.test('the shell check is only generated for plain shell names', async (t) => {
  t.throws(() => shellVersionNameCheck('V; rm', 'fail'))
  t.throws(() => shellVersionNameCheck('V', 'fail x'))
})
