// The end-to-end baseline's responder: a process of its own (as a board is) that answers
// every request on bench/echo/req/<id> with the same payload on bench/echo/res/<id>, through
// the same broker with the same client library, QoS and TCP_NODELAY as the board agent.
// Usage: node --import tsx test/bench/lib/echo-process.ts <mqtt url>; sends 'ready' over IPC.
import mqtt from 'mqtt'
import { noDelay } from '../../../runtime/transport/mqtt-transport.js'

const url = process.argv[2]
if (url === undefined) throw new Error('usage: echo-process.ts <mqtt url>')
const echo = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
noDelay(echo)
await echo.subscribeAsync('bench/echo/req/+', { qos: 1 })
echo.on('message', (topic, payload) => { void echo.publishAsync(`bench/echo/res/${topic.slice('bench/echo/req/'.length)}`, payload, { qos: 1 }) })
process.send?.('ready')
process.on('disconnect', () => { void echo.endAsync().then(() => process.exit(0)) })
