"""An attacker inside containers deployed with the defaults, rootful and rootless (issue 17).

in1 and in2 keep every default (vars/inside.yml); each ctl-* container opts out of exactly one protection
and shows the same attack working, so that no check passes because the attack was harmless or the tool
missing. The attacker runs as the container user and uses what the image has (busybox) plus /tools/probe
(files/probe.c), a static stand-in for a tool of the image that reports clone, clone3, a raw socket, a
netfilter netlink socket and an nf_tables batch. The network half of the issue is tested elsewhere.
"""

import os
import re
import runpy

import pytest

from conftest import REPO, Podman

testinfra_hosts = ["ansible://hardened-container-h1"]

OWNERS = [pytest.param(False, id="rootful"), pytest.param(True, id="rootless")]
PROFILE_PATH = "/etc/containers/podsec/seccomp.json"
# Every capability, as /proc shows it once a nested user namespace hands them back.
ALL_CAPS = re.compile(r"^CapEff:\s*0*1ffffffffff$", re.M)
NEW_MOUNT = "unshare -r -m sh -c 'mount -t tmpfs none /var && echo mounted'"
EXEC_FROM_NEW_MOUNT = ("cp /tools/probe /tmp/payload && chmod 755 /tmp/payload && "
                       "unshare -r -m sh -c 'mount -t tmpfs none /var && cp /tmp/payload /var/x && /var/x'")


def podman_for(host, rootless):
    return Podman(host, rootless)


def probe(result):
    """The probe's report: {attempt: 'ok' or an errno name}."""
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)


def volume_dir(rootless, name):
    return "/srv/hi/%s/%s" % ("podsec" if rootless else "root", name)


def host_uid(podman, name):
    return int(podman.check("podman top %s huid" % name).split("\n")[1].split()[0])


# ---------------------------------------------------------------- the profile, and what runs under it


@pytest.mark.parametrize("rootless", OWNERS)
def test_defaults_run_under_the_tightened_profile_and_the_control_under_podmans(host, rootless):
    profile = host.file(PROFILE_PATH)
    expected = runpy.run_path(os.path.join(REPO, "plugins", "module_utils", "_seccomp_profile.py"))["profile_text"]()
    assert '"clone3"' in expected and profile.content_string == expected
    assert (profile.user, profile.group, profile.mode) == ("root", "root", 0o644)
    podman = podman_for(host, rootless)
    for name in ("in1", "in2", "ctl-ulimits", "ctl-volume"):
        assert "seccomp=" + PROFILE_PATH in podman.inspect(name)["HostConfig"]["SecurityOpt"], name
    assert not any(option.startswith("seccomp=") for option in podman.inspect("ctl-seccomp")["HostConfig"]["SecurityOpt"])


@pytest.mark.parametrize("rootless", OWNERS)
def test_ordinary_workloads_run_under_the_tightened_profile(host, rootless):
    podman = podman_for(host, rootless)
    served = podman.exec("in1", "wget -q -O- http://127.0.0.1:8080/passwd")
    assert served.rc == 0 and "root:" in served.stdout, served.stderr
    assert podman.run("podman healthcheck run in1").rc == 0
    script = podman.exec("in1", "for i in 1 2 3; do echo $i | cat & done; wait; (sleep 0; echo sub) | wc -l")
    assert script.rc == 0 and script.stdout.split()[-1] == "1", script.stderr


# ---------------------------------------------------------------- nested user namespaces


@pytest.mark.parametrize("rootless", OWNERS)
def test_attack_nested_user_namespace_fails(host, rootless):
    podman = podman_for(host, rootless)
    attack = podman.exec("in1", "unshare -r grep CapEff /proc/self/status")
    assert attack.rc != 0 and "Operation not permitted" in attack.stderr, attack.stdout + attack.stderr
    assert not ALL_CAPS.search(attack.stdout)
    report = probe(podman.exec("in1", "/tools/probe"))
    assert report["clone"] == "EPERM"  # clone(CLONE_NEWUSER)
    assert report["clone3"] == "ENOSYS"  # the C library falls back to clone
    # Control: podman's default profile lets the same user hold every capability in a nested namespace.
    control = podman.exec("ctl-seccomp", "unshare -r grep CapEff /proc/self/status")
    assert control.rc == 0 and ALL_CAPS.search(control.stdout), control.stdout + control.stderr
    assert probe(podman.exec("ctl-seccomp", "/tools/probe"))["clone"] == "ok"


@pytest.mark.parametrize("rootless", OWNERS)
def test_attack_mounting_a_new_tmpfs_fails(host, rootless):
    podman = podman_for(host, rootless)
    for command in ("mount -t tmpfs none /var && echo mounted", NEW_MOUNT):
        attack = podman.exec("in1", command)
        assert attack.rc != 0 and "mounted" not in attack.stdout, command
    control = podman.exec("ctl-seccomp", NEW_MOUNT)
    assert control.rc == 0 and control.stdout.strip() == "mounted", control.stderr


@pytest.mark.parametrize("rootless", OWNERS)
def test_attack_executing_a_copied_binary_from_a_fresh_mount_fails(host, rootless):
    podman = podman_for(host, rootless)
    # /tmp is noexec: the payload cannot run where the container user can write ...
    direct = podman.exec("in1", "cp /tools/probe /tmp/payload && chmod 755 /tmp/payload && /tmp/payload")
    assert direct.rc != 0 and "Permission denied" in direct.stderr
    # ... nor from a tmpfs of its own.
    attack = podman.exec("in1", EXEC_FROM_NEW_MOUNT)
    assert attack.rc != 0 and "clone3" not in attack.stdout, attack.stdout
    control = podman.exec("ctl-seccomp", EXEC_FROM_NEW_MOUNT)
    assert control.rc == 0 and "clone3 ok" in control.stdout, control.stdout + control.stderr


@pytest.mark.parametrize("rootless", OWNERS)
def test_attack_raw_and_netfilter_sockets_fail(host, rootless):
    podman = podman_for(host, rootless)
    # In the container's own namespaces: no capability for a raw socket or nf_tables.
    report = probe(podman.exec("in1", "/tools/probe"))
    assert report["raw"] == "EPERM" and report["nftables"] == "EPERM", report
    assert report["netlink"] == "ok"  # opening the socket needs nothing: the batch is what is refused
    # In a nested user and network namespace of its own: not even created.
    attack = podman.exec("in1", "unshare -r -n /tools/probe")
    assert attack.rc != 0 and "Operation not permitted" in attack.stderr
    assert "raw ok" not in attack.stdout and "nftables ok" not in attack.stdout
    control = probe(podman.exec("ctl-seccomp", "unshare -r -n /tools/probe"))
    assert control["raw"] == "ok" and control["nftables"] == "ok", control


# ---------------------------------------------------------------- ulimits


@pytest.mark.parametrize("rootless", OWNERS)
def test_ulimits_hold_inside(host, rootless):
    podman = podman_for(host, rootless)
    shell = podman.exec("in1", "ulimit -n; ulimit -Hn; ulimit -u").stdout.split()
    assert shell == ["4096", "8192", "256"], shell
    limits = podman.exec("in1", "cat /proc/self/limits").stdout
    assert re.search(r"^Max open files\s+4096\s+8192\s", limits, re.M), limits
    assert re.search(r"^Max processes\s+256\s+256\s", limits, re.M), limits
    control = podman.exec("ctl-ulimits", "cat /proc/self/limits").stdout
    assert not re.search(r"^Max open files\s+4096\s+8192\s", control, re.M), control
    assert not re.search(r"^Max processes\s+256\s+256\s", control, re.M), control


# ---------------------------------------------------------------- private volumes


@pytest.mark.parametrize("rootless", OWNERS)
def test_private_volume_belongs_to_the_container_user_and_is_writable(host, rootless):
    podman = podman_for(host, rootless)
    write = podman.exec("in2", "echo in2-private-data > /data/secret.txt && ls -ln /data/secret.txt")
    assert write.rc == 0, write.stderr
    assert write.stdout.split()[2] == "10001"
    directory = host.file(volume_dir(rootless, "in2"))
    assert directory.mode == 0o700
    assert directory.uid == host_uid(podman, "in2")
    # Control: a shared volume stays root's, and the container user cannot write it.
    control = podman.exec("ctl-volume", "touch /data/x")
    assert control.rc != 0 and "Permission denied" in control.stderr
    assert host.file(volume_dir(rootless, "ctl-volume")).uid == 0


@pytest.mark.parametrize("rootless", OWNERS)
def test_attack_reading_another_containers_volume_with_its_host_uid_fails(host, rootless):
    """A process with in1's host uid (in1 escaped, or anything else that runs with that uid) reads in2's volume."""
    podman = podman_for(host, rootless)
    assert podman.exec("in2", "echo in2-private-data > /data/secret.txt").rc == 0
    uid = host_uid(podman, "in1")
    assert uid not in (0, 1001, host_uid(podman, "in2"))
    as_in1 = "setpriv --reuid=%d --regid=%d --clear-groups -- " % (uid, uid)
    attack = host.run(as_in1 + "cat %s/secret.txt" % volume_dir(rootless, "in2"))
    assert attack.rc != 0 and "Permission denied" in attack.stderr
    assert "in2-private-data" not in attack.stdout
    # Control: the same uid reads a volume that opted out (a shared one, as the role made them before).
    planted = volume_dir(rootless, "ctl-volume") + "/data.txt"
    host.run("echo ctl-volume-data > %s && chmod 0644 %s" % (planted, planted))
    control = host.run(as_in1 + "cat %s" % planted)
    assert control.rc == 0 and control.stdout.strip() == "ctl-volume-data", control.stderr
