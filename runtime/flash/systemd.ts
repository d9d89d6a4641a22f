import type { BoardConfig, BoardProfile } from '../../boards/schema.js'

export const UNIT_NAME = 'wisp-board.service'
export const INSTALL_DIR = '/opt/wisp'
export const CONFIG_PATH = '/etc/wisp/board.json'
export const NODE_BIN = '/usr/local/bin/node'

/** The systemd unit that keeps the agent running (systemd.service(5), systemd.unit(5)). */
export const systemdUnit = (config: BoardConfig, profile: BoardProfile): string => `# Written by wisp flash for board ${config.id} (${profile.name}).
[Unit]
Description=wisp board agent ${config.id} (${profile.model})
Wants=network-online.target
After=network-online.target time-sync.target
# Never give up restarting: a board with no agent is just a heater.
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=${NODE_BIN} ${INSTALL_DIR}/bin/wisp.js board --config ${CONFIG_PATH}
WorkingDirectory=/var/lib/wisp
StateDirectory=wisp
Environment=NODE_ENV=production
Restart=always
RestartSec=3
# The agent drains in-flight work on SIGTERM (its budget is below this timeout).
KillSignal=SIGTERM
TimeoutStopSec=20
LimitNOFILE=65536
# Root is needed for I2C, GPIO and the power-off the leader may ask for; keep the rest read-only.
ProtectSystem=full
ProtectHome=true
PrivateTmp=true
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
`
