import { DEVICE_GROUPS, SERVICE_USER } from './systemd.js'

/**
 * The one privileged thing the agent does is power the board off when the leader gates it
 * (`systemctl poweroff`, its default shutdown_command). Run as an unprivileged user, systemctl
 * asks logind, which asks polkit; these files allow exactly that action to exactly that user.
 * sudo would not do: NoNewPrivileges= stops setuid binaries.
 */
const POWER_OFF_ACTIONS = ['org.freedesktop.login1.power-off', 'org.freedesktop.login1.power-off-multiple-sessions'] as const

export const POLKIT_RULES_PATH = '/etc/polkit-1/rules.d/50-wisp-power-off.rules'
export const POLKIT_PKLA_PATH = '/etc/polkit-1/localauthority/50-local.d/50-wisp-power-off.pkla'
export const UDEV_RULES_PATH = '/etc/udev/rules.d/60-wisp-devices.rules'

/** polkit 0.106 and later (Debian 12, Raspberry Pi OS bookworm): JavaScript rules, polkit(8). */
export const polkitRules = (): string => `// Written by wisp flash: the wisp agent may power the board off, nothing else.
polkit.addRule(function (action, subject) {
  if (subject.user === "${SERVICE_USER}" && ${JSON.stringify(POWER_OFF_ACTIONS)}.indexOf(action.id) >= 0) {
    return polkit.Result.YES;
  }
});
`

/** polkit 0.105 (Debian 11): local authority files, pklocalauthority(8). */
export const polkitPkla = (): string => `# Written by wisp flash: the wisp agent may power the board off, nothing else.
[wisp power off]
Identity=unix-user:${SERVICE_USER}
Action=${POWER_OFF_ACTIONS.join(';')}
ResultAny=yes
ResultInactive=yes
ResultActive=yes
`

/** Device nodes for the groups of the unit's SupplementaryGroups= (Raspberry Pi OS ships the same; Armbian does not). */
export const udevRules = (): string => {
  const [gpio, i2c] = DEVICE_GROUPS
  return `# Written by wisp flash: I2C buses and GPIO chips for their groups, not only root.
SUBSYSTEM=="i2c-dev", GROUP="${i2c}", MODE="0660"
SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="${gpio}", MODE="0660"
`
}
