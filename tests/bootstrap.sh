#!/usr/bin/env bash
# Install everything the demo and the tests need on a fresh Debian 12/13 machine (run as root):
# Debian packages for the test bed and a virtualenv with the pinned Python tools.
# The virtualenv is cached outside the checkout, keyed by requirements-dev.txt; prints its path.
# Progress lines go to stderr; with PODSEC_BOOTSTRAP_LOG=FILE the apt and pip output goes to FILE instead
# (appended), so that a caller's own summary is not buried under hundreds of lines.
set -euo pipefail
log=${PODSEC_BOOTSTRAP_LOG:-/dev/stderr}
repo=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${PODSEC_TESTBED_CACHE:-/var/cache/podsec-testbed}
# chromium renders the fleet report in tests; qemu runs the SELinux-enforcing test host; gcc and libc6-dev
# build the static attack probe of molecule/hardened_container.
apt_packages=(debootstrap systemd-container iproute2 openssh-client rsync auditd gnupg python3-venv
              busybox-static git chromium qemu-system-x86 qemu-utils gcc libc6-dev
              podman)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq >>"$log" 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>"$log" 2>&1
fi
key=$( (cat "$repo/requirements-dev.txt"; python3 --version) | sha256sum | cut -c1-16)
venv="$cache_root/venv-$key"
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -f "$venv/.podsec-complete" ]; then
  echo "bootstrap: creating virtualenv $venv" >&2
  mkdir -p "$cache_root"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$repo/requirements-dev.txt" >>"$log" 2>&1
  touch "$venv/.podsec-complete"
fi
ln -sfn "$venv" "$cache_root/venv"
echo "$venv"
