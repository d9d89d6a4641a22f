// The cost benchmark's workerd baseline: the same trivial function as examples/functions/hello.js,
// as a workerd `fetch` handler answering JSON.
export default {
/* global Response, crypto */
  async fetch (request) {
    let event = null
    try { event = await request.json() } catch { event = null }
    const name = event && typeof event.name === 'string' ? event.name : 'world'
    return Response.json({ greeting: `hello, ${name}`, board: 'workerd', requestId: crypto.randomUUID() })
  }
}
