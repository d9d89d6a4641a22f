// Echo with a greeting: the smallest wisp function.
export async function handler (event, context) {
  const name = event && typeof event.name === 'string' ? event.name : 'world'
  return { greeting: `hello, ${name}`, board: context.board, requestId: context.requestId }
}
