# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quadlet .network, .volume and .pod units, and the network a container gets when it declares none."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    QuadletError,
    build_kind_unit,
    build_unit,
    check_arguments,
    check_unit,
    effective_network,
    own_network_spec,
)

IMAGE = "localhost/podsec/busybox:latest"
V54 = (5, 4)


def keys(text, section):
    body = text.split("[%s]\n" % section, 1)[1].split("\n[", 1)[0]
    return [tuple(line.split("=", 1)) for line in body.splitlines() if "=" in line]


# ---------------------------------------------------------------- the network a container gets by default


@pytest.mark.parametrize("spec, rootless, own, expected", [
    (dict(name="w"), False, True, "none"),
    (dict(name="w"), True, True, "none"),
    (dict(name="w", ports=["8080"]), True, True, "pasta"),
    (dict(name="w", ports=["8080"]), False, True, "w.network"),
    (dict(name="w", ports=["8080"]), False, False, None),
    (dict(name="w", ports=["8080"], network="bridge"), False, True, "bridge"),
    (dict(name="w", pod="p"), False, True, None),
])
def test_a_container_without_a_network_shares_none(spec, rootless, own, expected):
    assert effective_network(spec, rootless, own) == expected


def test_the_rendered_container_carries_its_network():
    assert ("Network", "none") in keys(build_unit(dict(name="w", image=IMAGE), V54), "Container")
    published = build_unit(dict(name="w", image=IMAGE, ports=["8080:80"]), V54, own_network=True)
    assert ("Network", "w.network") in keys(published, "Container")
    rootless = build_unit(dict(name="w", image=IMAGE, ports=["8080:80"]), V54, rootless=True)
    assert ("Network", "pasta") in keys(rootless, "Container")
    # Control: the opt-out is written as declared.
    assert ("Network", "bridge") in keys(build_unit(dict(name="w", image=IMAGE, network="bridge"), V54), "Container")


def test_own_network_is_isolated_not_internal_and_guarded_from_host_users():
    text = build_kind_unit("network", own_network_spec("web"), V54)
    pairs = keys(text, "Network")
    assert ("Options", "isolate=strict") in pairs and ("Internal", "true") not in pairs
    rule = dict(keys(text, "Service"))["ExecStartPost"]
    assert "systemd-web)" in rule and "meta skuid != 0 ct state new reject" in rule and "ct status dnat accept" in rule


# ---------------------------------------------------------------- .network units


def test_a_declared_network_is_internal_and_isolated_by_default():
    text = build_kind_unit("network", dict(name="backend"), V54, header=["Ansible managed"])
    assert text.startswith("# Ansible managed\n\n[Unit]\n")
    assert keys(text, "Network") == [("Driver", "bridge"), ("Internal", "true"), ("Options", "isolate=strict")]
    assert "ExecStartPost" in text
    rootless = build_kind_unit("network", dict(name="backend"), V54, rootless=True)
    assert "[Service]" not in rootless


def test_network_options_render_in_order():
    text = build_kind_unit("network", dict(name="n", internal=False, isolate="false", subnet="10.89.7.0/24",
                                           gateway="10.89.7.1", ip_range="10.89.7.128/25", dns=["10.89.7.1"],
                                           disable_dns=True, labels={"app": "x"}, allow_host_users=True), V54)
    assert keys(text, "Network") == [("Driver", "bridge"), ("Subnet", "10.89.7.0/24"), ("Gateway", "10.89.7.1"),
                                     ("IPRange", "10.89.7.128/25"), ("DNS", "10.89.7.1"), ("DisableDNS", "true"),
                                     ("Label", "app=x")]
    assert "[Service]" not in text


@pytest.mark.parametrize("spec, message", [
    (dict(subnet="10.89.7.1/24"), "subnet: is not an IPv4 or IPv6 network"),
    (dict(gateway="10.89.7.1"), "gateway: needs subnet"),
    (dict(subnet="10.89.7.0/24", gateway="10.89.8.1"), "gateway: is not within subnet 10.89.7.0/24"),
    (dict(subnet="10.89.7.0/24", ip_range="10.89.0.0/16"), "ip_range: is not within subnet"),
    (dict(dns=["8.8.8.8; rm"]), "dns[0]: is not an IPv4 or IPv6 address"),
    (dict(isolate="maybe"), "isolate: must be strict, true or false"),
    (dict(labels={"io.podman.x": "1"}), "that namespace steers the runtime"),
    (dict(labels={"a": "b c"}), "must be one word"),
    (dict(description="x\nExecStartPre=/bin/evil"), "control character"),
    (dict(name="../etc/x"), "is not a valid unit name"),
])
def test_network_refusals_name_the_field(spec, message):
    with pytest.raises(QuadletError, match=message.replace("[", r"\[").replace("(", r"\(")):
        build_kind_unit("network", dict(dict(name="n"), **spec), V54)


# ---------------------------------------------------------------- .volume and .pod units


def test_a_volume_unit_is_a_local_named_volume():
    text = build_kind_unit("volume", dict(name="data", labels={"app": "x"}), V54)
    assert keys(text, "Volume") == [("Copy", "false"), ("Label", "app=x")]


def test_a_pod_takes_a_containers_port_and_userns_rules():
    text = build_kind_unit("pod", dict(name="p", ports=["8080:80"], network="backend.network"), V54)
    assert keys(text, "Pod") == [("UserNS", "auto:size=65536"), ("Network", "backend.network"),
                                 ("PublishPort", "127.0.0.1:8080:80")]
    assert ("Network", "none") in keys(build_kind_unit("pod", dict(name="p"), V54), "Pod")
    for spec, message in ((dict(ports=["0.0.0.0:8080:80"], network="n.network"), "publish_on_all_addresses"),
                          (dict(network="host"), "allow_host_network"),
                          (dict(userns="host"), "allow_host_userns"),
                          (dict(ports=["8080:80"]), "must name its network")):
        with pytest.raises(QuadletError, match=message):
            build_kind_unit("pod", dict(dict(name="p"), **spec), V54)
    with pytest.raises(QuadletError, match="need podman 5.0"):
        build_kind_unit("pod", dict(name="p"), (4, 9))


def test_a_container_in_a_pod_takes_its_network_ports_and_userns():
    text = build_unit(dict(name="w", image=IMAGE, pod="p"), V54)
    pairs = keys(text, "Container")
    assert ("Pod", "p.pod") in pairs and not [key for key, _v in pairs if key in ("UserNS", "Network")]
    for spec in (dict(network="bridge"), dict(ports=["8080"]), dict(pod="p.pod"), dict(pod="../p")):
        with pytest.raises(QuadletError):
            build_unit(dict(dict(name="w", image=IMAGE, pod="p"), **spec), V54)


# ---------------------------------------------------------------- the controller's checks


def test_unknown_keys_are_refused_with_the_closest_match():
    assert check_unit("network", dict(name="n", internl=False), "network_units[n]") == \
        "network_units[n]: unknown key 'internl' (did you mean 'internal'?)"
    assert "did you mean 'ports'" in check_arguments(dict(containers=[], pod_units=[dict(name="p", prts=["1"])]))
    # Device= and Options= of a volume (a host device or a bind of a host path) are not options at all.
    assert "unknown key 'device'" in check_unit("volume", dict(name="v", device="/dev/sda"), "v")
    # Control: a valid element passes.
    assert check_arguments(dict(containers=[], network_units=[dict(name="n", subnet="10.89.7.0/24")])) is None


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["description", "subnet", "gateway", "ip_range"]),
       value=st.text(min_size=1, max_size=30))
def test_any_string_is_refused_or_written_as_one_line(key, value):
    """An attacker controlling one value cannot add a key, a section or a line to the unit."""
    spec = dict(name="n", subnet="10.89.7.0/24") if key in ("gateway", "ip_range") else dict(name="n")
    spec[key] = value
    try:
        text = build_kind_unit("network", spec, V54)
    except QuadletError:
        return
    lines = text.splitlines()
    assert sum(1 for line in lines if line.startswith("[")) == 3
    assert not [line for line in lines if line.startswith(("ExecStart=", "ExecStartPre="))]


def test_ports_on_an_internal_network_of_the_same_call_are_refused():
    """Observed on the test host: netavark forwards no published port to a container on an internal network."""
    args = dict(containers=[dict(name="web", image=IMAGE, ports=["8080"], network="backend.network")],
                network_units=[dict(name="backend")])
    assert "containers[web]: ports: backend.network is internal" in check_arguments(args)
    # Control: the same on a network that opts out of internal passes.
    args["network_units"] = [dict(name="backend", internal=False)]
    assert check_arguments(args) is None
    pods = dict(containers=[], network_units=[dict(name="backend")],
                pod_units=[dict(name="p", ports=["8080"], network="backend.network")])
    assert "pod_units[p]: ports: backend.network is internal" in check_arguments(pods)
