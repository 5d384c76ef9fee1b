"""Network isolation on a booted host: lateral reads between containers deployed with the role's defaults.

converge.yml's "network isolation" block deploys (rootful): net-a and net-b on the declared internal network
backend, net-out on frontnet (internal: false, the egress control), loner (no network declared: Network=none),
iso-pub (publishes 18085, so a network of its own) and shared1/shared2 (network: bridge, podman's default
network: the opted-out control). web1 (rootful, publishes 18081, a network of its own) and web3 (rootless,
publishes 18083, pasta) come from the main block. Every container runs busybox httpd on 8080 inside.

Each attack is a read of another container's unpublished port 8080 at its address; each has a control that
shows the same read working where the protection is off.
"""

import json
import re

import pytest

from conftest import Podman

testinfra_hosts = ["ansible://hardened-container-h1"]

PORT = 8080


def root(host):
    return Podman(host, False)


def rootless(host):
    return Podman(host, True)


def networks(podman, container):
    """{network name: IPv4 address} of a running container."""
    data = podman.inspect(container)
    return dict((name, entry["IPAddress"]) for name, entry in (data["NetworkSettings"]["Networks"] or {}).items())


def address(podman, container):
    found = networks(podman, container)
    assert len(found) == 1, found
    return list(found.values())[0]


def read(podman, container, ip):
    """The attack: fetch /hostname from ``ip``:8080 (httpd serves /etc) from inside ``container``."""
    return podman.exec(container, "wget -T 5 -q -O- http://%s:%d/hostname" % (ip, PORT))


def hostname(podman, container):
    """What httpd serves as /hostname: the container's host name (its short id)."""
    return podman.inspect(container)["Config"]["Hostname"]


def uplink(host):
    return re.search(r"inet (10\.231\.\d+\.\d+)/", host.run("ip -4 -o addr show host0").stdout).group(1)


# ---------------------------------------------------------------- what the defaults chose


def test_a_container_without_a_network_gets_one_it_shares_with_nobody(host):
    podman = root(host)
    assert podman.inspect("loner")["HostConfig"]["NetworkMode"] == "none"
    assert [ip for ip in networks(podman, "loner").values() if ip] == []
    # Rootful with a published port: a network of its own, isolated from every other bridge.
    assert list(networks(podman, "web1")) == ["systemd-web1"]
    assert list(networks(podman, "iso-pub")) == ["systemd-iso-pub"]
    options = json.loads(podman.check("podman network inspect systemd-web1"))[0]["options"]
    assert options.get("isolate") == "strict"
    unit = host.file("/etc/containers/systemd/web1.network").content_string
    assert unit.startswith("# Ansible managed\n# podsec.hardening.hardened_container:")
    # Rootless with a published port: pasta, its own namespace with no address another container can reach.
    assert rootless(host).inspect("web3")["HostConfig"]["NetworkMode"] == "pasta"
    # The opted-out controls share podman's default network.
    assert list(networks(podman, "shared1")) == ["podman"] == list(networks(podman, "shared2"))


# ---------------------------------------------------------------- lateral reads: rootful and rootless attackers


@pytest.mark.parametrize("attacker", ["iso-pub", "loner", "net-a"])
def test_rootful_container_cannot_read_another_containers_unpublished_port(host, attacker):
    podman = root(host)
    target = address(podman, "web1")
    attempt = read(podman, attacker, target)
    assert attempt.rc != 0 and attempt.stdout == "", attempt.stdout
    # The target serves the port (the read works from its own namespace).
    assert read(podman, "web1", "127.0.0.1").stdout.strip() == hostname(podman, "web1")


def test_control_rootful_containers_on_the_shared_default_network_read_each_other(host):
    podman = root(host)
    attempt = read(podman, "shared2", address(podman, "shared1"))
    assert attempt.rc == 0 and attempt.stdout.strip() == hostname(podman, "shared1"), attempt.stderr


@pytest.mark.parametrize("target", ["web1", "iso-pub", "net-a"])
def test_rootless_container_cannot_read_a_rootful_containers_unpublished_port(host, target):
    """web3's pasta connects from the host: the nftables set of the rootful networks refuses it."""
    attempt = read(rootless(host), "web3", address(root(host), target))
    assert attempt.rc != 0 and attempt.stdout == "", attempt.stdout


def test_control_rootless_container_reads_a_rootful_container_on_the_shared_default_network(host):
    """podman's default network is not one of the role's networks: no rule, and the read through the host works."""
    attempt = read(rootless(host), "web3", address(root(host), "shared1"))
    assert attempt.rc == 0 and attempt.stdout.strip() == hostname(root(host), "shared1"), attempt.stderr


def test_published_loopback_ports_still_work_for_host_users_and_direct_reads_do_not(host):
    user = Podman(host, True)
    published = user.run("busybox wget -T 5 -q -O- http://127.0.0.1:18085/hostname")
    assert published.rc == 0 and published.stdout.strip() == hostname(root(host), "iso-pub"), published.stderr
    direct = user.run("busybox wget -T 5 -q -O- http://%s:%d/hostname" % (address(root(host), "iso-pub"), PORT))
    assert direct.rc != 0 and direct.stdout == ""
    # Root on the host is not refused (the rule only concerns other host users).
    assert host.run("busybox wget -T 5 -q -O- http://%s:%d/hostname" % (address(root(host), "iso-pub"), PORT)).rc == 0
    rules = host.check_output("nft list table inet podsec_isolation")
    assert "oifname @bridges meta skuid != 0 ct state new reject" in rules


# ---------------------------------------------------------------- a declared internal network


def test_containers_on_a_declared_internal_network_reach_each_other(host):
    podman = root(host)
    assert list(networks(podman, "net-a")) == ["systemd-backend"] == list(networks(podman, "net-b"))
    there = read(podman, "net-a", address(podman, "net-b"))
    back = read(podman, "net-b", address(podman, "net-a"))
    assert there.rc == 0 and there.stdout.strip() == hostname(podman, "net-b"), there.stderr
    assert back.rc == 0 and back.stdout.strip() == hostname(podman, "net-a"), back.stderr
    assert json.loads(podman.check("podman network inspect systemd-backend"))[0]["internal"] is True


@pytest.mark.parametrize("attacker", ["loner", "iso-pub", "net-out", "shared2"])
def test_a_third_container_reaches_neither(host, attacker):
    podman = root(host)
    for target in ("net-a", "net-b"):
        attempt = read(podman, attacker, address(podman, target))
        assert attempt.rc != 0 and attempt.stdout == "", (attacker, target, attempt.stdout)


@pytest.mark.parametrize("container", ["net-a", "net-b"])
def test_the_internal_network_reaches_no_outside_address(host, container):
    """The outside address is the test host's uplink, where sshd answers on every address."""
    attempt = root(host).exec(container, "nc -w 5 %s 22 </dev/null" % uplink(host))
    assert attempt.rc != 0 and "SSH-" not in attempt.stdout


def test_control_a_network_that_opts_out_of_internal_reaches_the_outside_address(host):
    attempt = root(host).exec("net-out", "nc -w 5 %s 22 </dev/null" % uplink(host))
    assert attempt.stdout.startswith("SSH-"), (attempt.stdout, attempt.stderr)
