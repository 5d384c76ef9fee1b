# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Property-based tests of the input validators (issue 16).

For every validator: whatever text it is given, it either accepts it or raises its module's own
error type (never a TypeError, UnicodeError, re.error ...), and whatever it accepts renders into the
file the real tool reads and parses back to the same value. The real tools' verdicts on rendered
files are checked on a booted host by molecule/trust (oracle table) and molecule/audit.
"""

from __future__ import annotations

import json
import unicodedata

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ansible_collections.podsec.hardening.plugins.module_utils import _audit, _inputs, _policy, _reference, _registries_d
from ansible_collections.podsec.hardening.plugins.module_utils import _selinux_label, _tmpfs

# Text biased towards the characters that matter here: separators, control characters, line breaks,
# non-BMP characters and the alphabet of references and paths.
_INTERESTING = st.sampled_from(list("/.:@[]*+-_ \t\n\r\x00\x1b\x7f\x85\u2028\ufffe") + ["\U0001F512", "..", "//"])
TEXT = st.lists(st.one_of(st.text(alphabet="abcz019AZ", min_size=1, max_size=4), _INTERESTING, st.text(max_size=3)),
                max_size=12).map("".join)
PATHS = st.lists(st.one_of(st.just("/"), st.text(alphabet="abc.-_ ", min_size=1, max_size=4), _INTERESTING),
                 max_size=10).map(lambda parts: "/" + "".join(parts))
SETTINGS = settings(max_examples=400, deadline=None, database=None)


def printable(text):
    """No control, format-less line break or surrogate: what every accepting validator must guarantee."""
    return _inputs.control_character(text) is None and not any(unicodedata.category(c) == "Cs" for c in text)


# ------------------------------------------------------------------------------------------- policy.json

@SETTINGS
@given(transport=st.sampled_from(_policy.KNOWN_TRANSPORTS), scope=st.one_of(TEXT, PATHS))
@example(transport="docker-archive", scope="/srv/app.tar")
@example(transport="docker", scope="quay.io/podsec\n")
@example(transport="dir", scope="//srv")
def test_policy_scope_accepted_means_rendered_and_parsed_back(transport, scope):
    try:
        _policy.validate_scope(transport, scope)
    except _policy.PolicyError:
        return
    assert "\n" not in scope and "\x00" not in scope
    if transport in _policy.DEFAULT_SCOPE_ONLY_TRANSPORTS:
        assert scope == ""
    if transport in _policy.PATH_TRANSPORTS and scope:
        assert scope.startswith("/") and scope != "/" and _policy.go_clean(scope) == scope
    doc = {"default": [{"type": "reject"}], "transports": {transport: {scope: [{"type": "insecureAcceptAnything"}]}}}
    again = _policy.parse_policy(_policy.render_policy(doc))
    assert again == doc


@SETTINGS
@given(reference=TEXT)
@example(reference="quay.io/podsec/app:1.0\n")
def test_docker_reference_accepted_has_no_line_break(reference):
    try:
        name, tag, digest = _reference.parse_normalized_reference(reference)
    except _reference.InvalidReferenceError:
        return
    assert printable(reference) and " " not in reference
    assert "/" in name and (tag is None or tag in reference)


@SETTINGS
@given(path=st.one_of(TEXT, PATHS))
def test_go_clean_is_idempotent_and_keeps_roots(path):
    cleaned = _policy.go_clean(path)
    assert _policy.go_clean(cleaned) == cleaned
    assert cleaned.startswith("/") == path.startswith("/")
    assert "//" not in cleaned and (cleaned == "/" or not cleaned.endswith("/"))


# -------------------------------------------------------------------------------------------- registries.d

@SETTINGS
@given(namespace=TEXT, url=st.one_of(TEXT, TEXT.map(lambda t: "https://" + t), TEXT.map(lambda t: "file:///" + t)))
@example(namespace="quay.io/podsec", url="file:///srv/\U0001F512")
@example(namespace="quay.io/podsec\n", url="https://sigs.example.com")
def test_registries_d_accepted_means_yaml_reads_the_same_values(namespace, url):
    try:
        _registries_d.refuse_unwritable_text({"n": namespace, "u": url}, "x")
        config = _registries_d.build_config(None, [{"namespace": namespace, "lookaside": url}])
    except _registries_d.RegistriesDError:
        return
    assert printable(namespace) and printable(url)
    text = _registries_d.render(config, "# header\n")
    raw = text.encode("utf-8")
    assert b"\\u" not in raw or "\\u" in namespace + url
    assert yaml.safe_load(text) == config
    assert _registries_d.parse_subset(text, "file") == config


@SETTINGS
@given(name=TEXT.map(lambda t: t + ".yaml"))
@example(name="trust\n.yaml")
def test_registries_d_file_name_accepted_is_a_plain_name(name):
    try:
        _registries_d.validate_file_name(name)
    except _registries_d.RegistriesDError:
        return
    assert printable(name) and "/" not in name and not name.startswith(".")
    assert len(name.encode("utf-8")) <= 255


# ------------------------------------------------------------------------------------------------- audit

@SETTINGS
@given(path=st.one_of(PATHS, TEXT), key=TEXT, permissions=st.text(alphabet="rwxa\nb", min_size=0, max_size=5))
@example(path="/etc/containers", key="podsec\n", permissions="wa")
def test_audit_watch_accepted_round_trips_through_the_rules_file(path, key, permissions):
    try:
        present, dummy = _audit.validate_watches([{"path": path, "key": key, "permissions": permissions}])
    except _audit.AuditError:
        return
    watch = present[0]
    text = _audit.render_rules_file([watch])
    parsed = _audit.plain_watches(_audit.parse_rules(text))
    assert parsed == [watch]
    assert "\n\n" not in text.split("\n", 2)[-1]


# ----------------------------------------------------------------------------------------------- selinux

@SETTINGS
@given(path=st.one_of(PATHS, TEXT))
@example(path="/var/lib/containers")
@example(path="/srv/vol\x00")
def test_selinux_path_accepted_round_trips_through_the_fcontext_regex(path):
    try:
        _selinux_label.validate_path(path, home_dirs=["/home/alice", "/root"])
    except _selinux_label.LabelError:
        return
    assert not any(c.isspace() for c in path)
    assert _selinux_label.path_from_regex(_selinux_label.fcontext_regex(path)) == path
    for tree in _selinux_label.FORBIDDEN_TREES:
        assert not (path == tree or path.startswith(tree + "/") or tree.startswith(path + "/"))


@SETTINGS
@given(setype=TEXT)
def test_setype_accepted_is_a_type_name(setype):
    try:
        _selinux_label.validate_setype(setype)
    except _selinux_label.LabelError:
        return
    assert setype.endswith("_t") and setype.replace("_", "").isalnum() and setype.isascii()


# ------------------------------------------------------------------------------------------------- tmpfs

@SETTINGS
@given(path=st.one_of(PATHS, TEXT))
@example(path="/etc")
@example(path="/proc/self")
def test_tmpfs_mount_path_accepted_is_no_system_directory(path):
    if _tmpfs.validate_mount_path(path) is not None:
        return
    problem = _tmpfs.system_path_problem(path.rstrip("/"), None)
    if problem is None:
        assert path.rstrip("/") not in _tmpfs.SYSTEM_PATHS
        assert printable(path)
        assert json.dumps(_tmpfs.shell_driver_options(path.rstrip("/") + "/.podman"))


# ------------------------------------------------------------------------------------------------ inputs

@SETTINGS
@given(value=st.recursive(st.one_of(TEXT, st.integers(), st.none()),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8))
def test_input_checks_raise_only_input_error(value):
    try:
        _inputs.refuse_control_characters(value, "option")
        _inputs.refuse_surrogates(value, "option")
    except _inputs.InputError as exc:
        assert str(exc).startswith("option")
        return
    assert all(printable(text) for dummy, text in _inputs.walk_strings(value, "option"))


@SETTINGS
@given(path=st.one_of(PATHS, st.text(max_size=5).map(lambda t: "/" + t * 100)))
def test_long_paths_raise_only_input_error(path):
    try:
        _inputs.refuse_long_path(path, "path")
    except _inputs.InputError as exc:
        assert str(exc).startswith("path:")
        return
    assert all(len(part.encode("utf-8", "surrogateescape")) <= 255 for part in path.split("/"))


# ------------------------------------------------------------------------------------------- image names
_COMPONENT = st.one_of(st.sampled_from(["localhost", "docker.io", "index.docker.io", "quay.io", "registry:5000",
                                        "Registry", "library", "podsec", "a.b", "app"]),
                       st.text(alphabet="abz09.-_:A", min_size=1, max_size=6))
REFERENCES = st.tuples(st.lists(_COMPONENT, min_size=1, max_size=4),
                       st.sampled_from(["", ":latest", ":1.36", "@sha256:" + "a" * 64])).map(
    lambda pair: "/".join(pair[0]) + pair[1])


@SETTINGS
@given(REFERENCES)
@example("busybox")
@example("library/httpd")
@example("localhost/podsec/busybox:latest")
@example("registry:5000/app")
def test_image_registry_agrees_with_docker_references_normalization(reference):
    """A reference has a registry host exactly when docker/reference's normalization (as _reference implements it
    for policy scopes) keeps its first component as the domain instead of putting docker.io in front."""
    registry = _inputs.image_registry(reference)
    try:
        name, _tag, _digest = _reference.parse_normalized_reference(reference)
    except _reference.InvalidReferenceError:
        return
    if registry is None:
        assert name.startswith("docker.io/") and not reference.startswith("docker.io/")
    else:
        assert reference.startswith(registry + "/")
        assert name.startswith(("docker.io" if registry == "index.docker.io" else registry) + "/")
