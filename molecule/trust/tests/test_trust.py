"""What a user of the trust role checks: podman pulls what the allow-list trusts and refuses the rest."""

import json
import os
import sys

import pytest

# The shipped testinfra checks, imported the way docs/reuse.md tells consumers to.
sys.path[:0] = os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)
from ansible_collections.podsec.hardening.tests.verify import podsec_checks  # noqa: E402  pylint: disable=wrong-import-position

testinfra_hosts = ["ansible://trust_hosts"]

TRUSTED = ["localhost:5000/trusted/gpg:latest", "localhost:5000/trusted/sigstore:latest"]
REFUSED = [
    ("localhost:5000/trusted/unsigned:latest", "A signature was required, but no signature exists"),
    ("localhost:5000/trusted/foreign:latest", "Invalid GPG signature"),
    # Under the sigstoreSigned scope (the same repository as the accepted sigstore image).
    ("localhost:5000/trusted/sigstore:unsigned", "A signature was required, but no signature exists"),
    ("localhost:5000/trusted/sigstore:foreign", "cryptographic signature verification failed"),
    # Same registry, same signed image, but under a registry name that is not on the allow-list.
    ("127.0.0.1:5000/trusted/gpg:latest", "Running image docker://127.0.0.1:5000/trusted/gpg:latest is rejected by policy"),
]

# The arguments the role passed (molecule/trust/vars.yml), to ask the module what it reports.
MODULE_ARGS = {
    "default": "reject",
    "exclusive": True,
    "scopes": [
        {"scope": "localhost:5000/trusted",
         "requirements": [{"type": "signedBy", "key_path": "/etc/pki/containers/lab-trusted.asc"}]},
        {"scope": "localhost:5000/trusted/sigstore",
         "requirements": [{"type": "sigstoreSigned", "key_path": "/etc/pki/containers/lab-sigstore.pub"}]},
        {"transport": "containers-storage", "scope": "", "requirements": ["accept"]},
    ],
}


def policy(host):
    return json.loads(host.file("/etc/containers/policy.json").content_string)


def test_policy_is_default_reject_plus_allow_list(host):
    doc = policy(host)
    assert doc["default"] == [{"type": "reject"}]
    assert sorted(doc["transports"]["docker"]) == ["localhost:5000/trusted", "localhost:5000/trusted/sigstore"]
    assert doc["transports"]["docker"]["localhost:5000/trusted"] == [
        {"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/etc/pki/containers/lab-trusted.asc"}]
    policy_file = host.file("/etc/containers/policy.json")
    assert policy_file.mode == 0o644 and policy_file.user == "root"
    # podman image trust set writes 4-space indented JSON; so does the module.
    assert policy_file.content_string.startswith('{\n    "default": [\n        {\n')


def test_keys_distributed(host):
    gpg = host.file("/etc/pki/containers/lab-trusted.asc")
    assert gpg.mode == 0o644
    assert gpg.content_string.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert host.file("/etc/pki/containers/lab-sigstore.pub").content_string.startswith("-----BEGIN PUBLIC KEY-----")
    # Only public material was distributed: the private keys stay in the lab directory.
    assert "PRIVATE" not in host.run("cat /etc/pki/containers/*").stdout


def test_registries_d(host):
    content = host.file("/etc/containers/registries.d/podsec-trust.yaml").content_string
    assert '"localhost:5000":' in content
    assert "use-sigstore-attachments: true" in content
    assert not host.file("/etc/containers/registries.d/zz-trust-lab-push.yaml").exists


@pytest.mark.parametrize("image", TRUSTED)
def test_trusted_images_pull(host, image):
    host.run("podman rmi -i %s", image)
    result = host.run("podman pull %s", image)
    assert result.rc == 0, result.stderr
    assert host.run("podman image exists %s", image).rc == 0


@pytest.mark.parametrize("image,error", REFUSED)
def test_other_images_are_refused_by_policy(host, image, error):
    host.run("podman rmi -i %s", image)
    result = host.run("podman pull %s", image)
    assert result.rc != 0
    assert "Source image rejected: " + error in result.stderr, result.stderr
    assert host.run("podman image exists %s", image).rc != 0


@pytest.mark.parametrize("image", [image for image, _error in REFUSED[:-1]])
def test_the_refused_images_are_really_there(host, image):
    # Negative control: the refusals above are the policy, not a missing image. skopeo inspect reads the
    # manifest without evaluating signatures.
    result = host.run("skopeo inspect --tls-verify=false docker://%s", image)
    assert result.rc == 0, result.stderr
    assert json.loads(result.stdout)["Name"] == image.rsplit(":", 1)[0]


@pytest.mark.parametrize("image", [image for image, _error in REFUSED])
def test_the_shipped_trust_check_passes_on_the_refused_images(host, image):
    podsec_checks.assert_trust_refuses(host, image)


def test_control_the_shipped_trust_check_fails_on_an_image_the_policy_accepts(host):
    with pytest.raises(AssertionError, match="pulled although the trust policy should refuse it"):
        podsec_checks.assert_trust_refuses(host, TRUSTED[0])


def test_control_the_shipped_trust_check_fails_when_the_image_is_missing_not_refused(host):
    # A pull that fails for another reason proves nothing about the policy.
    with pytest.raises(AssertionError, match="the pull failed, but not by the trust policy"):
        podsec_checks.assert_trust_refuses(host, "localhost:5000/trusted/gpg:no-such-tag")


def test_podman_image_trust_show_agrees_with_the_module(host):
    report = host.ansible("podsec.hardening.image_trust", json.dumps(MODULE_ARGS), check=True)
    assert report["changed"] is False
    assert report["policy"] == policy(host)
    shown = json.loads(host.run("podman image trust show --json").stdout)
    by_name = dict(((e["transport"], e.get("name", "")), e) for e in shown)
    assert by_name[("all", "* (default)")]["type"] == "reject"
    assert by_name[("containers-storage", "")]["type"] == "accept"
    kinds = {"signedBy": "signed", "sigstoreSigned": "sigstoreSigned",
             "insecureAcceptAnything": "accept", "reject": "reject"}
    docker = report["policy"]["transports"]["docker"]
    assert {name for (transport, name) in by_name if transport == "repository"} == set(docker)
    for scope, reqs in docker.items():
        entry = by_name[("repository", scope)]
        assert entry["type"] == kinds[reqs[0]["type"]]
        # podman reads the lookaside from the registries.d file the role wrote.
        assert entry["sigstore"] == "file:///var/lib/containers/trust-lab-sigstore"


def test_user_override_bypasses_the_policy_and_is_reported(host):
    # Why the module reports ~/.config/containers/policy.json: rootless podman of that user ignores
    # /etc/containers/policy.json entirely.
    image = "localhost:5000/trusted/unsigned:latest"
    override = "/home/podsec/.config/containers/policy.json"
    refused = host.run("su - podsec -c 'podman pull -q %s'" % image)
    assert refused.rc != 0 and "A signature was required, but no signature exists" in refused.stderr, refused.stderr
    podsec_checks.assert_trust_refuses(host, image, user="podsec")
    host.run("install -d -o podsec -g podsec /home/podsec/.config /home/podsec/.config/containers")
    host.run("printf '%%s' %s > %s", '{"default": [{"type": "insecureAcceptAnything"}]}', override)
    host.run("chown podsec:podsec %s", override)
    try:
        assert host.file(override).exists
        # Protection off for podsec: the shipped check sees the pull go through.
        with pytest.raises(AssertionError, match="pulled although the trust policy should refuse it"):
            podsec_checks.assert_trust_refuses(host, image, user="podsec")
        report = host.ansible("podsec.hardening.image_trust", json.dumps(MODULE_ARGS), check=True)
        assert report["user_overrides"] == [override]
        assert report["changed"] is False
    finally:
        host.run("rm -f %s", override)
        host.run("su - podsec -c 'podman rmi -i %s'" % image)


def test_clash_between_two_foreign_registries_d_files_is_reported_and_really_breaks_pulls(host):
    # Two files the role does not manage define the same namespace: podman refuses the whole directory,
    # whatever the role wrote; registries_d says so instead of failing on a clash that is not its own.
    clashing = ["/etc/containers/registries.d/zz-a.yaml", "/etc/containers/registries.d/zz-b.yaml"]
    for path in clashing:
        host.run("printf 'docker:\\n  quay.io:\\n    lookaside: file:///srv/sigs\\n' > %s", path)
    image = TRUSTED[0]
    try:
        host.run("podman rmi -i %s", image)
        broken = host.run("podman pull %s", image)
        assert broken.rc != 0 and "defined both in" in broken.stderr, broken.stderr
        report = host.ansible("podsec.hardening.registries_d", json.dumps({
            "name": "podsec-trust.yaml",
            "namespaces": [{"namespace": "localhost:5000", "lookaside": "file:///var/lib/containers/trust-lab-sigstore",
                            "use_sigstore_attachments": True}]}), check=True)
        assert report["foreign_conflicts"] == [
            'docker namespace "quay.io" is defined both in %s and %s: podman already fails on every image that uses '
            "registries.d until one of them goes" % tuple(clashing)]
    finally:
        host.run("rm -f %s %s", *clashing)
    assert host.run("podman pull %s", image).rc == 0
