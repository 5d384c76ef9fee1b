# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""selinux_volume_label's planner (issue 23): facts in, plan out, no host, no AnsibleModule."""

from __future__ import annotations

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _selinux_label as label

WEB = "system_u:object_r:container_file_t:s0:c1,c2"
OTHER = "system_u:object_r:container_file_t:s0:c3,c4"


def params(**overrides):
    base = {"paths": ["/srv/web"], "mode": "private", "owner": "web", "categories": None,
            "setype": "container_file_t", "registry": "/var/lib/podsec-hardening/selinux_levels.json",
            "recurse": True, "create_mode": "0755", "create_owner": None}
    base.update(overrides)
    return base


@pytest.mark.parametrize("enabled, when_disabled, missing, expected", [
    (True, "record", [], (False, None)),
    (False, "record", [], (False, None)),
    (False, "skip", ["semanage"], (True, "SELinux is disabled on this host: nothing labelled (when_disabled=skip)")),
])
def test_gate(enabled, when_disabled, missing, expected):
    assert label.gate(enabled, when_disabled, missing) == expected


@pytest.mark.parametrize("enabled, when_disabled, missing, message", [
    (True, "skip", ["restorecon"], "SELinux is enabled but the policy tools are missing: restorecon"),
    (False, "fail", [], "when_disabled=fail"),
    (False, "rules", ["semanage"], "when_disabled=rules needs the policy tools, missing: semanage"),
])
def test_gate_refusals(enabled, when_disabled, missing, message):
    with pytest.raises(label.LabelError, match=message):
        label.gate(enabled, when_disabled, missing)


def test_needed_tools():
    assert label.needed_tools(True, True) == ["semanage", "restorecon"]
    assert label.needed_tools(False, True) == ["semanage", "setfiles", "matchpathcon"]
    assert label.needed_tools(False, False) == ["semanage"]


@pytest.mark.parametrize("overrides, message", [
    ({"owner": "web\x1b"}, "owner"),
    ({"create_mode": "u=rwx"}, "create_mode: must be an octal mode"),
    ({"create_owner": "ghost"}, "create_owner: user 'ghost' does not exist"),
    ({"paths": ["/srv/link"]}, "path /srv/link resolves to /srv/real through a symlink"),
    ({"paths": ["/srv/etc-link"]}, "path /srv/etc-link resolves to /etc: path /etc is a system directory"),
    ({"paths": ["/home/alice"]}, "home directory"),
    ({"setype": "bad type"}, "setype"),
])
def test_check_params_refusals_name_the_field(overrides, message):
    def resolve(path):
        return {"/srv/link": "/srv/real", "/srv/etc-link": "/etc"}.get(path, path)

    with pytest.raises(label.LabelError, match=message):
        label.check_params(params(**overrides), ["/home/alice"], resolve, {"web": object()}.__getitem__)


def test_wanted_level():
    assert label.wanted_level(params(mode="shared"), {}, {}) == ("s0", False)
    assert label.wanted_level(params(), {"web": "s0:c1,c2"}, {}) == ("s0:c1,c2", False)
    assert label.wanted_level(params(categories=["c3", "c4"]), {"web": "s0:c1,c2"}, {}) == ("s0:c3,c4", True)
    with pytest.raises(label.LabelError, match="categories are only valid with mode=private"):
        label.wanted_level(params(mode="shared", categories=["c3", "c4"]), {}, {})


def test_requested_level_and_context():
    assert label.requested(params(), {"web": "s0:c1,c2"}, {}, True) == ("s0:c1,c2", False, WEB)
    assert label.requested(params(mode="shared"), {}, {}, True) == (
        "s0", False, "system_u:object_r:container_file_t:s0")
    # absent: the owner's registered level, no registration, no context (the rules are removed)
    assert label.requested(params(), {"web": "s0:c1,c2"}, {}, False) == ("s0:c1,c2", False, None)
    assert label.requested(params(), {}, {}, False) == ("", False, None)
    assert label.requested(params(owner=None), {"web": "s0:c1,c2"}, {}, False) == ("", False, None)


def test_paths_to_create():
    exists = {"/srv/web"}.__contains__
    assert label.paths_to_create(["/srv/web", "/srv/new"], exists, True, True) == ["/srv/new"]
    assert label.paths_to_create(["/srv/web"], exists, True, False) == []
    assert label.paths_to_create(["/srv/new"], exists, False, False) == []  # absent never creates
    with pytest.raises(label.LabelError, match=r"path /srv/new does not exist \(set create: true to create it\)"):
        label.paths_to_create(["/srv/web", "/srv/new"], exists, True, False)


def test_level_of_rules():
    plan = label.plan_labels(["/srv/a", "/srv/web"], True, {"/srv/web(/.*)?": WEB}, None, False, None)
    assert label.level_of_rules(plan) == "s0:c1,c2"
    assert label.level_of_rules(label.plan_labels(["/srv/a"], True, {}, None, False, None)) == ""


def test_semanage_and_restore_commands():
    assert label.semanage_args("-a", "/srv/web(/.*)?", WEB) == [
        "fcontext", "-a", "-t", "container_file_t", "-r", "s0:c1,c2", "/srv/web(/.*)?"]
    assert label.semanage_args("-d", "/srv/web(/.*)?") == ["fcontext", "-d", "/srv/web(/.*)?"]
    assert label.restore_command(True, True, True) == ("restorecon", ["-F", "-v", "-n", "-R"])
    assert label.restore_command(True, False, False) == ("restorecon", ["-F", "-v"])
    assert label.restore_command(False, True, False) == ("setfiles", ["-F", "-v"])
    assert label.restore_command(False, False, True) == (None, None)


def test_plan_present_one_step_per_path_that_needs_a_change():
    rules = {"/srv/web(/.*)?": WEB, "/srv/web/db(/.*)?": OTHER}
    seen = []

    def observe(path, regex, current, prune):
        seen.append((path, regex, current, prune))
        return {"/srv/web": [], "/srv/new": ["/srv/new"]}[path]

    plan = label.plan_labels(["/srv/web", "/srv/new"], True, rules, WEB, True, observe, create=["/srv/new"])
    # /srv/web/db has a rule of its own: pruned from /srv/web's relabel.
    assert seen[0] == ("/srv/web", "/srv/web(/.*)?", WEB, {"/srv/web/db"})
    assert [(s["path"], s["current"], s["relabel"]) for s in plan["steps"]] == [("/srv/new", None, ["/srv/new"])]
    assert plan["before_labels"]["/srv/new"] == "1 file(s) not labelled %s" % WEB
    assert plan["after_rules"] == {"/srv/web(/.*)?": WEB, "/srv/new(/.*)?": WEB}
    summary = label.plan_summary(plan, registry_changed=False)
    assert summary == {"rules": ["/srv/web(/.*)?", "/srv/new(/.*)?"], "labelled": 1, "changed_paths": ["/srv/new"],
                       "registered": False, "changed": True}


def test_plan_rules_only_never_observes_files_but_creates_missing_paths():
    def observe(*args):
        raise AssertionError("labels are not read with when_disabled=rules")

    plan = label.plan_labels(["/srv/web"], False, {"/srv/web": WEB}, WEB, False, observe, create=["/srv/web"])
    assert [s["path"] for s in plan["steps"]] == ["/srv/web"]
    assert plan["before_labels"]["/srv/web"] == "labels left to the relabel when SELinux is enabled"


def test_plan_absent_removes_rules_and_restores_files():
    rules = {"/srv/web(/.*)?": WEB}
    plan = label.plan_labels(["/srv/web", "/srv/gone"], True, rules, None, True,
                             lambda path, regex, current, prune: ["/srv/web/a"] if current else [])
    assert [(s["path"], s["current"], s["prune"]) for s in plan["steps"]] == [("/srv/web", WEB, set())]
    assert plan["after_rules"] == {"/srv/web(/.*)?": None, "/srv/gone(/.*)?": None}
    assert plan["before_labels"]["/srv/web"] == "1 file(s) to restore"


def test_registry_after_and_the_diff_of_a_release():
    registry = {"web": "s0:c1,c2", "db": "s0:c3,c4"}
    assert label.registry_after(registry, "new", "s0:c5,c6", True, True, ["/srv/new"]) == dict(registry, new="s0:c5,c6")
    assert label.registry_after(registry, "web", "s0:c1,c2", True, False, ["/srv/web"]) is None
    assert label.registry_after(registry, "web", "", False, False, []) == {"db": "s0:c3,c4"}
    # Absent with paths keeps the owner registered: its level stays reserved.
    assert label.registry_after(registry, "web", "", False, False, ["/srv/web"]) is None
    plan = label.plan_labels([], True, {}, None, True, lambda *a: [])
    diff = label.render_diff(plan, "web", registry, "", registry_changed=True)
    assert diff["before"] == "owner web s0:c1,c2\n" and diff["after"] == "owner web (unregistered)\n"


def test_host_output_parsers():
    out = ("Would relabel /srv/web/a from system_u:object_r:container_file_t:s0:c1,c2 to system_u:object_r:var_t:s0\n"
           "Relabeled /srv/web/b from x to y\nsomething else\n")
    assert label.parse_relabelled(out) == ["/srv/web/a", "/srv/web/b"]
    assert label.policy_spec_file("SELINUX=permissive\nSELINUXTYPE=default\n") == \
        "/etc/selinux/default/contexts/files/file_contexts"
    assert label.policy_spec_file("SELINUX=disabled\n") is None
    assert label.context_string(label.parse_context(WEB + "\0")) == WEB and label.context_string(None) is None
    assert label.base_result(params(), "s0:c1,c2", WEB, False, False)["rules"] == ["/srv/web(/.*)?"]
