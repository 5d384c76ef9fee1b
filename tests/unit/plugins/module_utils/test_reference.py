# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The docker reference grammar on its own (issue 23): its own error type, no import of _policy."""

from __future__ import annotations

import ast
import os

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _policy, _reference, _registries_d


def test_parse_normalized_reference_expands_like_docker():
    assert _reference.parse_normalized_reference("alpine") == ("docker.io/library/alpine", None, None)
    assert _reference.parse_normalized_reference("quay.io/podsec/app:1.0") == ("quay.io/podsec/app", "1.0", None)


@pytest.mark.parametrize("scope, message", [
    ("alpine", 'did you mean "docker.io/library/alpine"'),
    ("docker.io/alpine:3", "docker.io/library/"),
    ("*.example.com/x", "not a valid wildcard"),
    ("index.docker.io/library/alpine", "never matches"),
])
def test_bad_docker_scope_raises_its_own_error(scope, message):
    with pytest.raises(_reference.InvalidReferenceError, match=message):
        _reference.validate_docker_scope(scope)


def test_remap_prefix_needs_a_registry_host():
    _reference.validate_remap_prefix("quay.io/podsec", "prefix")
    with pytest.raises(_reference.InvalidReferenceError, match='prefix "podsec/app" is not valid'):
        _reference.validate_remap_prefix("podsec/app", "prefix")


def test_users_wrap_the_error_into_their_own_type_with_the_place():
    with pytest.raises(_policy.PolicyError, match=r'scope "alpine" \(transport "docker"\): invalid scope'):
        _policy.validate_scope("docker", "alpine")
    with pytest.raises(_registries_d.RegistriesDError, match='docker namespace "alpine"'):
        _registries_d.validate_namespace("alpine")


def test_reference_grammar_imports_no_other_module_util():
    path = os.path.join(os.path.dirname(_reference.__file__), "_reference.py")
    tree = ast.parse(open(path, encoding="utf-8").read())
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name and "module_utils" in name]
    registries_d = open(os.path.join(os.path.dirname(path), "_registries_d.py"), encoding="utf-8").read()
    assert "module_utils._policy" not in registries_d and "module_utils import _policy" not in registries_d
