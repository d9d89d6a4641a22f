import type { Completion, LeaderOptions } from '../../runtime/leader/leader.js'
import { TriggerRunner } from '../../runtime/leader/triggers.js'
import { systemClock, type Clock } from '../../runtime/shared/clock.js'
import { silentLogger } from '../../runtime/shared/log.js'
import { MqttTransport } from '../../runtime/transport/mqtt-transport.js'
import type { Transport } from '../../runtime/transport/transport.js'
import { leaderRig, type LeaderRig } from './leader-rig.js'
import { TestClient } from './mqtt.js'

export interface TriggerRig {
  readonly rig: LeaderRig
  /** The trigger runner now running (a new one after restart()). */
  readonly runner: TriggerRunner
  /** Every completion the leader emitted, in order. */
  readonly completions: Completion[]
  /** A client subscribed to `wisp/dead/+`. */
  readonly dead: TestClient
  /** A client for publishing sensor messages. */
  readonly sensor: TestClient
  /** Stops the trigger runner and starts a fresh one (a gateway restart, for the triggers). */
  restart: () => Promise<void>
}

/**
 * The leader rig (aedes on 127.0.0.1, registry, leader) plus the trigger runner, as the gateway
 * composes them. With `overMqtt` the runner speaks to the broker as a real MQTT client
 * (`leader-triggers`), as with an external broker, so its subscriptions are visible to it.
 */
export const triggerRig = async (
  t: { teardown: (fn: () => unknown) => void },
  o: { clock?: Clock, options?: Partial<LeaderOptions>, overMqtt?: boolean } = {}
): Promise<TriggerRig> => {
  const rig = await leaderRig({ clock: o.clock, options: o.options })
  const transport: Transport = o.overMqtt === true ? await MqttTransport.open({ url: rig.broker.url, clientId: 'leader-triggers', reconnect: false }) : rig.transport
  const make = (): TriggerRunner => new TriggerRunner({ transport, topics: rig.topics, registry: rig.registry, leader: rig.leader, clock: o.clock ?? systemClock, log: silentLogger })
  let runner = make()
  await runner.start()
  const completions: Completion[] = []
  rig.leader.onCompletion((c) => completions.push(c))
  const dead = await TestClient.connect(rig.broker.url)
  await dead.sub('wisp/dead/+')
  const sensor = await TestClient.connect(rig.broker.url)
  t.teardown(async () => {
    await runner.stop()
    await dead.close(); await sensor.close()
    if (transport !== rig.transport) await transport.close()
    await rig.close()
  })
  return {
    rig, completions, dead, sensor,
    get runner () { return runner },
    restart: async () => { await runner.stop(); runner = make(); await runner.start() }
  }
}
