// Bound to sensor readings: wisp deploy fan ./examples/sensor-fan/fan.js --on 'sensors/+/temp' --publishes 'actuators/#'
// A trigger's event is {topic, payload, qos, retain, receivedAt}; payload is parsed JSON when it parses.
export async function handler (event, context) {
  const room = event.topic.split('/')[1]
  const celsius = Number(event.payload?.c)
  const on = celsius >= 28
  await context.publish(`actuators/${room}/fan`, { on, celsius }, { qos: 1 })
  // Readings seen per room, kept by the gateway (survives its restart). Runs at once race: last write wins.
  const seen = ((await context.kv.get(`seen/${room}`)) ?? 0) + 1
  await context.kv.put(`seen/${room}`, seen)
  return { room, on, seen }
}
