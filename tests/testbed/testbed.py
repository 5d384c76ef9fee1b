#!/usr/bin/env python3
"""Real test hosts for podsec.hardening: booted Debian systems reached over SSH.

Each host is a copy of a cached debootstrapped root file system, booted by systemd-nspawn
(systemd as PID 1, podman with Quadlet, sshd). The suite is chosen per host: trixie (Debian 13,
podman 5.4, the default), sid (podman 5.8) or bookworm (Debian 12, podman 4.3, no Quadlet). All hosts sit on one bridge inside the network
namespace ``podsec-lab`` that this script creates; a veth uplink and one route make the lab subnet
reachable from this machine, so Ansible, molecule and testinfra use plain SSH.

Commands (run as root):
  up [--suite S] NAME...  boot hosts (prints JSON: name, address, suite, boot seconds); the suite
                    defaults to $PODSEC_TESTBED_SUITE, else trixie
  down NAME...|--all  power hosts off and remove their copies; the lab network goes with the last host
  restart NAME      reboot a host (same disk; tmpfs contents are lost, as on a real reboot)
  ssh NAME -- CMD   run a command on a host
  rootdir NAME      print the host's root directory as seen from this machine (its persistent disk)
  list              print this run's running hosts (those of $PODSEC_TESTBED_PREFIX) as JSON, by the
                    names given to up (the machine name is in "machine")
  leftovers         list what the test bed left on this machine (exit 1 if anything)
  image             print the path of the local test image archive (built once, cached); every host
                    also has it at /usr/local/share/podsec-testbed/busybox.tar
"""

from __future__ import annotations

import argparse
import fcntl
import io
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import hashlib

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("PODSEC_TESTBED_CACHE", "/var/cache/podsec-testbed")
HOSTS_DIR = os.environ.get("PODSEC_TESTBED_HOSTS", "/var/lib/podsec-testbed/hosts")
STATE_DIR = "/run/podsec-testbed"
LAB_NETNS = "podsec-lab"
LAB_BRIDGE = "labbr0"
LAB_SUBNET = ipaddress.ip_network("10.231.0.0/24")
LAB_GATEWAY = "10.231.0.1"
UPLINK_HOST, UPLINK_LAB = "podsec-up0", "uplink0"
UPLINK_HOST_ADDR, UPLINK_LAB_ADDR = "10.231.255.1/30", "10.231.255.2/30"
SSH_KEY = os.path.join(CACHE, "ssh", "id_ed25519")
# Prefix of the machine names (state, disk, nspawn machine) of this run's hosts, so that two runs of
# the same scenarios (a developer's and a clean clone's) never share a host. Host names, addresses in
# output and every command's NAME arguments stay unprefixed.
PREFIX = os.environ.get("PODSEC_TESTBED_PREFIX", "")
IMAGE_NAME = "localhost/podsec/busybox:latest"
IMAGE_USER = 10001
SUITES = ("trixie", "sid", "bookworm")
DEFAULT_SUITE = os.environ.get("PODSEC_TESTBED_SUITE") or "trixie"
BOOT_TIMEOUT = 180
SHUTDOWN_TIMEOUT = 30


def log(message, source="testbed"):
    print("%s: %s" % (source, message), file=sys.stderr, flush=True)


def run(cmd, check=True, **kwargs):
    return subprocess.run(cmd, check=check, text=True, **kwargs)


def lab(cmd, check=True):
    return run(["ip", "netns", "exec", LAB_NETNS] + cmd, check=check, capture_output=True)


class Lock:
    """Serialise state changes (by default of the test hosts) across concurrent callers."""

    def __init__(self, path=os.path.join(STATE_DIR, ".lock")):
        self.path = path
        self.handle = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.handle = open(self.path, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def state_path(name):
    return os.path.join(STATE_DIR, name + ".json")


def load_state(name):
    try:
        with open(state_path(name)) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def running_states():
    if not os.path.isdir(STATE_DIR):
        return []
    return [load_state(f[:-5]) for f in sorted(os.listdir(STATE_DIR)) if f.endswith(".json")]


def pid_alive(pid):
    """True while the process runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def ensure_rootfs(suite=DEFAULT_SUITE):
    result = run(["bash", os.path.join(HERE, "build_rootfs.sh"), suite], capture_output=True)
    sys.stderr.write(result.stderr)
    return result.stdout.strip()


def ensure_ssh_key():
    if not os.path.exists(SSH_KEY):
        os.makedirs(os.path.dirname(SSH_KEY), mode=0o700, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "podsec-testbed", "-f", SSH_KEY])
    with open(SSH_KEY + ".pub") as handle:
        return handle.read()


def ensure_lab_network():
    if os.path.exists(os.path.join("/run/netns", LAB_NETNS)):
        return
    log("creating network namespace %s with bridge %s (%s)" % (LAB_NETNS, LAB_BRIDGE, LAB_SUBNET))
    run(["ip", "netns", "add", LAB_NETNS])
    lab(["ip", "link", "set", "lo", "up"])
    lab(["ip", "link", "add", LAB_BRIDGE, "type", "bridge"])
    lab(["ip", "address", "add", "%s/%d" % (LAB_GATEWAY, LAB_SUBNET.prefixlen), "dev", LAB_BRIDGE])
    lab(["ip", "link", "set", LAB_BRIDGE, "up"])
    lab(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    run(["ip", "link", "add", UPLINK_HOST, "type", "veth", "peer", "name", UPLINK_LAB, "netns", LAB_NETNS])
    run(["ip", "address", "add", UPLINK_HOST_ADDR, "dev", UPLINK_HOST])
    run(["ip", "link", "set", UPLINK_HOST, "up"])
    lab(["ip", "address", "add", UPLINK_LAB_ADDR, "dev", UPLINK_LAB])
    lab(["ip", "link", "set", UPLINK_LAB, "up"])
    run(["ip", "route", "replace", str(LAB_SUBNET), "via", UPLINK_LAB_ADDR.split("/")[0], "dev", UPLINK_HOST])


# Every booted host's systemd and its user managers take inotify instances, and all hosts run as uid 0 of this
# machine, so they share one per-user limit: Debian's default of 128 stops the tenth or so host with
# "Failed to create control group inotify object: Too many open files" (seen in the fleet benchmark).
INOTIFY_INSTANCES = 1024


def ensure_inotify_instances():
    """Raise fs.inotify.max_user_instances to INOTIFY_INSTANCES; never lower a higher setting."""
    path = "/proc/sys/fs/inotify/max_user_instances"
    with open(path) as handle:
        current = int(handle.read())
    if current < INOTIFY_INSTANCES:
        log("raising fs.inotify.max_user_instances from %d to %d for the hosts' systemd" % (current, INOTIFY_INSTANCES))
        with open(path, "w") as handle:
            handle.write("%d\n" % INOTIFY_INSTANCES)


def remove_lab_network():
    run(["ip", "route", "del", str(LAB_SUBNET)], check=False, capture_output=True)
    run(["ip", "link", "del", UPLINK_HOST], check=False, capture_output=True)
    if os.path.exists(os.path.join("/run/netns", LAB_NETNS)):
        run(["ip", "netns", "del", LAB_NETNS], check=False, capture_output=True)
        log("removed network namespace %s" % LAB_NETNS)


def allocate_address(name):
    used = {s["address"] for s in running_states() if s and s["name"] != name}
    for candidate in list(LAB_SUBNET.hosts())[9:250]:
        if str(candidate) not in used:
            return str(candidate)
    raise SystemExit("testbed: no free address in %s" % LAB_SUBNET)


def ssh_base(address, port=None, connect_timeout=5):
    """The ssh command line that logs in as root on a test host (``port``: a VM's forwarded port)."""
    return ["ssh", "-i", SSH_KEY] + (["-p", str(port)] if port else []) + [
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        "-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % connect_timeout, "root@" + address]


def wait_for_ssh(state, process, timeout=BOOT_TIMEOUT, then="true", source="testbed", logs=None):
    """Wait until the host at ``state["address"]`` (and ``state["port"]``, a VM's) accepts a root login and
    systemd has finished booting; return the output of the shell command ``then`` run at that point.

    An nspawn host is probed with a TCP connect first (cheap); a VM is not: QEMU's forwarded port accepts
    before the guest listens, so there only a real SSH login counts. ``logs`` name the files to read when
    the boot fails (default: the console).
    """
    port = state.get("port")
    logs = " and ".join(logs or [state["console"]])
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit("%s: %s exited during boot (code %s); see %s"
                             % (source, state["name"], process.returncode, logs))
        if port is None:
            try:
                with socket.create_connection((state["address"], 22), timeout=1):
                    pass
            except OSError:
                time.sleep(0.3)
                continue
        try:
            probe = run(ssh_base(state["address"], port, connect_timeout=10 if port else 5)
                        + ["systemctl is-system-running --wait >/dev/null; " + then],
                        check=False, capture_output=True, timeout=180 if port else 120)
        except subprocess.TimeoutExpired:
            continue
        if probe.returncode == 0:
            return probe.stdout.strip()
        time.sleep(2 if port else 0.5)
    raise SystemExit("%s: %s not reachable over SSH after %d s; see %s"
                     % (source, state["name"], timeout, state["console"]))


def record_boot(state, started, where, source="testbed", note=""):
    """Boot to SSH-ready: into the state, the log and ``$PODSEC_TESTBED_BOOT_LOG`` (NAME<TAB>seconds)."""
    state["boot_seconds"] = round(time.time() - started, 1)
    log("%s up at %s (boot to SSH-ready %.1f s%s)" % (state["name"], where, state["boot_seconds"], note), source)
    if os.environ.get("PODSEC_TESTBED_BOOT_LOG"):
        with open(os.environ["PODSEC_TESTBED_BOOT_LOG"], "a") as handle:
            handle.write("%s\t%.1f\n" % (state["name"], state["boot_seconds"]))


def boot(state):
    """Start systemd-nspawn for an existing host directory and wait until SSH answers."""
    started = time.time()
    console = open(state["console"], "ab")
    env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
    process = subprocess.Popen(
        # nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroup hierarchy nspawn needs.
        ["nsenter", "--net=/run/netns/" + LAB_NETNS, "systemd-nspawn", "--register=no", "--keep-unit", "--quiet",
         "--network-bridge=" + LAB_BRIDGE, "--capability=all",
         "--system-call-filter=bpf keyctl add_key request_key", "--console=read-only",
         "--machine=" + state["name"], "--hostname=" + state["hostname"], "-b", "-D", state["root"]],
        stdin=subprocess.DEVNULL, stdout=console, stderr=console, env=env, start_new_session=True)
    state["pid"] = process.pid
    with open(state_path(state["name"]), "w") as handle:
        json.dump(state, handle)
    wait_for_ssh(state, process)
    record_boot(state, started, state["address"])
    with open(state_path(state["name"]), "w") as handle:
        json.dump(state, handle)
    return state


def prepare_root(name, address, rootfs, public_key):
    host_dir = os.path.join(HOSTS_DIR, name)
    root = os.path.join(host_dir, "root")
    if os.path.exists(host_dir):
        shutil.rmtree(host_dir)
    os.makedirs(host_dir)
    run(["cp", "-a", "--reflink=auto", rootfs, root])
    os.makedirs(os.path.join(root, "etc/podsec-testbed"), exist_ok=True)
    with open(os.path.join(root, "etc/podsec-testbed/network"), "w") as handle:
        handle.write("ADDRESS=%s/%d\nGATEWAY=%s\n" % (address, LAB_SUBNET.prefixlen, LAB_GATEWAY))
    with open(os.path.join(root, "etc/hostname"), "w") as handle:
        handle.write(name[len(PREFIX):] + "\n")
    with open(os.path.join(root, "etc/podsec-testbed/machine"), "w") as handle:
        handle.write(name + "\n")
    # The host's own name must resolve, or every sudo/su waits for a DNS timeout first.
    with open(os.path.join(root, "etc/hosts"), "a") as handle:
        handle.write("127.0.1.1\t%s\n" % name[len(PREFIX):])
    with open(os.path.join(root, "root/.ssh/authorized_keys"), "w") as handle:
        handle.write(public_key)
    os.chmod(os.path.join(root, "root/.ssh/authorized_keys"), 0o600)
    os.remove(os.path.join(root, ".podsec-complete"))
    image_dir = os.path.join(root, "usr/local/share/podsec-testbed")
    os.makedirs(image_dir, exist_ok=True)
    shutil.copy(image_archive(rootfs), os.path.join(image_dir, "busybox.tar"))
    return host_dir, root


def public(state):
    """A host as callers know it: by its unprefixed name."""
    return dict(state, name=state.get("hostname", state["name"]), machine=state["name"])


def cmd_up(names, suite=DEFAULT_SUITE):
    if suite not in SUITES:
        raise SystemExit("testbed: unknown suite %r (one of %s)" % (suite, ", ".join(SUITES)))
    rootfs = ensure_rootfs(suite)
    public_key = ensure_ssh_key()
    results = []
    for name in names:
        with Lock():
            existing = load_state(name)
            if existing and pid_alive(existing["pid"]):
                results.append(existing)
                continue
            ensure_lab_network()
            ensure_inotify_instances()
            address = allocate_address(name)
            copy_started = time.time()
            host_dir, root = prepare_root(name, address, rootfs, public_key)
            state = {"name": name, "hostname": name[len(PREFIX):], "address": address, "root": root,
                     "suite": suite,
                     "host_dir": host_dir,
                     "console": os.path.join(host_dir, "console.log"),
                     "copy_seconds": round(time.time() - copy_started, 1)}
            # Reserve the address before the (slow) boot so a concurrent 'up' never takes it.
            state["pid"] = -1
            with open(state_path(name), "w") as handle:
                json.dump(state, handle)
        results.append(boot(state))
    print(json.dumps([public(state) for state in results], indent=2))


def host_inits():
    """name -> pid of the init of every test host on this machine, also of hosts whose nspawn died.

    An init is PID 1 of its own PID namespace (NSpid ends in 1) whose root holds the test-bed marker
    /etc/podsec-testbed/machine;
    its root is read through /proc/PID/root, which works across mount namespaces.
    """
    inits = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/status" % pid) as handle:
                nspid = [line.split()[1:] for line in handle if line.startswith("NSpid:")][0]
            if len(nspid) < 2 or nspid[-1] != "1":
                continue
            with open("/proc/%s/root/etc/podsec-testbed/machine" % pid) as handle:
                inits[handle.read().strip()] = int(pid)
        except (OSError, IndexError):
            continue
    return inits


def kill_container(pid):
    """End the container at once: killing its init ends its whole PID namespace, and nspawn exits.

    Killing only nspawn would leave the container running, orphaned.
    """
    with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
        for child in handle.read().split():
            os.kill(int(child), signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def stop_process(state, orderly):
    pid = state.get("pid", -1)
    if pid <= 0 or not pid_alive(pid):
        return
    if orderly:
        # systemd-nspawn turns SIGTERM into SIGRTMIN+3 for the booted init: an orderly poweroff.
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + SHUTDOWN_TIMEOUT
        while time.time() < deadline and pid_alive(pid):
            time.sleep(0.2)
        if not pid_alive(pid):
            return
        log("%s did not power off in %d s; killing it" % (state["name"], SHUTDOWN_TIMEOUT))
    kill_container(pid)


def unmount_below(path):
    with open("/proc/self/mounts") as handle:
        mounts = [line.split()[1] for line in handle]
    for mount_point in sorted((m for m in mounts if m == path or m.startswith(path + "/")), reverse=True):
        run(["umount", "-l", mount_point], check=False, capture_output=True)


def cmd_down(names, down_all):
    if down_all:
        names = [s["name"] for s in running_states() if s and s["name"].startswith(PREFIX)]
    for name in names:
        state = load_state(name)
        if state is None:
            host_dir = os.path.join(HOSTS_DIR, name)
            state = {"name": name, "pid": -1, "host_dir": host_dir, "root": os.path.join(host_dir, "root")}
        # The disk is thrown away, so an orderly shutdown would only cost time.
        stop_process(state, orderly=False)
        # A host whose nspawn died (crash, kill) leaves its init orphaned: killing it ends the host.
        orphan = host_inits().get(name)
        if orphan:
            os.kill(orphan, signal.SIGKILL)
            time.sleep(0.5)
        unmount_below(state["host_dir"])
        if os.path.isdir(state["host_dir"]):
            shutil.rmtree(state["host_dir"])
        if os.path.exists(state_path(name)):
            os.remove(state_path(name))
        log("%s down" % name)
    with Lock():
        if not [s for s in running_states() if s]:
            remove_lab_network()


def cmd_restart(name):
    state = load_state(name)
    if state is None:
        raise SystemExit("testbed: %s is not up" % name)
    stop_process(state, orderly=True)
    unmount_below(state["root"])
    boot(state)
    print(json.dumps(public(state), indent=2))


def leftovers():
    """What the test bed left on this machine for this prefix; the shared lab network counts once no
    host of any prefix is up."""
    found = ["host state: " + s["name"] for s in running_states() if s and s["name"].startswith(PREFIX)]
    found += ["host init: %s (pid %d)" % item for item in sorted(host_inits().items()) if item[0].startswith(PREFIX)]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"systemd-nspawn") and any(
                a.startswith(("--machine=" + PREFIX).encode()) for a in argv):
            found.append("process: %s %s" % (pid, b" ".join(argv).decode(errors="replace")))
    own_dirs = os.path.join(HOSTS_DIR, PREFIX)
    with open("/proc/self/mounts") as handle:
        found += ["mount: " + line.split()[1] for line in handle if line.split()[1].startswith(own_dirs)]
    if os.path.isdir(HOSTS_DIR):
        found += ["host disk: " + os.path.join(HOSTS_DIR, d) for d in sorted(os.listdir(HOSTS_DIR))
                  if d.startswith(PREFIX)]
    if not [s for s in running_states() if s]:
        if os.path.exists(os.path.join("/run/netns", LAB_NETNS)):
            found.append("network namespace: " + LAB_NETNS)
        if os.path.exists(os.path.join("/sys/class/net", UPLINK_HOST)):
            found.append("link: " + UPLINK_HOST)
    return found


def require_state(name):
    state = load_state(name)
    if state is None:
        raise SystemExit("testbed: %s is not up" % name)
    return state


def tar_add(archive, name, data=None, mode=0o644, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.linkname = kind, mode, 0, linkname
    info.uname = info.gname = "root"
    if data is not None:
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    else:
        archive.addfile(info)


def build_layer(busybox):
    """One image layer: busybox-static, its applet links, and a non-root user 10001."""
    applets = run([busybox, "--list"], capture_output=True).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for directory, mode in (("bin", 0o755), ("etc", 0o755), ("home", 0o755), ("home/app", 0o755),
                                ("tmp", 0o1777), ("data", 0o755), ("run", 0o755), ("var", 0o755)):
            tar_add(layer, directory, mode=mode, kind=tarfile.DIRTYPE)
        with open(busybox, "rb") as handle:
            tar_add(layer, "bin/busybox", handle.read(), mode=0o755)
        for applet in sorted(set(applets) - {"busybox"}):
            tar_add(layer, "bin/" + applet, kind=tarfile.SYMTYPE, linkname="busybox")
        tar_add(layer, "etc/passwd", ("root:x:0:0:root:/root:/bin/sh\n"
                                      "app:x:%d:%d:app:/home/app:/bin/sh\n"
                                      "nobody:x:65534:65534:nobody:/:/bin/false\n" % (IMAGE_USER, IMAGE_USER)).encode())
        tar_add(layer, "etc/group", ("root:x:0:\napp:x:%d:\nnogroup:x:65534:\n" % IMAGE_USER).encode())
    return buffer.getvalue()


def image_archive(rootfs):
    """Build (once) a docker-archive of localhost/podsec/busybox:latest that `podman load` accepts."""
    busybox = os.path.join(rootfs, "bin/busybox")
    with open(busybox, "rb") as handle:
        key = hashlib.sha256(handle.read() + open(__file__, "rb").read()).hexdigest()[:16]
    path = os.path.join(CACHE, "image-busybox-%s.tar" % key)
    if not os.path.exists(path):
        layer = build_layer(busybox)
        diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
        config = json.dumps({
            "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
            "config": {"User": str(IMAGE_USER), "Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/home/app"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "podsec testbed: busybox-static"}],
        }, sort_keys=True).encode()
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        layer_name = diff_id[7:] + "/layer.tar"
        manifest = json.dumps([{"Config": config_name, "RepoTags": [IMAGE_NAME], "Layers": [layer_name]}]).encode()
        partial = path + ".partial"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
            tar_add(archive, diff_id[7:], mode=0o755, kind=tarfile.DIRTYPE)
            tar_add(archive, layer_name, layer)
            tar_add(archive, config_name, config)
            tar_add(archive, "manifest.json", manifest)
        os.rename(partial, path)
    return path


def host_command_parser(description):
    """The command line both test-bed CLIs share: up NAME..., down [NAME...] [--all], ssh NAME [-- CMD...], list."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up").add_argument("names", nargs="+")
    down = sub.add_parser("down")
    down.add_argument("names", nargs="*")
    down.add_argument("--all", action="store_true")
    ssh = sub.add_parser("ssh")
    ssh.add_argument("name")
    ssh.add_argument("cmd", nargs=argparse.REMAINDER)
    sub.add_parser("list")
    return parser, sub


def parse_host_args(parser, source):
    """Parse the command line of either test-bed CLI: refuse to run as another user than root and put
    PODSEC_TESTBED_PREFIX in front of the host names given."""
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("%s: must run as root" % source)
    for attribute in ("names", "name"):
        if hasattr(args, attribute):
            value = getattr(args, attribute)
            setattr(args, attribute, [PREFIX + n for n in value] if isinstance(value, list) else PREFIX + value)
    return args


def remote_command(args):
    """The command of ``ssh NAME -- CMD...`` without the separator."""
    return args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd


def main():
    parser, sub = host_command_parser(__doc__)
    sub.choices["up"].add_argument("--suite", default=DEFAULT_SUITE, choices=SUITES,
                                   help="Debian suite of the hosts (default: $PODSEC_TESTBED_SUITE, else trixie)")
    sub.add_parser("restart").add_argument("name")
    sub.add_parser("rootdir").add_argument("name")
    sub.add_parser("leftovers")
    sub.add_parser("image")
    args = parse_host_args(parser, "testbed")
    if args.command == "up":
        cmd_up(args.names, args.suite)
    elif args.command == "down":
        cmd_down(args.names, args.all)
    elif args.command == "restart":
        cmd_restart(args.name)
    elif args.command == "ssh":
        os.execvp("ssh", ssh_base(require_state(args.name)["address"]) + remote_command(args))
    elif args.command == "rootdir":
        print(require_state(args.name)["root"])
    elif args.command == "list":
        print(json.dumps([public(s) for s in running_states() if s and s["name"].startswith(PREFIX)], indent=2))
    elif args.command == "leftovers":
        found = leftovers()
        print("\n".join(found))
        sys.exit(1 if found else 0)
    elif args.command == "image":
        print(image_archive(ensure_rootfs()))


if __name__ == "__main__":
    main()
