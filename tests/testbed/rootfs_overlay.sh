#!/usr/bin/env bash
# Configure a freshly debootstrapped trixie tree as a test host (runs once, at cache build time).
set -euo pipefail
root=$1
# containers.conf for hosts booted by systemd-nspawn: no kernel keyring and no cgroup
# controllers are delegated there, so pids limits cannot be applied (they are checked in units).
mkdir -p "$root/etc/containers/containers.conf.d"
cat >"$root/etc/containers/containers.conf.d/50-podsec-testbed.conf" <<'CONF'
[containers]
keyring = false
pids_limit = 0
CONF
# Static address of host0 comes from /etc/podsec-testbed/network, written per host at boot.
cat >"$root/etc/systemd/system/podsec-testbed-network.service" <<'UNIT'
[Unit]
Description=podsec test bed: static address on host0
Before=network-online.target ssh.service
Wants=network-online.target
[Service]
Type=oneshot
RemainAfterExit=yes
EnvironmentFile=/etc/podsec-testbed/network
ExecStart=/usr/sbin/ip link set lo up
ExecStart=/usr/sbin/ip link set host0 up
ExecStart=/usr/sbin/ip address add ${ADDRESS} dev host0
ExecStart=/usr/sbin/ip route add default via ${GATEWAY}
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/podsec-testbed-network.service \
  "$root/etc/systemd/system/multi-user.target.wants/podsec-testbed-network.service"
# Services that make no sense in a throwaway host booted by nspawn (kernel audit and module
# loading need the initial namespaces); the registry is started only by the scenarios that use it.
# debugfs/tracefs below /sys/kernel stop crun from detaching /sys/kernel for UserNS=auto containers
# ("cannot unmount /sys/kernel: device or resource busy").
for unit in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service \
            docker-registry.service auditd.service audit-rules.service systemd-modules-load.service \
            sys-kernel-debug.mount sys-kernel-tracing.mount; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# Throwaway hosts must power off in seconds: a lingering user manager otherwise holds the
# shutdown for the default 90 s.
mkdir -p "$root/etc/systemd/system.conf.d" "$root/etc/systemd/system/user@.service.d"
printf '[Manager]\nDefaultTimeoutStopSec=10s\n' >"$root/etc/systemd/system.conf.d/podsec-testbed.conf"
printf '[Service]\nTimeoutStopSec=5s\n' >"$root/etc/systemd/system/user@.service.d/podsec-testbed.conf"
# SSH: key-only root login; host keys are generated per host at first boot.
mkdir -p "$root/root/.ssh" && chmod 700 "$root/root/.ssh"
rm -f "$root"/etc/ssh/ssh_host_*
cat >"$root/etc/ssh/sshd_config.d/podsec-testbed.conf" <<'CONF'
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
CONF
cat >"$root/etc/systemd/system/podsec-testbed-hostkeys.service" <<'UNIT'
[Unit]
Description=podsec test bed: generate SSH host keys
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/podsec-testbed-hostkeys.service \
  "$root/etc/systemd/system/multi-user.target.wants/podsec-testbed-hostkeys.service"
# An unprivileged user for rootless scenarios, with subordinate id ranges.
chroot "$root" useradd --create-home --shell /bin/bash --uid 1001 podsec
echo "podsec:100000:65536" >"$root/etc/subuid"
echo "podsec:100000:65536" >"$root/etc/subgid"
echo "podsec-test" >"$root/etc/hostname"
rm -f "$root/etc/machine-id" && touch "$root/etc/machine-id"
chroot "$root" apt-get clean
rm -rf "$root/var/lib/apt/lists/"*
