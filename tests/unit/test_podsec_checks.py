# -*- coding: utf-8 -*-
"""The pure parsers of the shipped testinfra checks (tests/verify/podsec_checks.py).

The checks themselves run against booted hosts in molecule/hardened_container (tests/test_shipped_checks.py),
molecule/trust and tests/consumer; here the texts they read from /proc and podman are parsed.
"""

from __future__ import annotations

from hypothesis import given, strategies as st

from ansible_collections.podsec.hardening.tests.verify import podsec_checks as checks

STATUS = """Name:\tbusybox
Umask:\t0022
State:\tS (sleeping)
Uid:\t2147493648\t2147493648\t2147493648\t2147493648
CapInh:\t0000000000000000
CapBnd:\t00000000800405fb
NoNewPrivs:\t1
"""


def test_parse_status_reads_the_fields_the_checks_use():
    fields = checks.parse_status(STATUS)
    assert fields["NoNewPrivs"] == "1"
    assert fields["Uid"].split()[1] == "2147493648"
    assert int(fields["CapBnd"], 16) != 0 and int(fields["CapInh"], 16) == 0


def test_id_maps_of_userns_auto_host_and_rootless():
    auto = checks.parse_id_map("         0 2147483647      10002\n")
    assert checks.id_inside(auto, 2147483647 + 10001) == 10001
    assert checks.id_inside(auto, 0) is None
    assert not checks.maps_host_root(auto)
    host = checks.parse_id_map("         0          0 4294967295\n")
    assert checks.maps_host_root(host) and checks.id_inside(host, 10001) == 10001
    rootless = checks.parse_id_map("         0       1001          1\n         1     100000      65536\n")
    assert checks.id_inside(rootless, 1001) == 0 and checks.id_inside(rootless, 100000) == 1


@given(st.lists(st.tuples(st.integers(0, 2 ** 31), st.integers(1, 2 ** 31), st.integers(1, 2 ** 20)), min_size=1, max_size=5),
       st.integers(0, 2 ** 20))
def test_id_inside_inverts_every_mapped_outside_id(id_map, offset):
    inside, outside, count = id_map[0]
    text = "".join("%10d %10d %10d\n" % entry for entry in id_map)
    parsed = checks.parse_id_map(text)
    assert parsed == id_map
    # The first range that contains the id wins (the kernel forbids overlaps, hypothesis does not).
    assert checks.id_inside(parsed, outside + offset % count) == inside + offset % count


def test_mount_options_of_the_root_mount():
    mounts = ("overlay / overlay rw,relatime,lowerdir=/a 0 0\n"
              "overlay / overlay ro,relatime,lowerdir=/b 0 0\n"
              "tmpfs /tmp tmpfs rw,nosuid,nodev,noexec 0 0\n")
    assert checks.mount_options(mounts, "/")[0] == "ro"
    assert "noexec" in checks.mount_options(mounts, "/tmp")
    assert checks.mount_options(mounts, "/data") is None


@given(st.lists(st.text(st.characters(blacklist_characters="\0"), min_size=1), max_size=8))
def test_parse_environ_splits_on_nul_only(entries):
    assert checks.parse_environ("\0".join(entries) + "\0") == entries


def test_non_loopback_bindings_names_each_exposed_binding():
    ports = {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18081"}, {"HostIp": "::1", "HostPort": "18081"}],
        "9090/tcp": [{"HostIp": "0.0.0.0", "HostPort": "19090"}, {"HostIp": "", "HostPort": "19091"}],
        "53/udp": [{"HostIp": "10.231.0.10", "HostPort": "5353"}],
        "7070/tcp": None,
    }
    assert checks.non_loopback_bindings(ports) == [
        "10.231.0.10:5353 -> 53/udp", "0.0.0.0:19090 -> 9090/tcp", "*:19091 -> 9090/tcp"]
    assert checks.published_ports(ports) == [5353, 18081, 19090, 19091]
    assert checks.non_loopback_bindings({}) == [] and checks.non_loopback_bindings(None) == []


@given(st.ip_addresses(), st.integers(1, 65535))
def test_a_binding_is_accepted_exactly_when_its_address_is_loopback(address, port):
    ports = {"80/tcp": [{"HostIp": str(address), "HostPort": str(port)}]}
    assert (checks.non_loopback_bindings(ports) == []) == address.is_loopback


def test_policy_refusal_tells_the_policy_from_other_pull_failures():
    assert checks.policy_refusal("Error: Source image rejected: A signature was required, but no signature exists")
    assert checks.policy_refusal("Error: Running image docker://127.0.0.1:5000/x:latest is rejected by policy.")
    assert not checks.policy_refusal('Error: initializing source docker://x: pinging container registry localhost: '
                                     'Get "https://localhost/v2/": dial tcp [::1]:443: connect: connection refused')
    assert not checks.policy_refusal("Error: reading manifest latest in localhost:5000/x: manifest unknown")
