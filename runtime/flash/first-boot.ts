import type { BoardProfile } from '../../boards/schema.js'
import { CONFIG_PATH, INSTALL_DIR, NODE_BIN, UNIT_NAME } from './systemd.js'

export const FIRST_BOOT_PATH = '/usr/local/lib/wisp/first-boot.sh'
export const PREBUILT_FILE = 'prebuilt-node_modules.tgz'

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
}

/** The script cloud-init runs once: Node.js 20, the wisp package, the agent's unit. Safe to re-run. */
export const firstBootScript = (i: FirstBootInput): string => {
  const dist = NODE_DIST[i.profile.arch]
  const node = `node-v${i.nodeVersion}-linux-${dist.arch}`
  return `#!/bin/sh
# wisp first boot for a ${i.profile.name} (${i.profile.arch}). Written by wisp flash; safe to re-run.
set -eu
say() { echo "wisp first boot: $*"; }

# The bundle sits on the boot partition (Raspberry Pi OS mounts it at /boot/firmware).
BUNDLE=""
for d in /boot/firmware/wisp /boot/wisp /media/cidata/wisp; do
  if [ -f "$d/${i.packageFile}" ]; then BUNDLE="$d"; break; fi
done
[ -n "$BUNDLE" ] || { say "no wisp bundle (${i.packageFile}) on the boot partition"; exit 1; }

# 1. Node.js 20: keep the image's own if it has one, else the official build, checked against SHASUMS256.
if ! node --version 2>/dev/null | grep -q '^v20\\.'; then
  say "installing Node.js v${i.nodeVersion} (${dist.arch})"
  tmp=$(mktemp -d)
  curl -fsSL --retry 5 -o "$tmp/${node}.tar.xz" "${dist.base}/v${i.nodeVersion}/${node}.tar.xz"
  curl -fsSL --retry 5 -o "$tmp/SHASUMS256.txt" "${dist.base}/v${i.nodeVersion}/SHASUMS256.txt"
  (cd "$tmp" && grep " ${node}.tar.xz\\$" SHASUMS256.txt | sha256sum -c -)
  tar -xJf "$tmp/${node}.tar.xz" -C /usr/local --strip-components=1 --no-same-owner
  rm -rf "$tmp"
fi
[ -x ${NODE_BIN} ] || ln -sf "$(command -v node)" ${NODE_BIN}

# 2. The wisp package and its dependencies (native modules built here, or shipped prebuilt).
say "installing wisp into ${INSTALL_DIR}"
rm -rf ${INSTALL_DIR}.new
mkdir -p ${INSTALL_DIR}.new
tar -xzf "$BUNDLE/${i.packageFile}" -C ${INSTALL_DIR}.new --strip-components=1 --no-same-owner
${i.prebuilt
    ? `say "using the prebuilt node_modules"
tar -xzf "$BUNDLE/${PREBUILT_FILE}" -C ${INSTALL_DIR}.new --no-same-owner`
    : `say "npm install (compiles isolated-vm, i2c-bus and epoll; tens of minutes on a small board)"
(cd ${INSTALL_DIR}.new && PATH=/usr/local/bin:$PATH npm install --omit=dev --no-audit --no-fund --loglevel=error)`}
rm -rf ${INSTALL_DIR}.old
[ ! -d ${INSTALL_DIR} ] || mv ${INSTALL_DIR} ${INSTALL_DIR}.old
mv ${INSTALL_DIR}.new ${INSTALL_DIR}
rm -rf ${INSTALL_DIR}.old

# 3. The agent, started now and on every boot.
test -f ${CONFIG_PATH}
modprobe i2c-dev 2>/dev/null || true
systemctl daemon-reload
systemctl enable --now ${UNIT_NAME}
say "done: $(systemctl is-active ${UNIT_NAME})"
`
}
