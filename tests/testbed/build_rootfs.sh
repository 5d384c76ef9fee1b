#!/usr/bin/env bash
# Build (once) the Debian 13 root file system that every test host boots from.
# The result is cached outside the repository, keyed by the package list and this script,
# so a second test run reuses it; hosts boot from copies and never write to the cache.
# Prints the path of the cached root file system on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${PODSEC_TESTBED_CACHE:-/var/cache/podsec-testbed}
mirror=${PODSEC_TESTBED_MIRROR:-http://deb.debian.org/debian}
key=$(cat "$here/packages.txt" "$here/build_rootfs.sh" "$here/rootfs_overlay.sh" | sha256sum | cut -c1-16)
rootfs="$cache_root/rootfs-$key"
if [ -f "$rootfs/.podsec-complete" ]; then
  echo "$rootfs"
  exit 0
fi
mkdir -p "$cache_root"
# One build at a time: concurrent scenarios wait for the first build instead of racing it.
exec 9>"$cache_root/.build.lock"
flock 9
if [ -f "$rootfs/.podsec-complete" ]; then
  echo "$rootfs"
  exit 0
fi
work="$cache_root/.build-$key.$$"
trap 'rm -rf "$work"' EXIT
include=$(grep -v '^#' "$here/packages.txt" | grep -v '^$' | paste -sd, -)
start=$(date +%s)
echo "testbed: building trixie root file system $rootfs (one time, cached)" >&2
debootstrap --variant=minbase --include="$include" trixie "$work" "$mirror" >"$cache_root/debootstrap-$key.log" 2>&1 \
  || { tail -30 "$cache_root/debootstrap-$key.log" >&2; exit 1; }
bash "$here/rootfs_overlay.sh" "$work"
touch "$work/.podsec-complete"
rm -rf "$rootfs"
mv "$work" "$rootfs"
trap - EXIT
# Older root file systems (other package lists) are dead weight: hosts boot from copies, never from these.
find "$cache_root" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$key" -exec rm -rf {} +
echo "testbed: root file system built in $(( $(date +%s) - start )) s" >&2
echo "$rootfs"
