import t from 'tap'
import { CloseList } from '../../runtime/board/close-list.js'

t.test('closes newest first, every part even when one fails, and only once', async (t) => {
  const list = new CloseList()
  const closed: string[] = []
  for (const name of ['transport', 'store', 'executor', 'agent']) {
    list.add(async () => {
      closed.push(name)
      if (name === 'executor') throw new Error('executor would not close')
    })
  }
  const failures = await list.closeAll()
  t.same(closed, ['agent', 'executor', 'store', 'transport'], 'reverse order of opening')
  t.equal(failures.length, 1)
  t.match(failures[0], { message: 'executor would not close' })
  t.same(await list.closeAll(), [], 'a second call closes nothing')
  t.same(closed, ['agent', 'executor', 'store', 'transport'])
})
