import { createHash } from 'node:crypto'
import { stringify } from 'yaml'
import type { FlashPlan } from './options.js'
import { FIRST_BOOT_PATH, firstBootScript } from './first-boot.js'
import { POLKIT_PKLA_PATH, POLKIT_RULES_PATH, UDEV_RULES_PATH, polkitPkla, polkitRules, udevRules } from './permissions.js'
import { GATEWAY_CA_PATH } from './gateway-ca.js'
import { UNIT_NAME, systemdUnit } from './systemd.js'
import { UPGRADE_PATH_UNIT, UPGRADE_SCRIPT_PATH, UPGRADE_SERVICE, upgradePathUnit, upgradeScript, upgradeServiceUnit } from './upgrade-script.js'

/** Boards with this little memory cannot compile isolated-vm (V8 headers) without swap. */
export const SWAP_BELOW_MB = 1024

export const needsSwap = (plan: FlashPlan): boolean =>
  plan.prebuilt === undefined && plan.profile.memory_mb < SWAP_BELOW_MB && (plan.profile.arch === 'armv7l' || plan.profile.arch === 'armv6l')

export const unitOf = (plan: FlashPlan): string => systemdUnit(plan.config, plan.profile, plan.gatewayCa !== undefined ? GATEWAY_CA_PATH : undefined)

export const configJson = (plan: FlashPlan): string => JSON.stringify(plan.config, null, 2) + '\n'

/**
 * cloud-init user-data (cloud-config): files, packages, swap, then the first-boot script. It
 * holds no secret: the board config travels in wisp/board.json, which first boot moves off the
 * boot partition (cloud-init keeps a copy of user-data in /var/lib/cloud for good).
 */
export const userData = (plan: FlashPlan, packageFile: string): string => {
  const compile = plan.prebuilt === undefined
  const doc = {
    hostname: plan.hostname,
    manage_etc_hosts: true,
    // cc_mounts runs in the init stage, before runcmd, so the swap is there for the build.
    ...(needsSwap(plan) ? { swap: { filename: '/var/swap-wisp', size: 1073741824, maxsize: 1073741824 } } : {}),
    package_update: true,
    packages: ['ca-certificates', 'curl', 'xz-utils', ...(compile ? ['build-essential', 'python3'] : []), ...(plan.config.ina219 !== undefined ? ['i2c-tools'] : [])],
    write_files: [
      { path: `/etc/systemd/system/${UNIT_NAME}`, owner: 'root:root', permissions: '0644', content: unitOf(plan) },
      ...(plan.gatewayCa !== undefined ? [{ path: GATEWAY_CA_PATH, owner: 'root:root', permissions: '0644', content: plan.gatewayCa }] : []),
      { path: POLKIT_RULES_PATH, owner: 'root:root', permissions: '0644', content: polkitRules() },
      { path: POLKIT_PKLA_PATH, owner: 'root:root', permissions: '0644', content: polkitPkla() },
      { path: UDEV_RULES_PATH, owner: 'root:root', permissions: '0644', content: udevRules() },
      { path: `/etc/systemd/system/${UPGRADE_PATH_UNIT}`, owner: 'root:root', permissions: '0644', content: upgradePathUnit() },
      { path: `/etc/systemd/system/${UPGRADE_SERVICE}`, owner: 'root:root', permissions: '0644', content: upgradeServiceUnit() },
      { path: UPGRADE_SCRIPT_PATH, owner: 'root:root', permissions: '0755', content: upgradeScript() },
      ...(plan.config.ina219 !== undefined ? [{ path: '/etc/modules-load.d/wisp-i2c.conf', permissions: '0644', content: 'i2c-dev\n' }] : []),
      {
        path: FIRST_BOOT_PATH,
        owner: 'root:root',
        permissions: '0755',
        content: firstBootScript({ profile: plan.profile, packageFile, prebuilt: !compile, nodeVersion: plan.nodeVersion, dataDir: plan.config.data_dir })
      }
    ],
    runcmd: [[FIRST_BOOT_PATH]],
    final_message: `wisp board ${plan.config.id} set up after $UPTIME s`
  }
  return `#cloud-config\n# wisp board ${plan.config.id} (${plan.profile.name}), written by wisp flash.\n${stringify(doc, { lineWidth: 0 })}`
}

/**
 * NoCloud meta-data; a new instance-id makes cloud-init run again after a re-flash. It hashes
 * the config and network too, which user-data no longer carries, so a new password is a new instance.
 */
export const metaData = (plan: FlashPlan, userDataText: string): string => {
  const id = createHash('sha256').update(userDataText).update(configJson(plan)).update(networkConfig(plan) ?? '').digest('hex').slice(0, 12)
  return stringify({ 'instance-id': `wisp-${plan.config.id}-${id}`, 'local-hostname': plan.hostname })
}

/** Network config version 2 (netplan syntax): wired DHCP, and the Wi-Fi network when given. */
export const networkConfig = (plan: FlashPlan): string | undefined => {
  const w = plan.wifi
  if (w === undefined) return undefined
  return stringify({
    network: {
      version: 2,
      ethernets: { eth0: { dhcp4: true, optional: true } },
      wifis: {
        wlan0: {
          dhcp4: true,
          optional: true,
          ...(w.country !== undefined ? { 'regulatory-domain': w.country } : {}),
          'access-points': { [w.ssid]: w.password !== undefined ? { password: w.password } : {} }
        }
      }
    }
  })
}
