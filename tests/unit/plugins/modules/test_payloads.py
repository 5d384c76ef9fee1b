# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a module's payload carries: the collection's module_utils it imports, directly or through each other.

Ansible zips every module_util a module imports into the payload of each call and scans all of them (compiling
each) once per run on the controller; the host compiles them again at every call. A module should carry only
what it runs.
"""

from __future__ import annotations

import ast
import os

OWN = "ansible_collections.podsec.hardening.plugins.module_utils"
PLUGINS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins")


def _own_imports(path):
    with open(path) as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == OWN:
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(OWN + "."):
            yield node.module[len(OWN) + 1:]


def payload_module_utils(module):
    """The collection's module_utils that ``module`` (a file under plugins/modules) imports, transitively."""
    found, todo = set(), list(_own_imports(os.path.join(PLUGINS, "modules", module + ".py")))
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(_own_imports(os.path.join(PLUGINS, "module_utils", name + ".py")))
    return found


def test_the_walk_finds_what_container_posture_runs():
    # control: the walk follows imports through module_utils (container_posture -> _posture -> _policy)
    assert {"_posture", "_policy", "_findings", "_quadlet"} <= payload_module_utils("container_posture")


def test_quadlet_container_carries_no_posture_rules_or_policy_parser():
    # quadlet_container's image vetting writes findings; it needs their catalogue, not container_posture's rules
    # or the trust-policy parser (77 kB the controller scanned once per run and the host compiled at every call)
    carried = payload_module_utils("quadlet_container")
    assert "_findings" in carried
    assert not carried & {"_posture", "_policy"}
