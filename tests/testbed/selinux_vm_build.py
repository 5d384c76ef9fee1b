#!/usr/bin/env python3
"""Build (once) the disk image of the SELinux-enforcing test VM; used by selinux_vm.py.

debootstrap trixie with its own kernel and Debian's SELinux policy, SELINUX=enforcing, the local
policy additions podman needs on Debian (see FILE_CONTEXTS and POLICY_MODULE), offline labelling with
setfiles, then ``mkfs.ext4 -d`` (which copies the labels) into a raw disk. The result is cached in
/var/cache/podsec-testbed/selinux-vm-KEY/ (disk.raw, vmlinuz, initrd.img); KEY covers the package
list, this file (kernel command line included) and the SSH public key, so editing selinux_vm.py never
forces a rebuild.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from testbed import CACHE, Lock, ensure_ssh_key, run  # noqa: E402  pylint: disable=wrong-import-position
from testbed import log as testbed_log  # noqa: E402  pylint: disable=wrong-import-position

PACKAGES = os.path.join(HERE, "selinux_vm_packages.txt")
MIRROR = os.environ.get("PODSEC_TESTBED_MIRROR", "http://deb.debian.org/debian")
DISK_SIZE = "8G"
# Part of the cache key (this file), like everything the kernel proofs rely on: audit=1 gives every
# process an audit context from the first instruction on (a login's auid reaches the records of its
# children, the SSH daemon included), audit_backlog_limit keeps the boot-time burst; cgroup v2 is
# trixie's only hierarchy. loglevel=4 keeps the audit records that the kernel prints until auditd
# runs off the emulated serial console, which is slow under TCG.
KERNEL_CMDLINE = ("root=/dev/vda rw console=ttyS0 security=selinux selinux=1 audit=1 audit_backlog_limit=8192 "
                  "loglevel=4 net.ifnames=0 fsck.mode=skip systemd.show_status=error")
# Modules podman needs that its confined domains may not ask the kernel to load (no module_request).
PRELOAD_MODULES = ["overlay", "bridge", "veth", "br_netfilter", "nf_tables", "nft_chain_nat", "nft_nat",
                   "nft_masq", "nft_ct", "nft_fib_inet", "nft_compat"]


log = functools.partial(testbed_log, source="selinux_vm")


def ensure_tools():
    """Install QEMU, debootstrap and e2fsprogs from Debian when missing (CI machines start bare)."""
    needed = {"qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils", "debootstrap": "debootstrap",
              "mkfs.ext4": "e2fsprogs"}
    missing = sorted({package for binary, package in needed.items() if not shutil.which(binary)})
    if not missing:
        return
    log("installing " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing
    if run(install, check=False, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        run(["apt-get", "update", "-qq"], env=env)
        run(install, env=env, stdout=subprocess.DEVNULL)


def package_list():
    with open(PACKAGES) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def cache_key(public_key):
    digest = hashlib.sha256()
    for path in (PACKAGES, os.path.abspath(__file__)):
        with open(path, "rb") as handle:
            digest.update(handle.read())
    digest.update(public_key.encode())
    return digest.hexdigest()[:16]


def write(path, content, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(content)
    os.chmod(path, mode)


def mask(root, unit):
    path = os.path.join(root, "etc/systemd/system", unit)
    if os.path.lexists(path):
        os.remove(path)
    os.symlink("/dev/null", path)


def enable(root, unit, target="multi-user.target"):
    wants = os.path.join(root, "etc/systemd/system", target + ".wants")
    os.makedirs(wants, exist_ok=True)
    link = os.path.join(wants, unit)
    if not os.path.lexists(link):
        os.symlink("/etc/systemd/system/" + unit, link)


def configure(root, public_key):
    """Turn the debootstrapped tree into an SELinux-enforcing VM that sshd serves at boot."""
    write(os.path.join(root, "etc/selinux/config"), "SELINUX=enforcing\nSELINUXTYPE=default\n")
    write(os.path.join(root, "etc/hostname"), "podsec-selinux-vm\n")
    write(os.path.join(root, "etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 podsec-selinux-vm\n")
    write(os.path.join(root, "etc/fstab"), "/dev/vda / ext4 rw,relatime 0 1\n")
    # QEMU user-mode networking: the guest is always 10.0.2.15, the gateway 10.0.2.2 (no DHCP needed).
    write(os.path.join(root, "etc/systemd/system/podsec-vm-network.service"), """\
[Unit]
Description=podsec test VM: static address for QEMU user-mode networking
Before=network-online.target ssh.service
Wants=network-online.target
[Service]
Type=oneshot
RemainAfterExit=yes
# Wait for eth0 however long udev takes (a .device dependency fails after 90 s on a loaded machine).
TimeoutStartSec=infinity
ExecStartPre=/bin/sh -c 'until [ -e /sys/class/net/eth0 ]; do sleep 1; done'
ExecStart=/usr/sbin/ip link set lo up
ExecStart=/usr/sbin/ip link set eth0 up
ExecStart=/usr/sbin/ip address add 10.0.2.15/24 dev eth0
ExecStart=/usr/sbin/ip route add default via 10.0.2.2
[Install]
WantedBy=multi-user.target
""")
    enable(root, "podsec-vm-network.service")
    write(os.path.join(root, "etc/modules-load.d/podsec-selinux-vm.conf"),
          "# podman's confined domains may not load kernel modules on demand\n" + "\n".join(PRELOAD_MODULES) + "\n")
    write(os.path.join(root, "etc/ssh/sshd_config.d/podsec-testbed.conf"),
          "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n")
    os.makedirs(os.path.join(root, "root/.ssh"), mode=0o700, exist_ok=True)
    write(os.path.join(root, "root/.ssh/authorized_keys"), public_key, mode=0o600)
    # Throwaway hosts: nothing periodic, no waiting for time sync or a second network.
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_reap.service", "e2scrub_all.timer",
                 "fstrim.timer", "dpkg-db-backup.timer", "man-db.timer", "systemd-networkd-wait-online.service"):
        mask(root, unit)
    os.makedirs(os.path.join(root, "etc/systemd/system.conf.d"), exist_ok=True)
    write(os.path.join(root, "etc/systemd/system.conf.d/podsec-testbed.conf"), "[Manager]\nDefaultTimeoutStopSec=10s\n")
    # The image tarballs the scenarios copy in go here: podman_t cannot read /root.
    os.makedirs(os.path.join(root, "var/lib/containers"), exist_ok=True)
    autorelabel = os.path.join(root, ".autorelabel")
    if os.path.exists(autorelabel):
        os.remove(autorelabel)


# Local policy additions (each found by a container that did not start on the VM, AVC in audit.log).
FILE_CONTEXTS = [
    # Debian installs netavark and aardvark-dns under /usr/lib/podman, labelled lib_t: podman_t may not
    # execute them. bin_t it may.
    ("bin_t", "/usr/lib/podman(/.*)?"),
    # The container init (RunInit=true, /run/podman-init) is bind-mounted into the container and is the
    # first program container_t runs: Debian's policy allows entrypoint only for container_file_t.
    ("container_file_t", "/usr/libexec/podman/catatonit"),
    ("container_file_t", "/usr/bin/catatonit"),
]
POLICY_MODULE = """\
; podsec test bed: for a rootful container in its own user namespace (UserNS=auto), podman detaches
; the file systems mounted below /sys/kernel from the container's /sys; Debian's policy does not let
; podman_t unmount them ("cannot unmount /sys/kernel/debug: permission denied").
(allow podman_t debugfs_t (filesystem (unmount)))
(allow podman_t tracefs_t (filesystem (unmount)))
(allow podman_t configfs_t (filesystem (unmount)))
(allow podman_t security_t (filesystem (unmount)))
"""


def label(root):
    """Add the local policy the containers need, then label every file offline (SELinux is off here)."""
    write(os.path.join(root, "root/podsec_testbed.cil"), POLICY_MODULE)
    run(["chroot", root, "semodule", "-i", "/root/podsec_testbed.cil"])
    os.remove(os.path.join(root, "root/podsec_testbed.cil"))
    # One transaction, one policy rebuild.
    commands = "".join("fcontext -a -t %s '%s'\n" % pair for pair in FILE_CONTEXTS)
    run(["chroot", root, "semanage", "import"], input=commands)
    run(["chroot", root, "setfiles", "-F", "-e", "/proc", "-e", "/sys", "-e", "/dev",
         "/etc/selinux/default/contexts/files/file_contexts", "/"])


def newest(root, pattern):
    names = sorted(n for n in os.listdir(os.path.join(root, "boot")) if n.startswith(pattern))
    if not names:
        raise SystemExit("selinux_vm: no /boot/%s* in the built tree" % pattern)
    return os.path.join(root, "boot", names[-1])


def build(in_use=()):
    """Build the cached disk image (once per key); return its directory.

    Older images are removed unless listed in in_use (the bases of running VMs).
    """
    public_key = ensure_ssh_key()
    key = cache_key(public_key)
    target = os.path.join(CACHE, "selinux-vm-" + key)
    if os.path.exists(os.path.join(target, ".complete")):
        return target
    ensure_tools()
    with Lock(os.path.join(CACHE, ".selinux-vm-build.lock")):
        if os.path.exists(os.path.join(target, ".complete")):
            return target
        started = time.time()
        log("building the SELinux VM disk %s (one time, cached)" % target)
        work = os.path.join(CACHE, ".selinux-vm-build-%s.%d" % (key, os.getpid()))
        root = os.path.join(work, "root")
        os.makedirs(work)
        try:
            logfile = os.path.join(CACHE, "debootstrap-selinux-vm-%s.log" % key)
            with open(logfile, "w") as handle:
                result = run(["debootstrap", "--variant=minbase", "--include=" + ",".join(package_list()),
                              "trixie", root, MIRROR], check=False, stdout=handle, stderr=subprocess.STDOUT)
            if result.returncode != 0:
                with open(logfile) as handle:
                    sys.stderr.write("".join(handle.readlines()[-30:]))
                raise SystemExit("selinux_vm: debootstrap failed; see %s" % logfile)
            log("debootstrap done after %.0f s" % (time.time() - started))
            configure(root, public_key)
            run(["chroot", root, "apt-get", "clean"])
            shutil.rmtree(os.path.join(root, "var/lib/apt/lists"), ignore_errors=True)
            label(root)
            shutil.copy(newest(root, "vmlinuz-"), os.path.join(work, "vmlinuz"))
            shutil.copy(newest(root, "initrd.img-"), os.path.join(work, "initrd.img"))
            disk = os.path.join(work, "disk.raw")
            run(["truncate", "-s", DISK_SIZE, disk])
            # mkfs.ext4 -d copies the tree with its extended attributes, SELinux labels included.
            run(["mkfs.ext4", "-q", "-F", "-L", "podsec-root", "-d", root, disk])
            shutil.rmtree(root)
            with open(os.path.join(work, ".complete"), "w") as handle:
                handle.write(key + "\n")
            shutil.rmtree(target, ignore_errors=True)
            os.rename(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for name in os.listdir(CACHE):
            old = os.path.join(CACHE, name)
            if name.startswith("selinux-vm-") and old != target and old not in in_use:
                shutil.rmtree(old, ignore_errors=True)
            elif name.startswith("debootstrap-selinux-vm-") and key not in name:
                os.remove(old)
        log("disk built in %.0f s" % (time.time() - started))
    return target
