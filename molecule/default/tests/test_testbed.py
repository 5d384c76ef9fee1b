"""The test bed is real: booted Debian 13 hosts with systemd, podman 5 and Quadlet, over SSH."""

import re

import pytest

testinfra_hosts = ["ansible://podman_hosts"]


def test_systemd_is_pid_1_and_the_system_is_running(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state == "running", host.run("systemctl --failed --no-legend").stdout


def test_debian_13(host):
    assert host.system_info.distribution == "debian"
    assert host.system_info.release.startswith("13")


def test_podman_5_with_quadlet(host):
    version = host.run("podman version --format '{{.Client.Version}}'").stdout.strip()
    assert int(version.split(".")[0]) >= 5
    assert host.file("/usr/libexec/podman/quadlet").is_file


@pytest.mark.parametrize("package", ["crun", "openssh-server", "python3", "gnupg", "skopeo",
                                     "docker-registry", "auditd", "policycoreutils-python-utils", "nftables"])
def test_tools_installed(host, package):
    assert host.package(package).is_installed


def test_local_image_runs_as_non_root_for_root_and_rootless(host):
    assert host.run("podman run --rm localhost/podsec/busybox:latest id -u").stdout.strip() == "10001"
    rootless = host.run("su - podsec -c 'podman run --rm localhost/podsec/busybox:latest id -u'")
    assert rootless.rc == 0, rootless.stderr
    assert rootless.stdout.strip() == "10001"


def test_hosts_reach_each_other(host):
    addresses = host.run("ip -4 -o addr show host0").stdout
    own = re.search(r"inet (\S+)/", addresses).group(1)
    # Both hosts are on the lab bridge; the gateway is the lab namespace's bridge address.
    assert own.startswith("10.231.0.")
    assert host.run("ping -c1 -W2 10.231.0.1").rc == 0 or host.run("busybox ping -c1 -W2 10.231.0.1").rc == 0
