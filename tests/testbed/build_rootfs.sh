#!/usr/bin/env bash
# Build (once) the Debian root file system that every test host of one suite boots from.
# Usage: build_rootfs.sh [SUITE]  (default: $PODSEC_TESTBED_SUITE, else trixie)
#   trixie    Debian 13, podman 5.4 (every scenario)   packages.txt
#   sid       Debian unstable, podman 5.8              packages.sid.txt
#   bookworm  Debian 12, podman 4.3 (no Quadlet)       packages.bookworm.txt
# The result is cached outside the repository, keyed by the suite, its package list and the build
# scripts, so a second test run reuses it; hosts boot from copies and never write to the cache.
# Prints the path of the cached root file system on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=${1:-${PODSEC_TESTBED_SUITE:-trixie}}
case $suite in
  trixie) packages="$here/packages.txt" ;;
  sid|bookworm) packages="$here/packages.$suite.txt" ;;
  *) echo "testbed: unknown suite '$suite' (trixie, sid or bookworm)" >&2; exit 2 ;;
esac
cache_root=${PODSEC_TESTBED_CACHE:-/var/cache/podsec-testbed}
mirror=${PODSEC_TESTBED_MIRROR:-http://deb.debian.org/debian}
key=$( (echo "$suite"; cat "$packages" "$here/build_rootfs.sh" "$here/rootfs_overlay.sh") | sha256sum | cut -c1-16)
rootfs="$cache_root/rootfs-$suite-$key"
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
work="$cache_root/.build-$suite-$key.$$"
trap 'rm -rf "$work"' EXIT
include=$(grep -v '^#' "$packages" | grep -v '^$' | paste -sd, -)
start=$(date +%s)
echo "testbed: building $suite root file system $rootfs (one time, cached)" >&2
debootstrap --variant=minbase --include="$include" "$suite" "$work" "$mirror" \
  >"$cache_root/debootstrap-$suite-$key.log" 2>&1 \
  || { tail -30 "$cache_root/debootstrap-$suite-$key.log" >&2; exit 1; }
if [ "$suite" = sid ]; then
  # sid's selinux-policy-default (2:2.20261022-1) fails in its postinst inside debootstrap ("semodule:
  # Failed on likewise!"); trixie's installs on sid's policy tools, and volume labelling needs a policy.
  echo "deb $mirror trixie main" >"$work/etc/apt/sources.list.d/podsec-trixie.list"
  # The mirror's sid Release file may be past its Valid-Until by this machine's clock.
  { chroot "$work" apt-get -o Acquire::Check-Valid-Until=false update -q \
      && chroot "$work" apt-get install -y -q selinux-policy-default/trixie; } \
    >>"$cache_root/debootstrap-$suite-$key.log" 2>&1 || { tail -30 "$cache_root/debootstrap-$suite-$key.log" >&2; exit 1; }
  rm "$work/etc/apt/sources.list.d/podsec-trixie.list"
fi
bash "$here/rootfs_overlay.sh" "$work"
touch "$work/.podsec-complete"
rm -rf "$rootfs"
mv "$work" "$rootfs"
trap - EXIT
# Older root file systems of this suite (other package lists) are dead weight: hosts boot from
# copies, never from these. Other suites' caches stay; so do the unsuffixed ones of older checkouts
# (rootfs-KEY, trixie only), which a concurrent run of an older checkout may still be copying.
find "$cache_root" -maxdepth 1 -name "rootfs-$suite-*" ! -name "rootfs-$suite-$key" -exec rm -rf {} +
echo "testbed: $suite root file system built in $(( $(date +%s) - start )) s" >&2
echo "$rootfs"
