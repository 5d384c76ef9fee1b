"""The test bed's own contract: a host boots to SSH with systemd as PID 1, reboots, and `down`
leaves nothing behind (process, mount, disk, veth, namespace), also after the host crashed.

Runs as root on this machine (it boots real hosts): `python -m pytest tests/testbed`.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTBED = [sys.executable, os.path.join(HERE, "testbed.py")]
HOST = "lifecycle-h1"


def run_testbed(*args, check=True):
    return subprocess.run(TESTBED + list(args), capture_output=True, text=True, check=check, timeout=600)


def on_host(*command):
    return run_testbed("ssh", HOST, "--", *command, check=False)


def mine(found):
    """Leftovers of this test's host (other scenarios may have hosts up at the same time)."""
    return [item for item in found if HOST in item]


@pytest.fixture
def host():
    up = json.loads(run_testbed("up", HOST).stdout)
    yield up[0]
    run_testbed("down", HOST)


def test_boots_to_ssh_with_systemd_as_pid_1(host):
    assert host["boot_seconds"] > 0
    assert on_host("cat", "/proc/1/comm").stdout.strip() == "systemd"
    assert on_host("hostname").stdout.strip() == HOST


def test_restart_is_a_reboot_that_keeps_the_disk_and_loses_tmpfs(host):
    # ssh joins its arguments into one remote shell command line.
    on_host("echo kept > /var/tmp/marker; echo lost > /run/marker")
    boot_id = on_host("cat", "/proc/sys/kernel/random/boot_id").stdout
    run_testbed("restart", HOST)
    assert on_host("cat", "/proc/sys/kernel/random/boot_id").stdout != boot_id
    assert on_host("cat", "/var/tmp/marker").stdout.strip() == "kept"
    assert on_host("test", "-e", "/run/marker").returncode == 1


def test_down_leaves_nothing_behind_even_after_a_crash():
    up = json.loads(run_testbed("up", HOST).stdout)[0]
    assert mine(run_testbed("leftovers", check=False).stdout.splitlines())  # the check sees a running host
    os.kill(up["pid"], signal.SIGKILL)  # nspawn dies as in a crash; the container is orphaned
    time.sleep(1)
    run_testbed("down", HOST)
    left = mine(run_testbed("leftovers", check=False).stdout.splitlines())
    assert left == []
    veths = subprocess.run(["ip", "netns", "exec", "podsec-lab", "ip", "-o", "link"], capture_output=True,
                           text=True, check=False).stdout
    assert "vb-" + HOST not in veths


@pytest.mark.parametrize("suite, podman", [("sid", "5.8."), ("trixie", "5.4.")])
def test_each_suite_boots_and_runs_a_quadlet_container_over_ssh(suite, podman):
    name = "lifecycle-%s" % suite
    up = json.loads(run_testbed("up", "--suite", suite, name).stdout)[0]
    try:
        assert up["suite"] == suite

        def ssh(command):
            return run_testbed("ssh", name, "--", command, check=False)

        assert ssh("cat /proc/1/comm").stdout.strip() == "systemd"
        assert ssh("podman --version").stdout.strip().startswith("podman version " + podman)
        started = ssh(
            "podman load -q -i /usr/local/share/podsec-testbed/busybox.tar >/dev/null"
            " && printf '[Container]\\nImage=localhost/podsec/busybox:latest\\nExec=sleep 300\\nReadOnly=true\\n'"
            " > /etc/containers/systemd/probe.container"
            " && systemctl daemon-reload && systemctl start probe.service"
            " && podman inspect -f '{{.State.Running}} {{.HostConfig.ReadonlyRootfs}}' systemd-probe")
        assert started.returncode == 0, started.stderr
        assert started.stdout.split() == ["true", "true"]
    finally:
        run_testbed("down", name)
