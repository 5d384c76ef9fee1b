"""The trust role on Debian 12 (podman 4.3.1, no Quadlet): the policy it writes is enforced by that podman."""

import json

testinfra_hosts = ["ansible://podman_old"]

ACCEPT_ANYTHING = '{"default": [{"type": "insecureAcceptAnything"}]}'


def test_the_host_runs_podman_4_3(host):
    assert host.check_output("podman --version") == "podman version 4.3.1"


def test_policy_written_by_the_role_is_the_declared_one(host):
    policy = json.loads(host.file("/etc/containers/policy.json").content_string)
    assert policy["default"] == [{"type": "reject"}]
    assert policy["transports"]["docker-archive"][""] == [{"type": "insecureAcceptAnything"}]


def test_podman_4_3_pulls_what_the_policy_allows(host):
    result = host.run("podman pull -q docker-archive:/usr/local/share/podsec-testbed/busybox.tar")
    assert result.rc == 0, result.stderr


def test_podman_4_3_refuses_what_the_policy_does_not_allow(host):
    result = host.run("podman pull -q dir:/var/tmp/busybox-dir")
    assert result.rc != 0
    assert "rejected by policy" in result.stderr


def test_control_the_same_image_is_accepted_under_an_accept_anything_policy(host):
    # The refusal above comes from the role's policy, not from the image or the transport.
    result = host.run("printf '%%s' '%s' > /tmp/accept-anything.json && "
                      "skopeo --policy /tmp/accept-anything.json copy dir:/var/tmp/busybox-dir dir:/tmp/busybox-copy"
                      " && rm -rf /tmp/accept-anything.json /tmp/busybox-copy" % ACCEPT_ANYTHING)
    assert result.rc == 0, result.stderr
    refused = host.run("skopeo copy dir:/var/tmp/busybox-dir dir:/tmp/busybox-copy")
    assert refused.rc != 0 and "rejected by policy" in refused.stderr
