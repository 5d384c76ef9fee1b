# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One container schema: the module, its documentation, its defaults and the role's argument specs agree."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from ansible_collections.podsec.hardening.plugins.module_utils import _container_schema as schema
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import normalize
from ansible_collections.podsec.hardening.plugins.modules import quadlet_container

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def test_generated_documentation_and_role_specs_are_current():
    script = os.path.join(REPO, "tests", "docs", "sync_container_schema.py")
    result = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_module_documentation_argument_spec_and_defaults_come_from_the_schema():
    documented = yaml.safe_load(quadlet_container.DOCUMENTATION)["options"]
    for name, option in schema.documentation().items():
        assert documented[name] == option, name
    spec = quadlet_container.unit_spec()
    assert set(spec) == set(schema.CONTAINER_OPTIONS) | {"name"}
    for name, option in schema.CONTAINER_OPTIONS.items():
        assert spec[name].get("default") == option.get("default"), name
        if name != "tmpfs":  # tmpfs gets its entries' defaults filled in, checked below
            assert normalize({})[name] == option.get("default"), name
    assert normalize({})["tmpfs"] == [{"path": "/tmp", "size": "64m", "mode": "1777", "exec": False}]


def test_the_role_takes_every_module_option_plus_its_own_keys():
    role = schema.role_container_options()  # what the role's step checks each container against
    assert set(role) == (set(schema.CONTAINER_OPTIONS) - set(schema.ROLE_MANAGED)) | set(schema.ROLE_CONTAINER_KEYS)
    for name in schema.CONTAINER_OPTIONS:
        if name not in schema.ROLE_MANAGED:
            assert role[name]["type"] == schema.CONTAINER_OPTIONS[name]["type"], name
            assert role[name].get("default") == schema.CONTAINER_OPTIONS[name].get("default"), name
    assert role["secrets"]["options"]["value"]["no_log"] is True
    assert role["volumes"]["options"]["selinux"]["choices"] == ["private", "shared", "none"]


def test_the_role_argument_specs_carry_no_per_key_spec_but_document_the_role_keys():
    # Ansible's role validation templates, copies and returns its whole argument spec on every host; the step
    # checks the keys with the schema, so the specs declare the lists and describe only the role's own keys.
    with open(os.path.join(REPO, "roles", "hardened_container", "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    variables = ["hardened_container_containers"] + [variable for _o, variable, _k, _s, _p in schema.UNIT_KINDS]
    for variable in variables:
        assert (options[variable]["type"], options[variable]["elements"]) == ("list", "dict"), variable
        assert "options" not in options[variable], variable
    described = " ".join(options["hardened_container_containers"]["description"])
    for key in ("C(state)", "C(started)", "C(volumes[].selinux)", "C(volumes[].private)", "C(secrets[].value)"):
        assert key in described


def test_unknown_keys_are_named_with_the_closest_valid_one_at_any_depth():
    options = schema.role_container_options()
    item = {"name": "web", "image": "x", "volumes": [{"source": "/a", "target": "/b", "selinx": "none"}],
            "healthcheck": {"cmd": "true", "intervall": "1s"}, "porst": []}
    assert schema.unknown_keys(item, options, "c") == [
        "c.volumes[0]: unknown key 'selinx' (did you mean 'selinux'?)",
        "c.healthcheck: unknown key 'intervall' (did you mean 'interval'?)",
        "c: unknown key 'porst' (did you mean 'ports'?)",
    ]


def test_the_controller_knows_every_option_of_the_module():
    from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import MODULE_OPTIONS, unit_options

    argv = sys.argv
    try:
        sys.argv = ["quadlet_container"]
        spec = dict(quadlet_container.unit_spec())
    finally:
        sys.argv = argv
    source = open(quadlet_container.__file__).read()
    module_only = set(name for name in MODULE_OPTIONS if "%s=dict(" % name in source)
    assert module_only == set(MODULE_OPTIONS)
    assert set(spec) | set(MODULE_OPTIONS) == set(unit_options()) | set(MODULE_OPTIONS)
