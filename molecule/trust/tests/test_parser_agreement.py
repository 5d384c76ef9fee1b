"""The module's validator and the host's real podman parser agree on what a policy file may contain."""

import json
import os
import sys

import pytest

# tests/collection_env.sh links this checkout as ansible_collections/podsec/hardening there.
sys.path.insert(0, os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0])

from ansible_collections.podsec.hardening.plugins.module_utils import _policy as policy  # noqa: E402

testinfra_hosts = ["ansible://trust_hosts"]

R = '{"type": "reject"}'
SIGNED = '{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k"'

# Documents containers/image itself refuses to parse: every pull fails with "invalid policy in".
REJECTED_BY_PODMAN = {
    "default-mapping": '{"default": %s}' % R,
    "default-empty": '{"default": []}',
    "duplicate-scope": '{"default": [%s], "transports": {"docker": {"quay.io": [%s], "quay.io": [%s]}}}' % (R, R, R),
    "unknown-key": '{"default": [{"type": "reject", "comment": "x"}]}',
    "scope-as-object": '{"default": [%s], "transports": {"docker": {"quay.io": %s}}}' % (R, R),
    "bad-keytype": '{"default": [{"type": "signedBy", "keyType": "GPGKey", "keyPath": "/k"}]}',
    "two-key-sources": '{"default": [%s, "keyData": "YQ=="}]}' % SIGNED,
    "relative-dir-scope": '{"default": [%s], "transports": {"dir": {"images/x": [%s]}}}' % (R, R),
    "exact-reference-no-tag": '{"default": [%s, "signedIdentity": {"type": "exactReference", '
                              '"dockerReference": "quay.io/a/b"}}]}' % SIGNED,
    "invalid-json": '{"default": [%s]' % R,
}

ACCEPTED_BY_BOTH = {
    "debian-default": '{"default": [{"type": "insecureAcceptAnything"}]}',
    "rhel-style": '{"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": {"registry.redhat.io": '
                  '[{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release"]}]},'
                  ' "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}}}',
    "sigstore-fulcio": '{"default": [%s], "transports": {"docker": {"ghcr.io/example": [{"type": "sigstoreSigned", '
                       '"fulcio": {"caPath": "/ca.pem", "oidcIssuer": "https://issuer", "subjectEmail": "a@b"}, '
                       '"rekorPublicKeyPath": "/rekor.pub", "signedIdentity": {"type": "matchRepository"}}]}}}' % R,
}

PKI = ('{"default": [%s], "transports": {"docker": {"quay.io/a": [{"type": "sigstoreSigned", '
       '"pki": {"caRootsPath": "/roots.pem", "subjectEmail": "a@b"}}]}}}' % R)


def podman_parse(host, text):
    host.run("mkdir -p /root/trust-lab/parse")
    host.run("printf '%%s' %s > /root/trust-lab/parse/policy.json", text)
    # The policy is loaded before the (nonexistent) source is opened.
    return host.run("podman pull --signature-policy /root/trust-lab/parse/policy.json dir:/root/trust-lab/parse/none")


@pytest.mark.parametrize("name", sorted(REJECTED_BY_PODMAN))
def test_documents_podman_rejects_are_rejected(host, name):
    text = REJECTED_BY_PODMAN[name]
    result = podman_parse(host, text)
    assert "invalid policy in" in result.stderr, result.stderr
    with pytest.raises(policy.PolicyError):
        policy.parse_policy(text)


@pytest.mark.parametrize("name", sorted(ACCEPTED_BY_BOTH))
def test_documents_podman_accepts_are_accepted(host, name):
    text = ACCEPTED_BY_BOTH[name]
    result = podman_parse(host, text)
    assert result.rc != 0 and "invalid policy" not in result.stderr, result.stderr
    assert "/root/trust-lab/parse/none" in result.stderr
    policy.parse_policy(text)


def test_version_gate_matches_the_host_podman(host):
    version = host.run("podman version --format '{{.Client.Version}}'").stdout.strip()
    result = podman_parse(host, PKI)
    problems = policy.version_problems(json.loads(PKI), policy.version_components(version))
    if 'Unknown key "pki"' in result.stderr:
        assert problems and 'field "pki"' in problems[0]
    else:
        assert "invalid policy" not in result.stderr
        assert problems == []
