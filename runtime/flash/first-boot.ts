import type { BoardProfile } from '../../boards/schema.js'
import { UPGRADE_DIR } from '../shared/install-dir.js'
import { LOCKFILE } from './lockfile.js'
import { UPGRADE_PATH_UNIT, UPGRADE_SERVICE } from './upgrade-script.js'
import { CONFIG_DIR, CONFIG_PATH, DEVICE_GROUPS, INSTALL_DIR, NODE_BIN, SERVICE_USER, STATE_DIR, UNIT_NAME } from './systemd.js'

export const FIRST_BOOT_PATH = '/usr/local/lib/wisp/first-boot.sh'
export const PREBUILT_FILE = 'prebuilt-node_modules.tgz'
/** The gateway's account entry for the board, beside the bundle with --out; only a hash, erased all the same. */
export const GATEWAY_USER_FILE = 'gateway-user.json'
/** Keeps cloud-init from rendering the network again once network-config has left the boot partition. */
export const CLOUD_NETWORK_OFF = '/etc/cloud/cloud.cfg.d/99-wisp-network.cfg'
export const STEPS = ['user', 'secrets', 'node', 'install', 'unit'] as const

// Official Node.js builds cover armv7l, arm64 and x64; armv6l (Pi Zero W, Pi 1) only has
// the project's unofficial builds.
const NODE_DIST: Record<BoardProfile['arch'], { arch: string, base: string }> = {
  armv6l: { arch: 'armv6l', base: 'https://unofficial-builds.nodejs.org/download/release' },
  armv7l: { arch: 'armv7l', base: 'https://nodejs.org/dist' },
  aarch64: { arch: 'arm64', base: 'https://nodejs.org/dist' },
  x86_64: { arch: 'x64', base: 'https://nodejs.org/dist' }
}

export interface FirstBootInput {
  readonly profile: BoardProfile
  readonly packageFile: string
  readonly prebuilt: boolean
  readonly nodeVersion: string
  readonly dataDir: string
}

const install = (i: FirstBootInput): string => i.prebuilt
  ? `  say "using the prebuilt node_modules"
  tar -xzf "$BUNDLE/${PREBUILT_FILE}" -C "$NEW" --no-same-owner`
  : `  # npm ci installs exactly the shipped lockfile, and runs the native builds as the service
  # user rather than root; the result is then handed back to root, read-only to the agent.
  cp "$BUNDLE/${LOCKFILE}" "$NEW/${LOCKFILE}"
  say "npm ci as $U (compiles isolated-vm, i2c-bus and epoll; tens of minutes on a small board)"
  work=$(mktemp -d)
  chown -R "$U" "$NEW" "$work"
  (cd "$NEW" && runuser -u "$U" -- env HOME="$work" npm_config_cache="$work/npm" PATH="$R/usr/local/bin:$PATH" \\
    npm ci --omit=dev --no-audit --no-fund --loglevel=error)
  chown -R 0:0 "$NEW"
  rm -rf "$work"`

/**
 * The script cloud-init runs once: the service account, the secrets off the boot partition,
 * Node.js 20, the wisp package, the agent's unit. Safe to re-run. WISP_ROOT prefixes every
 * path and arguments pick steps, so a step can be tried in a scratch folder.
 */
export const firstBootScript = (i: FirstBootInput): string => {
  const dist = NODE_DIST[i.profile.arch]
  const node = `node-v${i.nodeVersion}-linux-${dist.arch}`
  return `#!/bin/sh
# wisp first boot for a ${i.profile.name} (${i.profile.arch}). Written by wisp flash; safe to re-run.
# Usage: first-boot.sh [STEP...], steps ${STEPS.join(', ')} (all, in this order, by default).
# WISP_ROOT prefixes every path; WISP_USER names the service account (default ${SERVICE_USER}).
set -eu
R="\${WISP_ROOT:-}"
U="\${WISP_USER:-${SERVICE_USER}}"
say() { echo "wisp first boot: $*"; }
# Overwrite, then unlink. This clears the file system's copy; an SD card's controller may still
# hold the old blocks (wear levelling), so treat a card that carried secrets as carrying them.
erase() {
  if shred --iterations=1 --zero "$1" 2>/dev/null; then rm -f "$1"; return 0; fi
  size=$(wc -c <"$1")
  dd if=/dev/zero of="$1" bs=1 count=$((size)) conv=notrunc 2>/dev/null || true
  rm -f "$1"
}

# The bundle sits on the boot partition (Raspberry Pi OS mounts it at /boot/firmware).
BUNDLE=""
for d in "$R/boot/firmware/wisp" "$R/boot/wisp" "$R/media/cidata/wisp"; do
  if [ -f "$d/${i.packageFile}" ]; then BUNDLE="$d"; break; fi
done
[ -n "$BUNDLE" ] || { say "no wisp bundle (${i.packageFile}) on the boot partition"; exit 1; }
BOOT="\${BUNDLE%/wisp}"

# 1. The service account and the groups that own I2C buses and GPIO chips.
step_user() {
  for g in ${DEVICE_GROUPS.join(' ')}; do getent group "$g" >/dev/null || groupadd --system "$g"; done
  id -u "$U" >/dev/null 2>&1 || useradd --system --user-group --home-dir ${STATE_DIR} --no-create-home --shell /usr/sbin/nologin "$U"
}

# 2. Secrets off the FAT boot partition (readable by anyone who holds the card) into ${CONFIG_DIR}.
# First, so that a later step failing leaves no password behind.
step_secrets() {
  G=$(id -gn "$U")
  install -d -m 0750 -g "$G" "$R${CONFIG_DIR}"
  if [ -f "$BUNDLE/board.json" ]; then
    say "moving the board config (MQTT password) to ${CONFIG_PATH}"
    install -m 0600 -o "$U" -g "$G" "$BUNDLE/board.json" "$R${CONFIG_PATH}.new"
    mv -f "$R${CONFIG_PATH}.new" "$R${CONFIG_PATH}"
    erase "$BUNDLE/board.json"
  fi
  [ -f "$R${CONFIG_PATH}" ] || { say "no board config in $BUNDLE or ${CONFIG_PATH}"; exit 1; }
  if [ -f "$BOOT/network-config" ]; then
    # cloud-init has already rendered it (init-local stage, before this script); a seed
    # without it must not make cloud-init render the network again on a later boot.
    say "moving network-config (Wi-Fi passphrase) to ${CONFIG_DIR}/network-config"
    install -d -m 0755 "$R${CLOUD_NETWORK_OFF.slice(0, CLOUD_NETWORK_OFF.lastIndexOf('/'))}"
    printf 'network: {config: disabled}\\n' >"$R${CLOUD_NETWORK_OFF}"
    install -m 0600 "$BOOT/network-config" "$R${CONFIG_DIR}/network-config"
    erase "$BOOT/network-config"
  fi
  if [ -f "$BOOT/${GATEWAY_USER_FILE}" ]; then erase "$BOOT/${GATEWAY_USER_FILE}"; fi
  sync
}

# 3. Node.js 20: keep the image's own if it has one, else the official build, checked against SHASUMS256.
step_node() {
  if node --version 2>/dev/null | grep -q '^v20\\.'; then :; else
    say "installing Node.js v${i.nodeVersion} (${dist.arch})"
    tmp=$(mktemp -d)
    curl -fsSL --retry 5 -o "$tmp/${node}.tar.xz" "${dist.base}/v${i.nodeVersion}/${node}.tar.xz"
    curl -fsSL --retry 5 -o "$tmp/SHASUMS256.txt" "${dist.base}/v${i.nodeVersion}/SHASUMS256.txt"
    (cd "$tmp" && grep " ${node}.tar.xz\\$" SHASUMS256.txt | sha256sum -c -)
    tar -xJf "$tmp/${node}.tar.xz" -C "$R/usr/local" --strip-components=1 --no-same-owner
    rm -rf "$tmp"
  fi
  [ -x "$R${NODE_BIN}" ] || ln -sf "$(command -v node)" "$R${NODE_BIN}"
}

# 4. The wisp package and its dependencies (native modules built here, or shipped prebuilt).
step_install() {
  say "installing wisp into ${INSTALL_DIR}"
  NEW="$R${INSTALL_DIR}.new"
  rm -rf "$NEW"
  mkdir -p "$NEW"
  tar -xzf "$BUNDLE/${i.packageFile}" -C "$NEW" --strip-components=1 --no-same-owner
${install(i)}
  rm -rf "$R${INSTALL_DIR}.old"
  [ ! -d "$R${INSTALL_DIR}" ] || mv "$R${INSTALL_DIR}" "$R${INSTALL_DIR}.old"
  mv "$NEW" "$R${INSTALL_DIR}"
  rm -rf "$R${INSTALL_DIR}.old"
}

# 5. The agent, started now and on every boot. polkit lets it power the board off (see the rules).
step_unit() {
  G=$(id -gn "$U")
  install -d -m 0750 -o "$U" -g "$G" "$R${STATE_DIR}" "$R${i.dataDir}"
  install -d -m 0700 -o "$U" -g "$G" "$R${UPGRADE_DIR}"
  if command -v apt-get >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends polkitd 2>/dev/null || apt-get install -y --no-install-recommends policykit-1 ||
      say "no polkit: the agent cannot power the board off"
  fi
  modprobe i2c-dev 2>/dev/null || true
  udevadm control --reload 2>/dev/null || true
  udevadm trigger --subsystem-match=i2c-dev --subsystem-match=gpio 2>/dev/null || true
  systemctl daemon-reload
  systemctl enable ${UNIT_NAME}
  # Upgrades: the agent writes a request, root's ${UPGRADE_SERVICE} installs it (upgrade.sh).
  systemctl enable --now ${UPGRADE_PATH_UNIT}
  systemctl restart ${UNIT_NAME}
  say "done: $(systemctl is-active ${UNIT_NAME})"
}

for s in \${*:-${STEPS.join(' ')}}; do
  case "$s" in
    ${STEPS.join('|')}) "step_$s" ;;
    *) say "unknown step $s (${STEPS.join(', ')})"; exit 2 ;;
  esac
done
`
}
