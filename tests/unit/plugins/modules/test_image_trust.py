# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils import basic

from ansible_collections.podsec.hardening.plugins.modules import image_trust
from ansible_collections.podsec.hardening.tests.unit.plugins.modules.utils import ExitJson, FailJson

RHEL_STYLE = {
    "default": [{"type": "insecureAcceptAnything"}],
    "transports": {
        "docker": {
            "registry.redhat.io": [{"type": "signedBy", "keyType": "GPGKeys",
                                    "keyPaths": ["/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release"]}],
        },
        "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]},
    },
}


@pytest.fixture
def run(monkeypatch, tmp_path, module_runner):
    """Run the module in-process with real argument parsing; return its result dict."""
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: None)
    homes = tmp_path / "homes"
    homes.mkdir()
    monkeypatch.setattr(image_trust, "home_directories", lambda **kwargs: [str(homes / "alice"), str(homes / "bob")])

    def _run(args, check_mode=False, diff=False):
        return module_runner(image_trust.main, args, check_mode, diff, expect=(ExitJson, FailJson))

    _run.homes = homes
    return _run


@pytest.fixture
def keys(tmp_path):
    gpg = tmp_path / "trusted.gpg"
    gpg.write_bytes(b"gpg public key")
    cosign = tmp_path / "cosign.pub"
    cosign.write_text("-----BEGIN PUBLIC KEY-----\n")
    return {"gpg": str(gpg), "cosign": str(cosign)}


def allow_list(keys):
    return [
        {"scope": "localhost:5000/trusted/gpg", "requirements": [{"type": "signedBy", "key_path": keys["gpg"]}]},
        {"scope": "localhost:5000/trusted/sigstore", "requirements": [
            {"type": "sigstoreSigned", "key_path": keys["cosign"]}]},
        {"transport": "containers-storage", "scope": "", "requirements": ["accept"]},
    ]


def test_creates_policy_then_is_idempotent(run, tmp_path, keys):
    path = tmp_path / "policy.json"
    args = {"path": str(path), "default": "reject", "scopes": allow_list(keys)}
    result = run(args)
    assert result["changed"] is True and not result["failed"]
    on_disk = json.loads(path.read_text())
    assert on_disk == result["policy"]
    assert on_disk["default"] == [{"type": "reject"}]
    assert on_disk["transports"]["docker"]["localhost:5000/trusted/gpg"] == [
        {"type": "signedBy", "keyType": "GPGKeys", "keyPath": keys["gpg"]}]
    assert path.read_text().startswith('{\n    "default": [\n        {\n')
    assert oct(os.stat(str(path)).st_mode & 0o777) == "0o644"
    assert {c["scope"] for c in result["changed_scopes"]} == {
        "localhost:5000/trusted/gpg", "localhost:5000/trusted/sigstore", ""}
    before = path.read_bytes()
    second = run(args)
    assert second["changed"] is False and second["changed_scopes"] == []
    assert path.read_bytes() == before


def test_check_mode_and_diff_change_no_byte(run, tmp_path, keys):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(RHEL_STYLE))
    before = path.read_bytes()
    result = run({"path": str(path), "default": "reject", "scopes": allow_list(keys), "check_key_files": True},
                 check_mode=True, diff=True)
    assert result["changed"] is True
    assert path.read_bytes() == before
    assert result["diff"]["before"] == before.decode()
    assert json.loads(result["diff"]["after"]) == result["policy"]
    assert result["diff"]["before_header"] == str(path)
    # Unmanaged RHEL entries survive, but their missing keys are reported as warnings.
    assert result["policy"]["transports"]["docker"]["registry.redhat.io"] == RHEL_STYLE["transports"]["docker"]["registry.redhat.io"]
    assert any("registry.redhat.io" in w and "not managed" in w for w in result["warnings"])


def test_exclusive_removes_unmanaged_scopes_and_absent_removes_one(run, tmp_path, keys):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(RHEL_STYLE))
    result = run({"path": str(path), "scopes": [{"transport": "docker-daemon", "scope": "", "state": "absent"}]})
    assert result["changed"] is True
    assert "docker-daemon" not in json.loads(path.read_text())["transports"]
    assert json.loads(path.read_text())["transports"]["docker"] == RHEL_STYLE["transports"]["docker"]
    result = run({"path": str(path), "default": "reject", "exclusive": True, "scopes": allow_list(keys)})
    assert {(c["scope"], c["action"]) for c in result["changed_scopes"]} >= {("registry.redhat.io", "removed")}
    assert "registry.redhat.io" not in json.loads(path.read_text())["transports"]["docker"]


@pytest.mark.parametrize("args,fragments", [
    ({"default": {"type": "reject"}}, ["default: must be a list of requirements, got an object"]),
    ({"default": "reject", "scopes": [{"scope": "busybox", "requirements": ["accept"]}]},
     ['scope "busybox" (transport "docker")', "docker.io/library/busybox"]),
    ({"default": "reject", "scopes": [{"scope": "quay.io/a", "requirements": [
        {"type": "signedBy", "key_path": "/k", "key_data": "x"}]}]},
     ['scope "quay.io/a" (transport "docker"), requirement #1 (signedBy)', "got keyPath and keyData"]),
    ({"default": "reject", "scopes": [{"scope": "quay.io/a", "requirements": []}]},
     ['scope "quay.io/a" (transport "docker"): the list of requirements must not be empty']),
    ({"default": "reject", "scopes": [{"scope": "quay.io/a", "requirements": [{"type": "signedBy", "key_path": "/nonexistent/k.gpg"}]}]},
     ['scope "quay.io/a" (transport "docker"), requirement #1 (signedBy), field "keyPath": key file /nonexistent/k.gpg does not exist']),
    ({"default": "reject", "podman_version": "5.3.2", "check_key_files": False, "scopes": [{"scope": "quay.io/a", "requirements": [
        {"type": "sigstoreSigned", "pki": {"ca_roots_path": "/r.pem", "subject_email": "a@b"}}]}]},
     ['field "pki" needs podman >= 5.4', "the host has podman 5.3.2"]),
    ({"scopes": [{"scope": "quay.io/a", "requirements": ["accept"]}]}, ['"default" is required']),
])
def test_bad_requests_fail_and_write_nothing(run, tmp_path, args, fragments):
    path = tmp_path / "policy.json"
    result = run(dict(args, path=str(path)))
    assert result["failed"], result
    for fragment in fragments:
        assert fragment in result["msg"]
    assert not path.exists()


def test_expected_key_files_only_excused_in_check_mode(run, tmp_path):
    path = tmp_path / "policy.json"
    key = str(tmp_path / "later.gpg")
    args = {"path": str(path), "default": "reject", "expected_key_files": [key],
            "scopes": [{"scope": "quay.io/a", "requirements": [{"type": "signedBy", "key_path": key}]}]}
    assert run(args, check_mode=True)["changed"] is True
    assert not path.exists()
    result = run(args)
    assert result["failed"] and "later.gpg does not exist" in result["msg"]


def test_invalid_existing_file_is_refused_unless_replaced(run, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"default": {"type": "reject"}}')
    result = run({"path": str(path), "scopes": [{"scope": "quay.io", "requirements": ["accept"]}]})
    assert result["failed"] and "is invalid" in result["msg"] and "must be a list" in result["msg"]
    assert path.read_text() == '{"default": {"type": "reject"}}'
    result = run({"path": str(path), "default": "reject", "exclusive": True})
    assert result["changed"] and json.loads(path.read_text()) == {"default": [{"type": "reject"}]}
    assert any("is invalid and is replaced" in w for w in result["warnings"])


def test_user_overrides_are_reported(run, tmp_path):
    override = run.homes / "alice" / ".config" / "containers"
    override.mkdir(parents=True)
    (override / "policy.json").write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    result = run({"path": str(tmp_path / "policy.json"), "default": "reject"})
    assert result["user_overrides"] == [str(override / "policy.json")]
    assert any("rootless podman" in w for w in result["warnings"])


def test_podman_version_detected(run, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/podman")

    def run_command(self, cmd, *a, **k):
        calls.append(cmd)
        return 0, "4.3.1\n", ""

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    result = run({"path": str(tmp_path / "policy.json"), "default": "reject", "check_key_files": False,
                  "scopes": [{"scope": "quay.io/a", "requirements": [{
                      "type": "sigstoreSigned", "key_paths": ["/a.pub", "/b.pub"]}]}]})
    assert calls == [["/usr/bin/podman", "version", "--format", "{{.Client.Version}}"]]
    assert result["failed"] and 'field "keyPaths" needs podman >= 5.3' in result["msg"]


def test_unreadable_policy_is_reported(run, tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"default": [{"type": "reject"}]}')
    path.chmod(0o600)
    result = run({"path": str(path), "default": "reject"})
    assert result["changed"] is False
    assert any("rootless podman cannot read it" in w for w in result["warnings"])


def test_semantically_equal_request_leaves_the_file_byte_identical(run, tmp_path):
    # A distribution file in its own formatting (tabs, no trailing newline): a request it already
    # satisfies must not rewrite it in the module's formatting.
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(RHEL_STYLE, indent="\t"))
    os.chmod(str(path), 0o640)
    before = path.read_bytes()
    result = run({"path": str(path), "default": "accept", "check_key_files": False, "scopes": [
        {"transport": "docker-daemon", "scope": "", "requirements": ["accept"]},
        {"scope": "registry.redhat.io", "requirements": [
            {"type": "signedBy", "key_paths": ["/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release"],
             "signed_identity": {"type": "matchRepoDigestOrExact"}}]},
    ]}, diff=True)
    assert not result["failed"], result.get("msg")
    assert result["changed"] is False and result["changed_scopes"] == []
    assert path.read_bytes() == before
    assert oct(os.stat(str(path)).st_mode & 0o777) == "0o640"


# ------------------------------------------------------------------ issue 16: scopes podman refuses, control characters

@pytest.mark.parametrize("transport, scope, fragment", [
    ("docker-archive", "/srv/images/app.tar", 'transport "docker-archive" supports only the default scope ""'),
    ("tarball", "/srv/x.tar", 'supports only the default scope ""'),
    ("dir", "/srv/images/", 'write "/srv/images"'),
    ("oci", "//srv/oci", 'write "/srv/oci"'),
    ("sif", "relative.sif", "must be an absolute path"),
    ("docker", "quay.io/podsec\n", "control character \\x0a"),
    ("docker", "quay.io/pod\x1bsec", "control character \\x1b"),
])
def test_scopes_podman_would_refuse_are_refused(run, tmp_path, transport, scope, fragment):
    path = tmp_path / "policy.json"
    result = run({"path": str(path), "default": "reject",
                  "scopes": [{"transport": transport, "scope": scope, "requirements": ["accept"]}]})
    assert result["failed"] and fragment in result["msg"], result
    assert not path.exists()


def test_control_the_transport_default_scope_of_docker_archive_is_written(run, tmp_path):
    path = tmp_path / "policy.json"
    result = run({"path": str(path), "default": "reject",
                  "scopes": [{"transport": "docker-archive", "scope": "", "requirements": ["accept"]}]})
    assert not result["failed"], result
    assert json.loads(path.read_text())["transports"] == {"docker-archive": {"": [{"type": "insecureAcceptAnything"}]}}


@pytest.mark.parametrize("identity", [
    {"type": "exactReference", "docker_reference": "quay.io/podsec/app:1.0\n"},
    {"type": "exactRepository", "docker_repository": "quay.io/podsec/app\n"},
    {"type": "remapIdentity", "prefix": "quay.io\n", "signed_prefix": "mirror.example.com"},
])
def test_a_trailing_newline_in_a_signed_identity_is_refused(run, tmp_path, keys, identity):
    path = tmp_path / "policy.json"
    result = run({"path": str(path), "default": "reject", "scopes": [{"scope": "quay.io/podsec", "requirements": [
        {"type": "signedBy", "key_path": keys["gpg"], "signed_identity": identity}]}]})
    assert result["failed"] and "control character \\x0a" in result["msg"], result
    assert "signed_identity" in result["msg"]
    assert not path.exists()


def test_key_text_may_carry_newlines(run, tmp_path):
    # control: PEM key text is base64-encoded by the module, so its line breaks are allowed
    path = tmp_path / "policy.json"
    pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
    result = run({"path": str(path), "default": "reject", "scopes": [{"scope": "quay.io/podsec", "requirements": [
        {"type": "sigstoreSigned", "key_data": pem}]}]})
    assert not result["failed"], result
    assert json.loads(path.read_text())["transports"]["docker"]["quay.io/podsec"][0]["keyData"]


@pytest.mark.parametrize("args, field", [
    ({"path": "/etc/containers/" + "p" * 300 + ".json"}, "path"),
    ({"scopes": [{"scope": "quay.io/\x00x", "requirements": ["accept"]}]}, "scopes[0].scope"),
])
def test_malformed_values_name_the_field_without_a_traceback(run, tmp_path, args, field):
    result = run(dict({"path": str(tmp_path / "policy.json"), "default": "reject"}, **args))
    assert result["failed"] and result["msg"].startswith(field + ":"), result
    assert "exception" not in result
