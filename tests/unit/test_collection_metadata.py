# -*- coding: utf-8 -*-
"""The collection's metadata says what is true: runtime dependencies are the collections that the shipped
roles, playbooks and plugins use (and only those), the collections only the tests use are in
tests/requirements.yml, the execution environment pins every collection exactly, and the role platforms are
the tested one."""

from __future__ import annotations

import os
import re

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHIPPED = ("roles", "playbooks", "plugins")
TESTS = ("molecule", "tests")
# A fully qualified name of a module or filter from another collection: namespace.collection.name.
FQCN = re.compile(r"\b((?:ansible\.posix|containers\.podman|community\.[a-z_]+|[a-z_]+\.[a-z_]+))\.[a-z_]+\b")
KNOWN_NAMESPACES = ("ansible.posix", "containers.podman", "community.")


def _load(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def collections_used(texts):
    """The other collections (known namespaces only) whose content ``texts`` name, by FQCN."""
    used = set()
    for text in texts:
        for match in FQCN.finditer(text):
            name = match.group(1)
            if name.startswith(KNOWN_NAMESPACES):
                used.add(name)
    return used


def _texts(tops, skip_docs=False):
    for top in tops:
        for root, dirs, files in os.walk(os.path.join(REPO, top)):
            dirs[:] = [d for d in dirs if d not in ("output", "__pycache__")]
            for name in files:
                if name.endswith((".yml", ".yaml", ".py", ".j2", ".sh")):
                    with open(os.path.join(root, name), encoding="utf-8") as handle:
                        text = handle.read()
                    if skip_docs and name.endswith(".py"):
                        # seealso in DOCUMENTATION names related modules without using them.
                        text = re.sub(r'DOCUMENTATION = r?"""(.|\n)*?"""', "", text)
                    yield text


def test_collections_used_finds_module_and_filter_names():
    assert collections_used(["  ansible.posix.mount:", "map('containers.podman.some_filter', 'name')"]) == {
        "ansible.posix", "containers.podman"}
    assert collections_used(["ansible.builtin.copy", "podsec.hardening.trust", "registry.example.com/app"]) == set()


def test_runtime_dependencies_are_what_the_shipped_content_uses():
    dependencies = set(_load("galaxy.yml")["dependencies"])
    assert collections_used(_texts(SHIPPED, skip_docs=True)) == dependencies


def test_test_only_collections_are_in_the_test_requirements():
    runtime = set(_load("galaxy.yml")["dependencies"])
    test_only = {item["name"] for item in _load("tests/requirements.yml")["collections"]}
    assert not test_only & runtime
    assert collections_used(_texts(TESTS)) <= runtime | test_only
    assert test_only <= collections_used(_texts(TESTS))


@pytest.mark.parametrize("path", ["collections/requirements.yml", "tests/requirements.yml"])
def test_requirements_pin_exact_versions(path):
    for item in _load(path)["collections"]:
        assert re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", str(item.get("version"))), (path, item)


def test_execution_environment_installs_the_runtime_dependencies():
    assert {item["name"] for item in _load("collections/requirements.yml")["collections"]} == set(
        _load("galaxy.yml")["dependencies"])
    assert _load("execution-environment.yml")["dependencies"]["galaxy"] == "collections/requirements.yml"


def test_role_platforms_are_the_tested_debian_releases():
    for role in sorted(os.listdir(os.path.join(REPO, "roles"))):
        platforms = _load(os.path.join("roles", role, "meta", "main.yml"))["galaxy_info"]["platforms"]
        assert [platform["name"] for platform in platforms] == ["Debian"], role
