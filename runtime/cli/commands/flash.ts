import type { Command } from 'commander'
import type { FlashInput } from '../../flash/options.js'
import { fail } from '../errors.js'
import { NAME_RULE } from '../../protocol/topics.js'

export const registerFlash = (program: Command): void => {
  program.command('flash')
    .description('write a board\'s first-boot bundle (packed wisp, board config, hardened systemd unit, cloud-init user-data) and print its gateway account')
    .requiredOption('--profile <name>', 'board profile (see `wisp boards`)')
    .requiredOption('--id <id>', `board id, ${NAME_RULE}`)
    .requiredOption('--broker <url>', 'MQTT broker the board joins, e.g. mqtts://gateway.local:8883')
    .option('--insecure', 'allow plain mqtt:// or ws:// to a broker that is not on loopback (the password travels unencrypted)')
    .option('--ca <pem>', 'CA certificate that signed the broker\'s certificate, for a gateway with a private CA')
    .option('--out <dir>', 'write the bundle into this (empty) folder, to copy onto the boot partition')
    .option('--boot <dir>', 'write straight into a mounted SD-card boot partition')
    .option('--username <name>', 'MQTT user name; must be the board id (the default)')
    .option('--password <secret>', 'MQTT password (default: a random one, printed only as a hash)')
    .option('--wifi-ssid <ssid>', 'Wi-Fi network to join')
    .option('--wifi-password <secret>', 'Wi-Fi WPA2 passphrase')
    .option('--wifi-country <CC>', 'Wi-Fi regulatory domain, e.g. GB')
    .option('--hostname <name>', 'host name (default wisp-<id>)')
    .option('--http-host <ip>', 'address the board page listens on (default 127.0.0.1; 0.0.0.0 for every interface)')
    .option('--http-port <port>', 'status page port on the board (default 8081)')
    .option('--data-dir <dir>', 'agent data folder on the board (default /var/lib/wisp/board)')
    .option('--ina219-bus <n>', 'I2C bus of the INA219 power meter (e.g. 1 for /dev/i2c-1)')
    .option('--ina219-address <addr>', 'INA219 I2C address, 0x40-0x4f (default 0x40)')
    .option('--shunt-ohm <ohm>', 'INA219 shunt resistor in ohms (default 0.1)')
    .option('--max-current <A>', 'largest expected current in amperes (default 3.2)')
    .option('--relay-line <n>', 'GPIO line of the relay that powers this board')
    .option('--relay-active-low', 'the relay closes when the line is low')
    .option('--prebuilt <dir>', 'node_modules built once on a board of the same architecture (skips compiling on the board)')
    .option('--package <tgz>', 'ship this packed wisp tarball instead of packing this project')
    .option('--node-version <v>', 'Node.js 20 release to install when the image has none')
    .option('--lockfile <file>', 'package-lock.json for npm ci on the board (default: this project\'s)')
    .option('--force', 'write into a non-empty folder, replacing an earlier bundle')
    .action(async (o: FlashInput) => {
      try {
        const { flash } = await import('../../flash/flash.js')
        const r = await flash(o, { progress: (line) => { process.stderr.write(line + '\n') } })
        // stdout carries only the gateway's "users" entry, so it can be piped into a config tool.
        process.stdout.write(JSON.stringify(r.gatewayUser, null, 2) + '\n')
      } catch (err) { fail(err) }
    })
}
