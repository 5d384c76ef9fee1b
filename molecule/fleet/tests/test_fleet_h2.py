"""fleet-h2: site.yml with trust switched off leaves the weaknesses prepare planted, next to its own containers."""

from helpers import inspect, policy

testinfra_hosts = ["ansible://fleet-h2"]


def test_trust_policy_untouched(host):
    assert {"type": "insecureAcceptAnything"} in policy(host)["default"]


def test_only_the_roles_quadlet_units_deployed(host):
    units = host.check_output("ls /etc/containers/systemd/").split()
    assert [u for u in units if u.endswith(".container")] == ["h2-app.container"]


def test_insecure_container_still_running(host):
    info = inspect(host, "legacy-db")
    assert info["State"]["Running"]
    assert info["HostConfig"]["Privileged"] is True


def test_planted_hard_link_is_the_engine_socket(host):
    # The control for the hard-link rule: another name, the same socket (device and inode).
    same = host.check_output("stat -L -c %d:%i:%F /run/legacy-api /run/podman/podman.sock").split()
    assert same[0] == same[1] and same[0].endswith(":socket"), same
    assert host.check_output("readlink -f /srv/engine") == "/run/podman"


def test_rootless_users_policy_is_refused_by_podman(host):
    # The real tools' verdict on the planted per-user policy, and the control with a valid one.
    prefix = "cd ~legacy && runuser -u legacy -- env XDG_RUNTIME_DIR=/run/user/$(id -u legacy)"
    archive = "docker-archive:/usr/local/share/podsec-testbed/busybox.tar"
    refused = host.run("%s podman load -q -i %s" % (prefix, archive.split(":", 1)[1]))
    assert refused.rc != 0 and "invalid policy" in refused.stderr and "defualt" in refused.stderr
    refused = host.run("%s skopeo copy %s dir:/tmp/legacy-copy" % (prefix, archive))
    assert refused.rc != 0 and "invalid policy" in refused.stderr
    accepted = host.run("%s skopeo copy --policy /etc/containers/policy.json %s dir:/tmp/legacy-copy" % (prefix, archive))
    assert accepted.rc == 0, accepted.stderr
