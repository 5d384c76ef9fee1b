# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Testinfra checks that a container on a booted host came out hardened (supported for consumers' verify).

Import it in a molecule ``verify`` (testinfra) as
``from ansible_collections.podsec.hardening.tests.verify import podsec_checks`` (docs/reuse.md says how the
collection path gets onto ``sys.path``). Each ``assert_*`` function takes testinfra's ``host`` (connected as
root), raises ``AssertionError`` with a message naming the container and what is wrong, and asks the real
tools: podman for the container's configuration and published ports, the kernel (``/proc/PID/...`` of every
process of the container, read from the host) for privileges, mounts, ids and environment, a TCP connection
for reachability, and podman's pull for the trust policy's verdict. ``user`` names the owner of a rootless
container (``None``: root).

The parsers below are pure and unit-tested (tests/unit/test_podsec_checks.py).
"""

from __future__ import annotations

import ipaddress
import json
import shlex

CAPABILITY_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


# ---------------------------------------------------------------- pure parsers


def parse_status(text):
    """``/proc/PID/status`` as a dict of field -> value (stripped)."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def parse_id_map(text):
    """``/proc/PID/uid_map`` as a list of (inside, outside, count) triples."""
    return [tuple(int(word) for word in line.split()) for line in text.splitlines() if line.strip()]


def id_inside(id_map, outside_id):
    """The id inside the namespace that ``outside_id`` (host view) maps to, or None when it is not mapped."""
    for inside, outside, count in id_map:
        if outside <= outside_id < outside + count:
            return inside + outside_id - outside
    return None


def maps_host_root(id_map):
    """True when the map is the host's own (identity from 0): the container shares the host's ids."""
    return any(inside == 0 and outside == 0 for inside, outside, _count in id_map)


def mount_options(mounts_text, target):
    """Options of the last mount on ``target`` in a ``/proc/PID/mounts`` text, or None."""
    options = None
    for line in mounts_text.splitlines():
        words = line.split()
        if len(words) >= 4 and words[1] == target:
            options = words[3].split(",")
    return options


def parse_environ(data):
    """``/proc/PID/environ`` (NUL separated) as a list of ``NAME=VALUE`` strings."""
    return [entry for entry in data.split("\0") if entry]


def non_loopback_bindings(ports):
    """Published bindings of ``podman inspect``'s ``NetworkSettings.Ports`` that are not on a loopback address.

    Returns a list of ``"ADDRESS:PORT -> CONTAINER_PORT"`` strings; an empty or unspecified address (all
    addresses) counts as not loopback.
    """
    bad = []
    for container_port, bindings in sorted((ports or {}).items()):
        for binding in bindings or []:
            address = (binding.get("HostIp") or "").strip("[]")
            try:
                loopback = ipaddress.ip_address(address).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                bad.append("%s:%s -> %s" % (address or "*", binding.get("HostPort"), container_port))
    return bad


def published_ports(ports):
    """The host ports of all published bindings, sorted, each once."""
    return sorted({int(binding["HostPort"]) for bindings in (ports or {}).values() for binding in bindings or []
                   if binding.get("HostPort")})


def policy_refusal(stderr):
    """True when podman's pull error is the signature policy's refusal (not a missing image or registry)."""
    return "Source image rejected" in stderr or "is rejected by policy" in stderr


# ---------------------------------------------------------------- host access


def _run(host, command, user=None):
    """Run ``command`` as root, or through a login shell of ``user`` with its runtime directory."""
    if user:
        # The runtime directory of a lingering user (where its systemd units and containers run), if it has one.
        runtime = "/run/user/%s" % host.check_output("id -u %s" % shlex.quote(user)).strip()
        if host.file(runtime).is_directory:
            command = "XDG_RUNTIME_DIR=%s %s" % (runtime, command)
        command = "su - %s -c %s" % (shlex.quote(user), shlex.quote(command))
    return host.run(command)


class Container(object):
    """What podman and the kernel say about one running container."""

    def __init__(self, host, name, user=None):
        self.host = host
        self.name = name
        self.user = user
        self.label = "container %s (%s)" % (name, "owner %s" % user if user else "rootful")
        result = _run(host, "podman inspect --type container %s" % shlex.quote(name), user)
        assert result.rc == 0, "%s: podman inspect failed: %s" % (self.label, result.stderr.strip())
        self.inspect = json.loads(result.stdout)[0]
        assert self.inspect["State"].get("Running"), "%s is not running" % self.label
        top = _run(host, "podman top %s hpid" % shlex.quote(name), user)
        assert top.rc == 0, "%s: podman top failed: %s" % (self.label, top.stderr.strip())
        self.host_pids = [int(word) for word in top.stdout.split()[1:]]
        assert self.host_pids, "%s has no processes" % self.label
        self.owner_uid = int(host.check_output("id -u %s" % shlex.quote(user))) if user else 0

    def proc(self, pid, name):
        """A file of ``/proc/PID`` as root on the host sees it."""
        return self.host.check_output("cat /proc/%d/%s" % (pid, name))

    def statuses(self):
        """``(pid, status fields)`` of each process. One that exited between ``podman top`` and this read (a
        healthcheck's short-lived command) is left out; the container's first process must always be read."""
        found = []
        for pid in self.host_pids:
            read = self.host.run("cat /proc/%d/status" % pid)
            if read.rc != 0 and pid != self.host_pids[0] and self.host.run("test -e /proc/%d" % pid).rc != 0:
                continue
            assert read.rc == 0, "%s: cannot read /proc/%d/status: %s" % (self.label, pid, read.stderr.strip())
            found.append((pid, parse_status(read.stdout)))
        return found


# ---------------------------------------------------------------- the checks


def assert_read_only(host, name, user=None):
    """The root file system is mounted read-only: podman's configuration and the kernel's mount table agree."""
    box = Container(host, name, user)
    assert box.inspect["HostConfig"].get("ReadonlyRootfs") is True, "%s: podman runs it with a writable root (ReadonlyRootfs false)" % box.label
    options = mount_options(box.proc(box.host_pids[0], "mounts"), "/")
    assert options is not None, "%s: no root mount in /proc/%d/mounts" % (box.label, box.host_pids[0])
    assert "ro" in options, "%s: the root file system is mounted %s" % (box.label, ",".join(options))


def assert_no_new_privileges(host, name, user=None):
    """Every process of the container runs with the kernel's no_new_privs flag."""
    box = Container(host, name, user)
    for pid, status in box.statuses():
        assert status.get("NoNewPrivs") == "1", "%s: process %d has NoNewPrivs %s" % (box.label, pid, status.get("NoNewPrivs"))


def assert_no_capabilities(host, name, user=None):
    """Every process of the container has empty capability sets, the bounding set included."""
    box = Container(host, name, user)
    for pid, status in box.statuses():
        held = ["%s=%s" % (field, status.get(field)) for field in CAPABILITY_FIELDS if int(status.get(field, "1"), 16) != 0]
        assert not held, "%s: process %d holds capabilities: %s" % (box.label, pid, " ".join(held))


def assert_non_root_mapped_user(host, name, user=None):
    """Every process runs as a non-root user in a user namespace of its own, mapped to an unprivileged host id.

    The host id is neither root nor (rootless) the owner's own uid, and the namespace is not the host's.
    """
    box = Container(host, name, user)
    for pid, status in box.statuses():
        host_uid = int(status["Uid"].split()[1])
        id_map = parse_id_map(box.proc(pid, "uid_map"))
        inside = id_inside(id_map, host_uid)
        assert not maps_host_root(id_map), "%s: process %d shares the host's user ids (uid_map %s)" % (box.label, pid, id_map)
        assert inside not in (None, 0), "%s: process %d runs as root inside the container (host uid %d)" % (box.label, pid, host_uid)
        assert host_uid not in (0, box.owner_uid), "%s: process %d runs as host uid %d" % (box.label, pid, host_uid)


def assert_secrets_as_files(host, name, paths, user=None):
    """Each path (``/run/secrets/NAME``, or a bare ``NAME``) is a non-empty file mounted into the container, and
    its content is in no process's environment and not in ``podman inspect``.

    The values are read from the container itself, so the test needs no secret.
    """
    box = Container(host, name, user)
    targets = [path if path.startswith("/") else "/run/secrets/%s" % path for path in paths]
    assert targets, "%s: no secret paths given" % box.label
    mounted = {mount.get("Destination") for mount in box.inspect.get("Mounts", [])}
    inspect_text = json.dumps(box.inspect)
    environments = [(pid, parse_environ(box.proc(pid, "environ"))) for pid in box.host_pids]
    environments.append(("podman inspect Config.Env", box.inspect["Config"].get("Env") or []))
    for target in targets:
        assert target in mounted, "%s: %s is not a mounted file (mounts: %s)" % (box.label, target, sorted(mounted))
        read = host.run("cat /proc/%d/root%s" % (box.host_pids[0], target))
        assert read.rc == 0 and read.stdout, "%s: %s is missing or empty in the container" % (box.label, target)
        value = read.stdout.rstrip("\n")
        for where, entries in environments:
            named = [entry.split("=", 1)[0] for entry in entries if value in entry]
            assert not named, "%s: the value of %s is in the environment of %s (%s)" % (box.label, target, where, ", ".join(named))
        assert value not in inspect_text, "%s: the value of %s is in podman inspect" % (box.label, target)


def connects(host, address, port):
    """True when a TCP connection from the host to ADDRESS:PORT opens within 5 seconds."""
    probe = "timeout 5 bash -c %s" % shlex.quote("exec 3<>/dev/tcp/%s/%d" % (address, port))
    return host.run(probe).rc == 0


def assert_ports_only_on_loopback(host, name, user=None):
    """Every published port is bound to a loopback address, answers there and refuses on the host's other addresses."""
    box = Container(host, name, user)
    ports = box.inspect.get("NetworkSettings", {}).get("Ports")
    bad = non_loopback_bindings(ports)
    assert not bad, "%s: published beyond loopback: %s" % (box.label, ", ".join(bad))
    addresses = [address for address in host.check_output("hostname -I").split()
                 if not ipaddress.ip_address(address).is_loopback and ipaddress.ip_address(address).version == 4]
    for port in published_ports(ports):
        assert connects(host, "127.0.0.1", port), "%s: published port %d does not answer on 127.0.0.1" % (box.label, port)
        reached = [address for address in addresses if connects(host, address, port)]
        assert not reached, "%s: port %d answers on %s" % (box.label, port, ", ".join(reached))


def assert_trust_refuses(host, image, user=None):
    """Podman's pull of ``image`` (as root, or as ``user``) fails with the signature policy's refusal.

    Any other failure (image or registry missing, network) fails the check: it proves nothing about the policy.
    """
    present = _run(host, "podman image exists %s" % shlex.quote(image), user).rc == 0
    result = _run(host, "podman pull -q %s" % shlex.quote(image), user)
    assert result.rc != 0, "%s: pulled although the trust policy should refuse it" % image
    assert policy_refusal(result.stderr), "%s: the pull failed, but not by the trust policy: %s" % (image, result.stderr.strip())
    if not present:
        assert _run(host, "podman image exists %s" % shlex.quote(image), user).rc != 0, "%s: stored although refused" % image


def assert_hardened(host, name, user=None, secrets=()):
    """Every container check above; ``secrets``: the secret paths or names the container must have as files."""
    assert_read_only(host, name, user)
    assert_no_new_privileges(host, name, user)
    assert_no_capabilities(host, name, user)
    assert_non_root_mapped_user(host, name, user)
    if secrets:
        assert_secrets_as_files(host, name, secrets, user)
    assert_ports_only_on_loopback(host, name, user)
