"""fleet-h2: site.yml with trust and containers switched off leaves the host as prepare made it."""

from helpers import inspect, policy

testinfra_hosts = ["ansible://fleet-h2"]


def test_trust_policy_untouched(host):
    assert {"type": "insecureAcceptAnything"} in policy(host)["default"]


def test_no_quadlet_units_deployed(host):
    assert host.run("ls /etc/containers/systemd/*.container").rc != 0


def test_insecure_container_still_running(host):
    info = inspect(host, "legacy-db")
    assert info["State"]["Running"]
    assert info["HostConfig"]["Privileged"] is True
