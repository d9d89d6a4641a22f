import { INSTALL_DIR, UPGRADE_DIR } from '../shared/install-dir.js'
import { shellVersionNameCheck } from '../shared/version-name.js'
import { SERVICE_USER } from './systemd.js'

export const UPGRADE_SCRIPT_PATH = '/usr/local/lib/wisp/upgrade.sh'
export const UPGRADE_SERVICE = 'wisp-upgrade.service'
export const UPGRADE_PATH_UNIT = 'wisp-upgrade.path'

/**
 * The agent runs unprivileged under ProtectSystem=strict, so it cannot write INSTALL_DIR. It
 * writes a request into its own state folder; this path unit starts the root service below,
 * which runs a script written at flash time — never code from a version the agent chose, so a
 * compromised agent can at most install a wisp that runs as itself again (systemd.path(5)).
 */
export const upgradePathUnit = (): string => `# Written by wisp flash: an upgrade request from the agent starts ${UPGRADE_SERVICE}.
[Unit]
Description=wisp upgrade requests

[Path]
PathChanged=${UPGRADE_DIR}/request
Unit=${UPGRADE_SERVICE}

[Install]
WantedBy=multi-user.target
`

export const upgradeServiceUnit = (): string => `# Written by wisp flash: installs the wisp version the agent asked for (${UPGRADE_SCRIPT_PATH}).
[Unit]
Description=wisp upgrade (install or roll back a wisp version)

[Service]
Type=oneshot
ExecStart=/bin/sh ${UPGRADE_SCRIPT_PATH}
# npm ci compiles native modules: tens of minutes on a small board.
TimeoutStartSec=2h
`

/**
 * The root side of an upgrade: reads `request` (id, op install|rollback, version, package),
 * unpacks the packed tarball beside the current install, runs `npm ci` as the service account
 * (package scripts never run as root), hands the folder to root, switches the INSTALL_DIR symlink
 * atomically and writes `result` (`ok`, `none` for nothing to roll back to, or `error: …`).
 * WISP_ROOT prefixes every path and WISP_USER names the account, as in first-boot.sh.
 */
export const upgradeScript = (): string => `#!/bin/sh
# wisp upgrade, run as root by ${UPGRADE_SERVICE} when the agent writes ${UPGRADE_DIR}/request.
set -u
R="\${WISP_ROOT:-}"
U="\${WISP_USER:-${SERVICE_USER}}"
DIR="$R${UPGRADE_DIR}"
REQ="$DIR/request"
ROOT="$R${INSTALL_DIR}"
VERSIONS="$R${INSTALL_DIR}.versions"
say() { echo "wisp upgrade: $*"; }
[ -f "$REQ" ] || exit 0
val() { sed -n "s/^$1=//p" "$REQ" | head -n 1; }
ID=$(val id); OP=$(val op); V=$(val version); PKG=$(val package)
rm -f "$REQ"
echo "$ID" | grep -Eq '^[0-9a-f]{8,64}$' || { say "request without a valid id: ignored"; exit 1; }
answer() {
  printf 'id=%s\\nresult=%s\\n' "$ID" "$1" >"$DIR/result.new"
  chown "$U" "$DIR/result.new" 2>/dev/null || true
  mv -f "$DIR/result.new" "$DIR/result"
}
WORK=""
fail() { say "$1"; [ -z "$WORK" ] || rm -rf "$WORK"; answer "error: $1"; exit 0; }

# Points ROOT at $1 by renaming a new symlink over it, and remembers the one before as previous.
point() {
  before=$(readlink "$ROOT" 2>/dev/null || true)
  ln -sfn "$1" "$ROOT.next" && mv -Tf "$ROOT.next" "$ROOT" || fail "could not switch $ROOT"
  rm -f "$VERSIONS/previous"
  if [ -n "$before" ] && [ "$before" != "$1" ]; then ln -s "$before" "$VERSIONS/previous"; fi
}

install_version() {
  ${shellVersionNameCheck('V', 'fail').replaceAll('\n', '\n  ')}
  mkdir -p "$VERSIONS" || fail "cannot create $VERSIONS"
  NEW="$VERSIONS/$V"
  WORK="$NEW.partial"
  rm -rf "$WORK"
  mkdir -p "$WORK"
  case "$PKG" in
    http://*|https://*) curl -fsSL --retry 3 -o "$WORK/wisp.tgz" "$PKG" || fail "download of $PKG failed" ;;
    /*) cp "$PKG" "$WORK/wisp.tgz" 2>/dev/null || fail "no package at $PKG" ;;
    *) fail "the package must be an absolute path or an http(s) URL" ;;
  esac
  tar -xzf "$WORK/wisp.tgz" -C "$WORK" --strip-components=1 --no-same-owner || fail "the package is not a packed wisp tarball"
  rm -f "$WORK/wisp.tgz"
  say "npm ci for wisp $V as $U"
  tmp=$(mktemp -d)
  if [ "$(id -u)" = 0 ] && [ "$U" != root ]; then
    chown -R "$U" "$WORK" "$tmp"
    (cd "$WORK" && runuser -u "$U" -- env HOME="$tmp" npm_config_cache="$tmp/npm" npm ci --omit=dev --no-audit --no-fund --loglevel=error) || { rm -rf "$tmp"; fail "npm ci failed"; }
    chown -R 0:0 "$WORK"
  else
    (cd "$WORK" && HOME="$tmp" npm_config_cache="$tmp/npm" npm ci --omit=dev --no-audit --no-fund --loglevel=error) || { rm -rf "$tmp"; fail "npm ci failed"; }
  fi
  rm -rf "$tmp"
  rm -rf "$NEW"
  mv "$WORK" "$NEW" || fail "could not move the new install into place"
  WORK=""
  # A root flashed as a plain folder becomes VERSIONS/flashed, and root a symlink to it.
  if [ -d "$ROOT" ] && [ ! -L "$ROOT" ]; then
    mv "$ROOT" "$VERSIONS/flashed" && ln -s "$VERSIONS/flashed" "$ROOT" || fail "could not keep the flashed install"
  fi
  point "$NEW"
  say "wisp $V installed"
  answer ok
}

roll_back() {
  prev=$(readlink "$VERSIONS/previous" 2>/dev/null || true)
  if [ -z "$prev" ]; then answer none; return; fi
  point "$prev"
  rm -f "$VERSIONS/previous"
  say "rolled back to $prev"
  answer ok
}

case "$OP" in
  install) install_version ;;
  rollback) roll_back ;;
  *) fail "unknown op" ;;
esac
`
