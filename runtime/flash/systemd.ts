import type { BoardConfig, BoardProfile } from '../../boards/schema.js'
import { AGENT_NODE_FLAGS } from '../shared/node-flags.js'
import { INSTALL_DIR } from '../shared/install-dir.js'

export const UNIT_NAME = 'wisp-board.service'
export { INSTALL_DIR }
export const CONFIG_DIR = '/etc/wisp'
export const CONFIG_PATH = `${CONFIG_DIR}/board.json`
export const NODE_BIN = '/usr/local/bin/node'
/** The system account the agent runs as; first boot creates it. */
export const SERVICE_USER = 'wisp'
/** Groups that own /dev/i2c-* and /dev/gpiochip* (Raspberry Pi OS names; first boot adds them elsewhere). */
export const DEVICE_GROUPS = ['gpio', 'i2c'] as const
export const STATE_DIR = '/var/lib/wisp'

/**
 * The systemd unit that keeps the agent running (systemd.service(5), systemd.exec(5)): an
 * unprivileged user, no capabilities, a read-only system but for its data folder, devices
 * limited to I2C and GPIO, and the syscalls of an ordinary service.
 */
export const systemdUnit = (config: BoardConfig, profile: BoardProfile, extraCa?: string): string => `# Written by wisp flash for board ${config.id} (${profile.name}).
[Unit]
Description=wisp board agent ${config.id} (${profile.model})
Wants=network-online.target
After=network-online.target time-sync.target
# Never give up restarting: a board with no agent is just a heater.
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=${NODE_BIN} ${AGENT_NODE_FLAGS.join(' ')} ${INSTALL_DIR}/bin/wisp.js board --config ${CONFIG_PATH}
User=${SERVICE_USER}
Group=${SERVICE_USER}
# /dev/i2c-* (INA219) and /dev/gpiochip* belong to these groups; the agent needs no root for them.
SupplementaryGroups=${DEVICE_GROUPS.join(' ')}
WorkingDirectory=${STATE_DIR}
StateDirectory=wisp
StateDirectoryMode=0750
Environment=NODE_ENV=production
${extraCa !== undefined ? `# The gateway's private CA, trusted besides the system's roots (node(1), NODE_EXTRA_CA_CERTS).\nEnvironment=NODE_EXTRA_CA_CERTS=${extraCa}\n` : ''}Restart=always
RestartSec=3
# The agent drains in-flight work on SIGTERM (its budget is below this timeout).
KillSignal=SIGTERM
TimeoutStopSec=20
LimitNOFILE=65536
UMask=0077

# No privileges: no capabilities, none gained through setuid binaries or file capabilities.
# Powering off goes through logind, which polkit allows for this user only (see first boot).
NoNewPrivileges=true
CapabilityBoundingSet=
AmbientCapabilities=
RestrictSUIDSGID=true
# The whole file system read-only but the agent's data (code store, compiled-code cache).
ProtectSystem=strict
# "-": no failure before first boot has made it.
ReadWritePaths=-${config.data_dir}
ProtectHome=true
PrivateTmp=true
RemoveIPC=true
KeyringMode=private
PrivateMounts=true
# Other users' processes hidden; /proc's system files stay (os.cpus() and os.totalmem() read them).
ProtectProc=invisible
# Devices: the null/zero/random basics, I2C buses and GPIO chips (devices(7) major names).
DevicePolicy=closed
DeviceAllow=char-i2c rw
DeviceAllow=char-gpiochip rw
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
# /sys stays writable (no ProtectKernelTunables): onoff drives GPIO lines through sysfs.
RestrictNamespaces=true
RestrictRealtime=true
LockPersonality=true
# MQTT and the status page (IPv4/6), D-Bus to logind (unix), interface lookups (netlink).
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
# V8 compiles to machine code at run time, so MemoryDenyWriteExecute= must stay off.
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
# A refused call fails with EPERM instead of killing the agent: libuv then falls back from
# io_uring (outside @system-service) to its thread pool, and Node ignores a refused setrlimit.
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`
