"""fleet-h1: everything site.yml hardens, checked on the host."""

from conftest import host_var
from helpers import inspect, policy

testinfra_hosts = ["ansible://fleet-h1"]


def test_trust_policy_rejects_by_default(host):
    assert policy(host)["default"] == [{"type": "reject"}]


def test_hardened_containers_run_hardened(host):
    for name, user in (("fleet-web", None), ("fleet-worker", None), ("fleet-rootless", "podsec")):
        info = inspect(host, name, user)
        assert info["State"]["Running"], name
        assert info["HostConfig"]["ReadonlyRootfs"] is True, name
        assert "no-new-privileges" in info["HostConfig"]["SecurityOpt"], name
        assert not info["EffectiveCaps"], name
        assert info["Config"]["User"] not in ("", "0", "root"), name
    web = inspect(host, "fleet-web")
    assert web["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"


def test_secret_is_on_the_tmpfs_and_in_the_container(host):
    token = host_var("fleet-h1", "fleet_worker_token")
    assert host.file("/run/podsec-secrets-root/fleet-worker.api_token").content_string == token
    assert host.check_output("podman exec fleet-worker cat /run/secrets/api_token") == token
