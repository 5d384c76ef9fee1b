#!/usr/bin/env python3
"""SELinux-enforcing test hosts for podsec.hardening: QEMU virtual machines with their own kernel.

The regular test hosts (testbed.py) share this machine's kernel, which runs without SELinux: labels
are written there, never enforced. These hosts boot Debian 13 with its own kernel under QEMU software
emulation (TCG; KVM is not usable here) with ``security=selinux selinux=1`` and Debian's policy
(selinux-policy-default) enforcing, plus podman, sshd and python3. They are reached over SSH as root
on a 127.0.0.1 port forwarded by QEMU's user-mode network, with testbed.py's key.

The disk image is built once by selinux_vm_build.py (debootstrap, offline labelling with setfiles,
``mkfs.ext4 -d``) and cached in /var/cache/podsec-testbed/selinux-vm-KEY/. Each host boots from a
disposable qcow2 overlay on top of it.

Commands (run as root):
  build           build the cached disk image if needed (prints its directory)
  up NAME...      boot hosts (prints JSON: name, address, port, boot seconds)
  down NAME...|--all  kill hosts and remove their overlays
  reboot NAME     reboot a host from its own disk (the overlay stays; prints JSON like up)
  ssh NAME -- CMD run a command on a host

  list            print this run's running hosts (those of $PODSEC_TESTBED_PREFIX) as JSON

Names get PODSEC_TESTBED_PREFIX in front, like testbed.py's hosts; the JSON's "instance" is the name
without it (molecule's platform name).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from selinux_vm_build import KERNEL_CMDLINE, build, cache_key, log  # noqa: E402  pylint: disable=wrong-import-position
from testbed import (  # noqa: E402  pylint: disable=wrong-import-position
    CACHE, PREFIX, Lock, ensure_ssh_key, host_command_parser, parse_host_args, pid_alive, record_boot,
    remote_command, run, wait_for_ssh)
from testbed import ssh_base as testbed_ssh_base  # noqa: E402  pylint: disable=wrong-import-position

VMS_DIR = os.environ.get("PODSEC_TESTBED_VMS", "/var/lib/podsec-testbed/selinux-vms")
STATE_DIR = "/run/podsec-testbed-vm"
STATE_FILE = os.path.join(STATE_DIR, "vms.json")
STATE_LOCK = os.path.join(STATE_DIR, ".lock")
BOOT_TIMEOUT = int(os.environ.get("PODSEC_SELINUX_VM_BOOT_TIMEOUT", "420"))
MEMORY_MB = 3072


def read_states():
    """All VMs this script started, by name (one JSON file; change it only under STATE_LOCK)."""
    try:
        with open(STATE_FILE) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def update_state(name, state=None, new_port=False):
    """Record (or with state None, forget) one VM; new_port reserves a free port for it first."""
    os.makedirs(STATE_DIR, exist_ok=True)
    with Lock(STATE_LOCK):
        states = read_states()
        states.pop(name, None)
        if state is not None:
            if new_port:
                state["port"] = free_port({s.get("port") for s in states.values()})
            states[name] = state
        partial = STATE_FILE + ".partial"
        with open(partial, "w") as handle:
            json.dump(states, handle, indent=2)
        os.rename(partial, STATE_FILE)
    return state


def running_states():
    return list(read_states().values())


def own_states():
    """The VMs of this run's PODSEC_TESTBED_PREFIX (another checkout's VMs are not listed)."""
    return [state for state in running_states() if state["name"].startswith(PREFIX)]


def free_port(reserved):
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in reserved:
            return port
    raise SystemExit("selinux_vm: no free port")


def ssh_base(state):
    return testbed_ssh_base(state["address"], state["port"], connect_timeout=10)


def boot(name, base):
    vm_dir = os.path.join(VMS_DIR, name)
    shutil.rmtree(vm_dir, ignore_errors=True)
    os.makedirs(vm_dir)
    overlay = os.path.join(vm_dir, "overlay.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(base, "disk.raw"), "-F", "raw", overlay])
    state = update_state(name, {"name": name, "instance": name[len(PREFIX):], "address": "127.0.0.1", "base": base,
                                "dir": vm_dir, "pid": -1, "overlay": overlay,
                                "console": os.path.join(vm_dir, "console.log"),
                                "qemu_log": os.path.join(vm_dir, "qemu.log")}, new_port=True)
    return launch(state)


def launch(state):
    """Start QEMU on the state's overlay and wait until the guest serves SSH."""
    name, base, overlay = state["name"], state["base"], state["overlay"]
    started = time.time()
    cmd = ["qemu-system-x86_64", "-name", name, "-accel", "tcg,thread=multi", "-cpu", "max", "-machine", "q35",
           "-smp", "2", "-m", str(MEMORY_MB), "-nodefaults", "-display", "none", "-no-reboot",
           "-kernel", os.path.join(base, "vmlinuz"), "-initrd", os.path.join(base, "initrd.img"),
           "-append", KERNEL_CMDLINE,
           "-drive", "file=%s,format=qcow2,if=virtio,cache=unsafe,discard=unmap" % overlay,
           "-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:%d-:22" % state["port"],
           "-device", "virtio-net-pci,netdev=net0,romfile=",
           "-device", "virtio-rng-pci",
           "-serial", "file:" + state["console"], "-monitor", "none"]
    with open(state["qemu_log"], "ab") as qemu_log:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=qemu_log, stderr=qemu_log,
                                   start_new_session=True)
    state["pid"] = process.pid
    update_state(name, state)
    try:
        state["selinux"] = wait_for_ssh(state, process, timeout=BOOT_TIMEOUT, then="getenforce", source="selinux_vm",
                                        logs=[state["console"], state["qemu_log"]])
    except SystemExit:
        process.kill()
        process.wait()
        raise
    record_boot(state, started, "127.0.0.1:%d" % state["port"], source="selinux_vm", note=", SELinux " + state["selinux"])
    update_state(name, state)
    return state


def cmd_reboot(name):
    """Reboot the guest from its own disk: what it persisted (rules files, units) is what comes back.

    QEMU runs with -no-reboot, so the guest's reboot ends QEMU; then the same overlay boots again.
    """
    state = require_state(name)
    pid = state.get("pid", -1)
    if pid <= 0 or not pid_alive(pid):
        raise SystemExit("selinux_vm: %s is not running" % name)
    log("%s rebooting" % name)
    # The guest syncs and stops its services, then QEMU exits; no answer comes back from a reboot.
    # --no-block: the guest may drop the SSH connection before the command returns (seen: ssh hung 60 s).
    try:
        run(ssh_base(state) + ["systemctl reboot --no-block"], check=False, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.time() + BOOT_TIMEOUT
    while time.time() < deadline and pid_alive(pid):
        time.sleep(1)
    if pid_alive(pid):
        raise SystemExit("selinux_vm: %s did not shut down within %d s" % (name, BOOT_TIMEOUT))
    # QEMU truncates the serial log when it opens it: keep the first boot's.
    os.replace(state["console"], state["console"] + ".before-reboot")
    print(json.dumps([launch(state)], indent=2))


def cmd_up(names):
    base = build(in_use={s.get("base") for s in running_states()})
    results = []
    for name in names:
        existing = read_states().get(name)
        if existing and existing.get("pid", -1) > 0 and pid_alive(existing["pid"]):
            results.append(existing)
            continue
        results.append(boot(name, base))
    print(json.dumps(results, indent=2))


def cmd_down(names, down_all):
    if down_all:
        names = [s["name"] for s in own_states()]
    for name in names:
        state = read_states().get(name) or {"name": name, "pid": -1, "dir": os.path.join(VMS_DIR, name)}
        pid = state.get("pid", -1)
        if pid > 0 and pid_alive(pid):
            # The overlay is thrown away, so an orderly shutdown would only cost time.
            os.kill(pid, signal.SIGKILL)
            deadline = time.time() + 10
            while time.time() < deadline and pid_alive(pid):
                time.sleep(0.1)
        shutil.rmtree(state["dir"], ignore_errors=True)
        update_state(name)
        log("%s down" % name)
    prune_images()


def prune_images():
    """Remove disk images of other keys (left by a build while a VM still used the older one)."""
    current = "selinux-vm-" + cache_key(ensure_ssh_key())
    in_use = {s.get("base") for s in running_states()}
    for name in os.listdir(CACHE):
        path = os.path.join(CACHE, name)
        if name.startswith("selinux-vm-") and name != current and path not in in_use:
            shutil.rmtree(path, ignore_errors=True)
            log("removed the unused disk image %s" % path)


def require_state(name):
    state = read_states().get(name)
    if state is None:
        raise SystemExit("selinux_vm: %s is not up" % name)
    return state


def main():
    parser, sub = host_command_parser(__doc__)
    sub.add_parser("build")
    sub.add_parser("reboot").add_argument("name")
    args = parse_host_args(parser, "selinux_vm")
    if args.command == "build":
        print(build(in_use={s.get("base") for s in running_states()}))
    elif args.command == "up":
        cmd_up(args.names)
    elif args.command == "down":
        cmd_down(args.names, args.all)
    elif args.command == "reboot":
        cmd_reboot(args.name)
    elif args.command == "ssh":
        os.execvp("ssh", ssh_base(require_state(args.name)) + remote_command(args))
    elif args.command == "list":
        print(json.dumps(own_states(), indent=2))


if __name__ == "__main__":
    main()
