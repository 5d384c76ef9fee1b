# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _policy

FEDORA_DEFAULT = """{
    "default": [
        {
            "type": "insecureAcceptAnything"
        }
    ],
    "transports":
        {
            "docker-daemon":
                {
                    "": [{"type":"insecureAcceptAnything"}]
                }
        }
}
"""

DEBIAN_DEFAULT = """{
    "default": [
        {
            "type": "insecureAcceptAnything"
        }
    ]
}
"""

# RHEL 9 containers-common, tabs and all, with the RHEL 8 keyPath form on one scope.
RHEL_STYLE = """{
    "default": [
        {
            "type": "insecureAcceptAnything"
        }
    ],
    "transports": {
        "docker": {
\t    "registry.access.redhat.com": [
\t\t{
\t\t    "type": "signedBy",
\t\t    "keyType": "GPGKeys",
\t\t    "keyPath": "/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release"
\t\t}
\t    ],
\t    "registry.redhat.io": [
\t\t{
\t\t    "type": "signedBy",
\t\t    "keyType": "GPGKeys",
\t\t    "keyPaths": ["/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release", "/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-beta"]
\t\t}
\t    ]
        },
        "docker-daemon": {
\t    "": [
\t\t{
\t\t    "type": "insecureAcceptAnything"
\t\t}
\t    ]
        }
    }
}
"""

SIGSTORE = """{
    "default": [{"type": "reject"}],
    "transports": {
        "docker": {
            "quay.io/example/app": [
                {
                    "type": "sigstoreSigned",
                    "keyPath": "/etc/pki/containers/cosign.pub",
                    "signedIdentity": {"type": "matchRepository"}
                }
            ],
            "ghcr.io/example": [
                {
                    "type": "sigstoreSigned",
                    "fulcio": {
                        "caPath": "/etc/pki/containers/fulcio.pem",
                        "oidcIssuer": "https://github.com/login/oauth",
                        "subjectEmail": "release@example.com"
                    },
                    "rekorPublicKeyPath": "/etc/pki/containers/rekor.pub",
                    "signedIdentity": {"type": "remapIdentity", "prefix": "ghcr.io/example", "signedPrefix": "quay.io/example"}
                }
            ],
            "*.internal.example.com": [{"type": "sigstoreSigned", "keyData": "LS0tLS1CRUdJTg=="}],
            "registry.example.com:5000/mirror/app:v1": [
                {
                    "type": "signedBy",
                    "keyType": "GPGKeys",
                    "keyData": "bWlub3I=",
                    "signedIdentity": {"type": "exactReference", "dockerReference": "docker.io/vendor/app:v1"}
                },
                {
                    "type": "signedBy",
                    "keyType": "GPGKeys",
                    "keyPath": "/etc/pki/containers/reviewer.gpg",
                    "signedIdentity": {"type": "exactRepository", "dockerRepository": "vendor/app"}
                }
            ]
        },
        "dir": {"/var/lib/images": [{"type": "insecureAcceptAnything"}]},
        "oci": {"/srv/oci:latest": [{"type": "reject"}]},
        "containers-storage": {"": [{"type": "insecureAcceptAnything"}]}
    }
}
"""

PKI_POLICY = {
    "default": [{"type": "reject"}],
    "transports": {"docker": {"registry.example.com": [{
        "type": "sigstoreSigned",
        "pki": {"caRootsPath": "/etc/pki/containers/roots.pem", "subjectHostname": "ci.example.com"},
    }]}},
}


@pytest.mark.parametrize("text", [FEDORA_DEFAULT, DEBIAN_DEFAULT, RHEL_STYLE, SIGSTORE],
                         ids=["fedora", "debian", "rhel", "sigstore"])
def test_valid_real_world_files_round_trip(text):
    doc = _policy.parse_policy(text)
    rendered = _policy.render_policy(doc)
    again = _policy.parse_policy(rendered)
    assert again == json.loads(text)
    assert _policy.same_policy(doc, again)
    # Rendering is stable: render(parse(render(x))) == render(x), 4-space indentation like podman.
    assert _policy.render_policy(again) == rendered
    assert rendered.endswith("}\n")
    assert '\n    "default": [\n        {\n            "type"' in rendered


def test_merge_without_changes_keeps_rhel_entries_untouched():
    doc = _policy.parse_policy(RHEL_STYLE)
    merged = _policy.merge_policy(doc, default=None, scopes=[])
    assert merged == json.loads(RHEL_STYLE)
    merged = _policy.merge_policy(doc, default=[{"type": "reject"}], scopes=[
        {"transport": "docker", "scope": "quay.io/podman", "state": "present",
         "requirements": [{"type": "insecureAcceptAnything"}]}])
    original = json.loads(RHEL_STYLE)
    for scope in ("registry.redhat.io", "registry.access.redhat.com"):
        assert merged["transports"]["docker"][scope] == original["transports"]["docker"][scope]
    assert merged["transports"]["docker-daemon"] == original["transports"]["docker-daemon"]
    assert merged["default"] == [{"type": "reject"}]


INVALID = [
    # (id, document text, expected fragments of the message)
    ("invalid-json", '{"default": [{"type": "reject"}]', ["invalid JSON"]),
    ("trailing-comma", '{"default": [{"type": "reject"},]}', ["invalid JSON"]),
    ("nan", '{"default": [{"type": "reject"}], "x": NaN}', ["invalid JSON value NaN"]),
    ("not-an-object", '[{"type": "reject"}]', ["policy must be a JSON object"]),
    ("duplicate-top", '{"default": [{"type": "reject"}], "default": [{"type": "reject"}]}',
     ['duplicate key "default"']),
    ("duplicate-scope", '{"default": [{"type": "reject"}], "transports": {"docker": {"quay.io": [{"type": "reject"}],'
     ' "quay.io": [{"type": "reject"}]}}}', ['duplicate key "quay.io"']),
    ("duplicate-field", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/a", "keyPath": "/b"}]}',
     ['duplicate key "keyPath"']),
    ("default-missing", '{"transports": {}}', ['"default" is missing']),
    ("default-mapping", '{"default": {"type": "reject"}}', ["default: must be a list of requirements, got an object"]),
    ("default-empty", '{"default": []}', ["default: the list of requirements must not be empty"]),
    ("unknown-top", '{"default": [{"type": "reject"}], "transport": {}}', ['unknown key "transport"']),
    ("unknown-requirement-key", '{"default": [{"type": "reject", "comment": "x"}]}',
     ["default, requirement #1 (reject)", 'unknown key "comment"']),
    ("unknown-type", '{"default": [{"type": "acceptAnything"}]}', ['default, requirement #1, field "type"',
                                                                   'unknown requirement type "acceptAnything"',
                                                                   "signedBy, sigstoreSigned or signedBaseLayer)"]),
    ("requirement-not-object", '{"default": ["reject"]}', ["default, requirement #1", "must be an object"]),
    ("transports-list", '{"default": [{"type": "reject"}], "transports": []}', ['"transports" must be an object']),
    ("unknown-transport", '{"default": [{"type": "reject"}], "transports": {"dockre": {}}}',
     ['transport "dockre": unknown transport']),
    ("scope-as-object", '{"default": [{"type": "reject"}], "transports": {"docker": {"quay.io": {"type": "reject"}}}}',
     ['scope "quay.io" (transport "docker"): must be a list of requirements, got an object']),
    ("scope-empty-list", '{"default": [{"type": "reject"}], "transports": {"docker": {"quay.io": []}}}',
     ['scope "quay.io" (transport "docker"): the list of requirements must not be empty']),
    ("transport-as-list", '{"default": [{"type": "reject"}], "transports": {"docker": [{"type": "reject"}]}}',
     ['transport "docker": must map scopes to requirement lists']),
    ("short-name-scope", '{"default": [{"type": "reject"}], "transports": {"docker": {"busybox": [{"type": "reject"}]}}}',
     ['scope "busybox" (transport "docker")', "not fully expanded", "docker.io/library/busybox"]),
    ("docker-hub-short", '{"default": [{"type": "reject"}], "transports": {"docker": {"docker.io/busybox:1.36": [{"type": "reject"}]}}}',
     ['scope "docker.io/busybox:1.36"', "docker.io/library/busybox:1.36"]),
    ("namespace-scope", '{"default": [{"type": "reject"}], "transports": {"docker": {"library/busybox": [{"type": "reject"}]}}}',
     ['scope "library/busybox"', "not fully expanded"]),
    ("bad-wildcard", '{"default": [{"type": "reject"}], "transports": {"docker": {"example*.*.com": [{"type": "reject"}]}}}',
     ['scope "example*.*.com"', "wildcard"]),
    ("wildcard-with-path", '{"default": [{"type": "reject"}], "transports": {"docker": {"*.example.com/ns": [{"type": "reject"}]}}}',
     ['scope "*.example.com/ns"', "wildcard"]),
    ("uppercase-repo", '{"default": [{"type": "reject"}], "transports": {"docker": {"quay.io/Podman": [{"type": "reject"}]}}}',
     ['scope "quay.io/Podman"', 'invalid repository path component "Podman"']),
    ("tag-and-digest", '{"default": [{"type": "reject"}], "transports": {"docker": {"quay.io/a/b:v1@sha256:'
     + "a" * 64 + '": [{"type": "reject"}]}}}', ["both a tag and a digest"]),
    ("dir-relative", '{"default": [{"type": "reject"}], "transports": {"dir": {"images/x": [{"type": "reject"}]}}}',
     ['scope "images/x" (transport "dir")', "must be an absolute path"]),
    ("dir-root", '{"default": [{"type": "reject"}], "transports": {"dir": {"/": [{"type": "reject"}]}}}',
     ['"/" is forbidden']),
    ("oci-noncanonical", '{"default": [{"type": "reject"}], "transports": {"oci": {"/srv//oci": [{"type": "reject"}]}}}',
     ["canonical"]),
    ("docker-daemon-scope", '{"default": [{"type": "reject"}], "transports": {"docker-daemon": {"busybox": [{"type": "reject"}]}}}',
     ['transport "docker-daemon" supports only the default scope']),
    ("storage-scope", '{"default": [{"type": "reject"}], "transports": {"containers-storage": {"overlay": [{"type": "reject"}]}}}',
     ['scope "overlay" (transport "containers-storage")']),
    ("bad-keytype", '{"default": [{"type": "signedBy", "keyType": "GPGKey", "keyPath": "/k.gpg"}]}',
     ['default, requirement #1 (signedBy), field "keyType"', '"GPGKey" is not supported']),
    ("x509-keytype", '{"default": [{"type": "signedBy", "keyType": "X509Certificates", "keyPath": "/k"}]}',
     ['field "keyType"', "GPGKeys"]),
    ("missing-keytype", '{"default": [{"type": "signedBy", "keyPath": "/k.gpg"}]}', ['field "keyType"']),
    ("two-key-sources", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "keyData": "YQ=="}]}',
     ["default, requirement #1 (signedBy)", "exactly one of keyPath, keyPaths, keyData", "got keyPath and keyData"]),
    ("no-key-source", '{"default": [{"type": "signedBy", "keyType": "GPGKeys"}]}', ["none present"]),
    ("relative-keypath", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "keys/k.gpg"}]}',
     ['field "keyPath"', '"keys/k.gpg" is not an absolute path']),
    ("relative-keypaths", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["/a", "b"]}]}',
     ['field "keyPaths"[1]', "not an absolute path"]),
    ("empty-keypaths", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": []}]}',
     ['field "keyPaths": contains no entries']),
    ("keydata-not-base64", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "-----BEGIN PGP"}]}',
     ['field "keyData"', "base64"]),
    ("keypath-not-string", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": 42}]}',
     ['field "keyPath": must be a string']),
    ("identity-unknown", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", '
     '"signedIdentity": {"type": "matchTag"}}]}', ['field "signedIdentity"', 'unknown signedIdentity type "matchTag"']),
    ("identity-string", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", '
     '"signedIdentity": "matchRepository"}]}', ['field "signedIdentity": must be an object']),
    ("identity-extra-field", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", '
     '"signedIdentity": {"type": "matchExact", "dockerReference": "a:b"}}]}', ['unknown key "dockerReference"']),
    ("exact-reference-no-tag", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", '
     '"signedIdentity": {"type": "exactReference", "dockerReference": "quay.io/a/b"}}]}',
     ['field "signedIdentity"', "neither a tag nor digest"]),
    ("exact-reference-missing", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", '
     '"signedIdentity": {"type": "exactReference"}}]}', ["exactReference requires dockerReference"]),
    ("exact-repository-bad", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", '
     '"signedIdentity": {"type": "exactRepository", "dockerRepository": "quay.io/A/b"}}]}',
     ['invalid repository path component "A"']),
    ("remap-bad-prefix", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", '
     '"signedIdentity": {"type": "remapIdentity", "prefix": "busybox", "signedPrefix": "quay.io"}}]}',
     ['prefix "busybox" is not valid']),
    ("remap-missing", '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", '
     '"signedIdentity": {"type": "remapIdentity", "prefix": "quay.io"}}]}', ["remapIdentity requires signedPrefix"]),
    ("sigstore-two-sources", '{"default": [{"type": "sigstoreSigned", "keyPath": "/k", "keyDatas": ["YQ=="]}]}',
     ["(sigstoreSigned)", "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, pki", "got keyPath and keyDatas"]),
    ("sigstore-keytype", '{"default": [{"type": "sigstoreSigned", "keyType": "GPGKeys", "keyPath": "/k"}]}',
     ['unknown key "keyType"']),
    ("sigstore-fulcio-no-rekor", '{"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/ca", '
     '"oidcIssuer": "https://i", "subjectEmail": "a@b"}}]}', ["fulcio needs a Rekor public key"]),
    ("sigstore-fulcio-incomplete", '{"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/ca", '
     '"oidcIssuer": "https://i"}, "rekorPublicKeyPath": "/r"}]}', ['field "fulcio"', "subjectEmail not specified"]),
    ("sigstore-two-rekor", '{"default": [{"type": "sigstoreSigned", "keyPath": "/k", "rekorPublicKeyPath": "/r", '
     '"rekorPublicKeyData": "YQ=="}]}', ["at most one of rekorPublicKeyPath"]),
    ("sigstore-relative-key", '{"transports": {"docker": {"quay.io/a": [{"type": "sigstoreSigned", "keyPath": "cosign.pub"}]}},'
     ' "default": [{"type": "reject"}]}', ['scope "quay.io/a" (transport "docker"), requirement #1 (sigstoreSigned), field "keyPath"']),
    ("pki-no-subject", '{"default": [{"type": "sigstoreSigned", "pki": {"caRootsPath": "/r"}}]}',
     ['field "pki"', "at least one of subjectEmail, subjectHostname"]),
    ("base-layer-missing", '{"default": [{"type": "signedBaseLayer"}]}', ['"baseLayerIdentity" is required']),
]


@pytest.mark.parametrize("text,fragments", [(t, f) for _i, t, f in INVALID], ids=[i for i, _t, _f in INVALID])
def test_invalid_policies_are_rejected_with_a_clear_message(text, fragments):
    with pytest.raises(_policy.PolicyError) as excinfo:
        _policy.parse_policy(text)
    for fragment in fragments:
        assert fragment in str(excinfo.value)


@pytest.mark.parametrize("scope", [
    "docker.io/library/busybox", "docker.io/library/busybox:latest", "quay.io", "localhost:5000",
    "localhost:5000/trusted/app", "registry.example.com:5000/ns/app@sha256:" + "0" * 64, "*.example.com",
    "[::1]:5000/app", "quay.io/a-b/c__d.e", "docker.io/library", "docker.io/nginx",
])
def test_valid_docker_scopes(scope):
    _policy.validate_scope("docker", scope)


def test_version_gates():
    doc = json.loads(json.dumps(PKI_POLICY))
    _policy.validate_policy(doc)
    problems = _policy.version_problems(doc, _policy.version_components("5.3.2"))
    assert len(problems) == 1
    assert 'scope "registry.example.com" (transport "docker"), requirement #1 (sigstoreSigned), field "pki"' in problems[0]
    assert "podman >= 5.4" in problems[0] and "5.3.2" in problems[0]
    assert _policy.version_problems(doc, _policy.version_components("5.4.0")) == []
    assert _policy.version_problems(doc, None) == []
    sig = _policy.parse_policy(SIGSTORE)
    problems = _policy.version_problems(sig, (4, 3))
    assert len(problems) == 2 and all('field "fulcio"' in p or 'field "rekorPublicKeyPath"' in p for p in problems)
    assert len(_policy.version_problems(sig, (4, 1))) == 5  # sigstoreSigned itself is too new
    assert _policy.version_components("5.4.0-dev") == (5, 4, 0)
    with pytest.raises(_policy.PolicyError):
        _policy.version_components("unknown")


def test_key_files():
    req = {"type": "sigstoreSigned", "fulcio": {"caPath": "/ca"}, "rekorPublicKeyPaths": ["/r1", "/r2"]}
    assert _policy.key_files(req) == [("rekorPublicKeyPaths", "/r1"), ("rekorPublicKeyPaths", "/r2"),
                                      ("fulcio.caPath", "/ca")]
    assert _policy.key_files({"type": "signedBy", "keyPaths": ["/a"]}) == [("keyPaths", "/a")]


def test_normalize_friendly_requirements():
    reqs = _policy.normalize_requirements([
        "accept",
        {"type": "signed_by", "key_path": "/k.gpg", "signed_identity": "match_repository"},
        {"type": "sigstore", "key_data": "-----BEGIN PUBLIC KEY-----\n", "signed_identity": {
            "type": "exact_repository", "docker_repository": "quay.io/a/b"}},
    ], "default")
    assert reqs == [
        {"type": "insecureAcceptAnything"},
        {"type": "signedBy", "keyPath": "/k.gpg", "signedIdentity": {"type": "matchRepository"}, "keyType": "GPGKeys"},
        {"type": "sigstoreSigned", "keyData": "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0K",
         "signedIdentity": {"type": "exactRepository", "dockerRepository": "quay.io/a/b"}},
    ]
    assert _policy.normalize_requirements("reject", "default") == [{"type": "reject"}]
    with pytest.raises(_policy.PolicyError, match='"keyPath" given twice'):
        _policy.normalize_requirement({"type": "signedBy", "keyPath": "/a", "key_path": "/b"}, "x")
    with pytest.raises(_policy.PolicyError, match='default, requirement #1 \\(signedBy\\), field "keyPath"'):
        _policy.normalize_requirements([{"type": "signedBy", "key_path": "relative.gpg"}], "default")
    with pytest.raises(_policy.PolicyError, match="the list of requirements must not be empty"):
        _policy.normalize_requirements([], "default")


def test_semantic_comparison_ignores_implicit_identity_and_key_order():
    left = _policy.parse_policy('{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k"}]}')
    right = _policy.parse_policy('{"transports": {}, "default": [{"keyPath": "/k", "keyType": "GPGKeys", '
                                 '"type": "signedBy", "signedIdentity": {"type": "matchRepoDigestOrExact"}}]}')
    assert _policy.same_policy(left, right)
    assert not _policy.same_policy(left, {"default": [{"type": "reject"}]})


def _spec(scope, reqs=None, state="present", transport="docker"):
    spec = {"transport": transport, "scope": scope, "state": state}
    if reqs is not None:
        spec["requirements"] = reqs
    return spec


def test_merge_add_update_remove_and_diff():
    before = _policy.parse_policy(FEDORA_DEFAULT)
    after = _policy.merge_policy(before, [{"type": "reject"}], [
        _spec("quay.io/podman", [{"type": "insecureAcceptAnything"}]),
        _spec("", state="absent", transport="docker-daemon"),
    ])
    assert after == {"default": [{"type": "reject"}],
                     "transports": {"docker": {"quay.io/podman": [{"type": "insecureAcceptAnything"}]}}}
    diff = _policy.policy_diff(before, after)
    assert diff["default_changed"] is True
    assert diff["scopes"] == [
        {"transport": "docker", "scope": "quay.io/podman", "action": "added"},
        {"transport": "docker-daemon", "scope": "", "action": "removed"},
    ]
    # Second application: nothing changes.
    again = _policy.merge_policy(after, [{"type": "reject"}], [_spec("quay.io/podman", [{"type": "insecureAcceptAnything"}])])
    assert again == after and _policy.policy_diff(after, again) == {"default_changed": False, "scopes": []}
    updated = _policy.merge_policy(after, None, [_spec("quay.io/podman", [{"type": "reject"}])])
    assert _policy.policy_diff(after, updated)["scopes"] == [
        {"transport": "docker", "scope": "quay.io/podman", "action": "updated"}]


def test_merge_keeps_equivalent_existing_text_and_exclusive_removes_the_rest():
    before = _policy.parse_policy(RHEL_STYLE)
    wanted = [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release",
               "signedIdentity": {"type": "matchRepoDigestOrExact"}}]
    after = _policy.merge_policy(before, None, [_spec("registry.access.redhat.com", wanted)])
    assert after == before  # semantically equal: the file's own spelling is kept
    excl = _policy.merge_policy(before, [{"type": "reject"}], [_spec("registry.access.redhat.com", wanted)], exclusive=True)
    assert excl == {"default": [{"type": "reject"}], "transports": {"docker": {
        "registry.access.redhat.com": before["transports"]["docker"]["registry.access.redhat.com"]}}}


def test_merge_errors():
    with pytest.raises(_policy.PolicyError, match='"default" is required'):
        _policy.merge_policy(None, None, [])
    with pytest.raises(_policy.PolicyError, match='scope "quay.io" \\(transport "docker"\\): listed more than once'):
        _policy.merge_policy(None, [{"type": "reject"}], [_spec("quay.io", [{"type": "reject"}]), _spec("quay.io", state="absent")])
    created = _policy.merge_policy(None, [{"type": "reject"}], [])
    assert created == {"default": [{"type": "reject"}]}
