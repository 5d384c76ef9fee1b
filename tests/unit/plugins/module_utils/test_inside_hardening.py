# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Issue 17, inside the container: the tightened seccomp profile, ulimits and private volumes.

molecule/hardened_container/tests/test_inside_attacks.py shows each protection stopping the attack on a
booted host, with a control; here the profile's rules, the rendering and the refusals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.podsec.hardening.plugins.filter.hardened_container import hardened_container_plan
from ansible_collections.podsec.hardening.plugins.module_utils import _seccomp_profile
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import QuadletError, build_unit

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PINNED = os.path.join(REPO, "tests", "seccomp", "podman-default-seccomp.json")
BASE = {"name": "web", "image": "localhost/podsec/busybox:latest"}
CLONE_NEW_MASK = 0x7E020000
CLONE_NEWUSER = 0x10000000


def unit(version=(5, 5), **spec):
    return build_unit(dict(BASE, **spec), version)


def values(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def refused(fragment, **spec):
    with pytest.raises(QuadletError) as info:
        unit(**spec)
    assert fragment in str(info.value)


# ---------------------------------------------------------------- the profile


def test_checked_in_profile_is_what_the_generator_makes_of_the_pinned_copy():
    script = os.path.join(REPO, "tests", "seccomp", "generate_profile.py")
    result = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def rules_for(profile, name):
    return [rule for rule in profile["syscalls"] if name in rule["names"]]


def test_profile_denies_namespace_creation_like_dockers_default():
    profile = json.loads(_seccomp_profile.profile_text())
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    (unshare,) = rules_for(profile, "unshare")
    assert (unshare["action"], unshare["errnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    assert "setns" in unshare["names"]
    (clone3,) = rules_for(profile, "clone3")
    assert (clone3["action"], clone3["errnoRet"], clone3["args"]) == ("SCMP_ACT_ERRNO", 38, [])
    allowed = [rule for rule in rules_for(profile, "clone") if rule["action"] == "SCMP_ACT_ALLOW"]
    # Allowed only when none of the CLONE_NEW* bits is set, on every architecture (s390 passes flags second).
    assert sorted((rule["args"][0]["index"], rule["args"][0]["value"], rule["args"][0]["valueTwo"],
                   rule["args"][0]["op"]) for rule in allowed) == [
        (0, CLONE_NEW_MASK, 0, "SCMP_CMP_MASKED_EQ"), (1, CLONE_NEW_MASK, 0, "SCMP_CMP_MASKED_EQ")]
    assert [rule["excludes"] for rule in allowed if rule["args"][0]["index"] == 0] == [{"arches": ["s390", "s390x"]}]
    denied = [rule for rule in rules_for(profile, "clone") if rule["action"] == "SCMP_ACT_ERRNO"]
    assert {rule["errnoRet"] for rule in denied} == {1}
    assert sum(rule["args"][0]["value"] for rule in denied if rule["args"][0]["index"] == 0) == CLONE_NEW_MASK
    assert any(rule["args"][0]["value"] == CLONE_NEWUSER == rule["args"][0]["valueTwo"] for rule in denied)


def test_profile_is_podmans_without_the_denied_calls():
    with open(PINNED) as handle:
        podman = json.load(handle)
    profile = json.loads(_seccomp_profile.profile_text())

    def allowed(data):
        return set(name for rule in data["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
                   and not rule.get("includes") for name in rule["names"])

    denied = set(_seccomp_profile.DENIED_CALLS)
    assert {"unshare", "clone", "clone3", "setns"} <= allowed(podman)  # what the issue found
    assert allowed(profile) == allowed(podman) - denied
    for name in ("keyctl", "add_key", "request_key", "userfaultfd", "perf_event_open", "bpf", "io_uring_setup",
                 "io_uring_enter", "io_uring_register", "mount", "umount2", "fsopen", "open_tree", "move_mount"):
        assert name in denied
        assert [rule["action"] for rule in rules_for(profile, name)] == ["SCMP_ACT_ERRNO"], name
    # Everything else (arch maps, cap-gated rules for other calls) is podman's.
    assert {key: value for key, value in profile.items() if key != "syscalls"} == {
        key: value for key, value in podman.items() if key != "syscalls"}


# ---------------------------------------------------------------- rendering


def test_units_use_the_tightened_profile_unless_opted_out_or_replaced():
    assert values(unit(), "SeccompProfile") == ["/etc/containers/podsec/seccomp.json"]
    assert values(unit(tightened_seccomp=False), "SeccompProfile") == []
    assert values(unit(seccomp_profile="/etc/containers/own.json"), "SeccompProfile") == ["/etc/containers/own.json"]


def test_default_ulimits_are_merged_and_host_opts_one_out():
    assert values(unit(), "Ulimit") == ["nofile=4096:8192", "nproc=256:256"]
    assert values(unit(ulimits={"nofile": "65536"}), "Ulimit") == ["nofile=65536", "nproc=256:256"]
    assert values(unit(ulimits={"nproc": "host", "core": 0}), "Ulimit") == ["core=0", "nofile=4096:8192"]
    assert values(unit(ulimits={"nofile": "host", "nproc": "host"}), "Ulimit") == []
    old = unit((4, 6))
    assert values(old, "Ulimit") == []
    assert "--ulimit=nofile=4096:8192 --ulimit=nproc=256:256" in values(old, "PodmanArgs")[0]


@pytest.mark.parametrize("spec, fragment", [
    ({"ulimits": {"nofiles": "10"}}, "ulimits: 'nofiles' is not a limit name"),
    ({"ulimits": {"nofile": "lots"}}, "ulimits.nofile: must be SOFT or SOFT:HARD"),
    ({"ulimits": {"nofile": "-1"}}, "ulimits.nofile: must be SOFT or SOFT:HARD"),
    ({"ulimits": {"nofile": "10:5"}}, "ulimits.nofile: the soft limit is above the hard limit"),
    ({"ulimits": {"nofile": "10\n[Service]"}}, "control character"),
    ({"podman_args": ["--ulimit=nofile=1048576"]}, "--ulimit is managed by this module; use ulimits"),
    ({"extra_keys": {"Container": {"Ulimit": "nproc=-1"}}}, "extra_keys.Container.Ulimit: not allowed here; use ulimits"),
])
def test_ulimits_refusals_name_the_field(spec, fragment):
    refused(fragment, **spec)


def test_private_host_volume_gets_podmans_u_option_and_nothing_else_does():
    text = unit(volumes=[{"source": "/srv/app/data", "target": "/data", "private": True},
                         {"source": "/srv/app/conf", "target": "/conf", "options": ["ro"], "private": True},
                         {"source": "/srv/shared", "target": "/shared"}])
    assert values(text, "Volume") == ["/srv/app/data:/data:U", "/srv/app/conf:/conf:ro,U", "/srv/shared:/shared"]
    refused("volumes[0].private: applies to host paths only",
            volumes=[{"source": "appdata", "target": "/data", "private": True}])
    refused("set private: true on a directory that belongs to this container",
            volumes=[{"source": "/srv/app/data", "target": "/data", "options": ["U"]}])


# ---------------------------------------------------------------- the role's plan


def plan(volumes, user="root"):
    return hardened_container_plan([dict(BASE, volumes=volumes)], user, "/run/podsec-secrets-root")


def test_role_makes_host_volumes_private_unless_declared_shared():
    result = plan([{"source": "/srv/a", "target": "/a"},
                   {"source": "/srv/b", "target": "/b", "selinux": "shared"},
                   {"source": "/srv/c", "target": "/c", "selinux": "none"},
                   {"source": "/srv/d", "target": "/d", "selinux": "none", "private": False},
                   {"source": "named", "target": "/e"}])
    assert [volume["private"] for volume in result["units"][0]["volumes"]] == [True, False, True, False, False]
    assert [volume["private"] for volume in result["present"][0]["volumes"]] == [True, False, True, False, False]
    assert all("selinux" not in volume for volume in result["units"][0]["volumes"])


@pytest.mark.parametrize("volume, fragment", [
    ({"selinux": "shared", "private": True}, "volumes[0].private: a volume declared shared"),
    ({"private": False}, "volumes[0].private: false needs selinux: shared or none"),
    ({"private": "yes"}, "volumes[0].private: must be true or false"),
])
def test_role_refuses_contradicting_volume_keys(volume, fragment):
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError) as info:
        plan([dict({"source": "/srv/a", "target": "/a"}, **volume)])
    assert fragment in str(info.value)
