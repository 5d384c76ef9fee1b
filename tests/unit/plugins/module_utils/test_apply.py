# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner behind quadlet_container's apply: what is removed, reloaded, restarted and started, from facts."""

from __future__ import annotations

import pwd
import shutil
import subprocess
import tempfile

import pytest

from hypothesis import given, settings, strategies as st

from ansible_collections.podsec.hardening.plugins.module_utils._apply import (
    declared_images,
    failed_services,
    failure_message,
    image_restarts,
    images_to_pull,
    owner_argv,
    parse_running,
    parse_show,
    plan_apply,
    plan_image_queries,
    pull_argv,
    pull_failure_message,
    restart_argv,
    show_argv,
    subid_lines_to_add,
)


def unit(name, changed=False, active_state="active"):
    return {"name": name, "changed": changed, "active_state": active_state}


def test_nothing_changed_and_everything_running_plans_nothing():
    plan = plan_apply([unit("web"), unit("db", active_state="activating")], managed=["db", "web"])
    assert plan == {"remove": [], "remove_files": [], "reload": False, "restart": [], "start": [], "reset": []}
    assert restart_argv(plan) is None


def test_changed_units_restart_stopped_ones_start_all_in_one_restart_call():
    units = [unit("web", changed=True), unit("db", active_state="inactive"), unit("cache"),
             unit("new", changed=True, active_state="unknown"), unit("dead", active_state="failed")]
    plan = plan_apply(units, managed=["cache", "db", "dead", "web"])
    assert plan["reload"] is True
    assert plan["restart"] == ["web", "new"]
    assert plan["start"] == ["db", "dead"]
    # Each one's start limit is cleared first: one in a crash loop may look active between two attempts.
    assert plan["reset"] == ["web", "new", "db", "dead"]
    assert restart_argv(plan) == ["restart", "web.service", "new.service", "db.service", "dead.service"]


def test_a_changed_secret_restarts_its_container_without_a_reload():
    plan = plan_apply([unit("web"), unit("db")], managed=[], restart=["db"])
    assert plan == {"remove": [], "remove_files": [], "reload": False, "restart": ["db"], "start": [], "reset": ["db"]}


def test_units_not_declared_started_are_neither_restarted_nor_started():
    units = [unit("limits", changed=True, active_state="inactive"), unit("web", active_state="inactive")]
    plan = plan_apply(units, managed=[], started=["web"])
    assert plan == {"remove": [], "remove_files": [], "reload": True, "restart": [], "start": ["web"], "reset": ["web"]}


def test_prune_removes_managed_units_that_are_not_declared_and_reloads():
    plan = plan_apply([unit("web")], managed=["old", "web"], prune=True)
    assert plan == {"remove": ["old"], "remove_files": [], "reload": True, "restart": [], "start": [], "reset": []}


def test_without_prune_only_managed_units_declared_absent_are_removed():
    plan = plan_apply([unit("web")], managed=["old", "other", "web"], absent=["old", "never-installed"])
    assert plan["remove"] == ["old"]
    # control: the same facts with prune remove both units the list does not declare
    assert plan_apply([unit("web")], managed=["old", "other", "web"], prune=True)["remove"] == ["old", "other"]


def test_network_volume_and_pod_units_are_pruned_when_this_call_does_not_write_them():
    others = {"managed": ["web.network", "gone.network", "backend.network", "data.volume", "p.pod"],
              "written": ["web.network", "backend.network"], "changed": False, "absent": []}
    plan = plan_apply([unit("web")], managed=["web"], prune=True, others=others)
    assert plan["remove_files"] == ["gone.network", "data.volume", "p.pod"]
    assert plan["reload"] is True and plan["restart"] == []
    # Without prune only what is declared absent goes, and never a unit this call writes.
    others["absent"] = ["data.volume", "backend.network"]
    plan = plan_apply([unit("web")], managed=["web"], others=others)
    assert plan["remove_files"] == ["data.volume"]
    # control: nothing declared absent, nothing pruned, nothing changed: no reload
    others["absent"] = []
    assert plan_apply([unit("web")], managed=["web"], others=others)["reload"] is False


def test_a_changed_network_unit_reloads_systemd_and_restarts_no_container():
    others = {"managed": ["backend.network"], "written": ["backend.network"], "changed": True, "absent": []}
    plan = plan_apply([unit("web")], managed=["web"], others=others)
    assert plan["reload"] is True and plan["restart"] == [] and plan["remove_files"] == []


NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
STATES = st.sampled_from(["active", "activating", "inactive", "failed", "unknown", "deactivating"])


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(declared=st.dictionaries(NAMES, st.tuples(st.booleans(), STATES)), managed=st.sets(NAMES),
       started=st.none() | st.sets(NAMES), absent=st.sets(NAMES), prune=st.booleans(), restart=st.sets(NAMES))
def test_every_wanted_service_ends_up_running_and_nothing_else_is_touched(
        declared, managed, started, absent, prune, restart):
    units = [unit(name, changed, state) for name, (changed, state) in sorted(declared.items())]
    plan = plan_apply(units, sorted(managed), None if started is None else sorted(started), sorted(absent), prune,
                      sorted(restart))
    wanted = set(declared) if started is None else set(started) & set(declared)
    touched = plan["restart"] + plan["start"]
    assert len(touched) == len(set(touched))  # restart and start are disjoint, no service twice
    assert set(touched) <= wanted
    for name, (changed, state) in declared.items():
        if name in wanted and (changed or name in restart):
            assert name in plan["restart"]  # exactly the changed ones restart ...
        elif name in wanted:
            assert name not in plan["restart"]
            assert (name in plan["start"]) == (state not in ("active", "activating"))  # ... the stopped ones start
    assert not set(plan["remove"]) & set(declared) and set(plan["remove"]) <= managed
    assert plan["reload"] == (any(changed for changed, _state in declared.values()) or bool(plan["remove"]))


SHOW = """Id=good.service
LoadState=loaded
ActiveState=active
SubState=running
Result=success
NRestarts=0

Id=bad.service
LoadState=loaded
ActiveState=failed
SubState=failed
Result=exit-code
NRestarts=5

Id=flapping.service
LoadState=loaded
ActiveState=activating
SubState=auto-restart
Result=exit-code
NRestarts=1

Id=later.service
LoadState=loaded
ActiveState=active
SubState=running
Result=success
NRestarts=2

Id=gone.service
LoadState=not-found
ActiveState=inactive
SubState=dead
Result=success
NRestarts=0
"""


def test_the_state_query_names_each_service_that_did_not_come_up_and_why():
    names = ["good", "bad", "flapping", "later", "gone", "unreported"]
    assert show_argv(["good"]) == ["show", "--property=Id,LoadState,ActiveState,SubState,Result,NRestarts",
                                   "good.service"]
    failed = failed_services(names, parse_show(SHOW))
    assert failed == [
        ("bad", "failed (failed), result exit-code, restarted 5 times"),
        ("flapping", "activating (auto-restart), result exit-code, restarted 1 times"),
        ("later", "active (running), result success, restarted 2 times"),
        ("gone", "unit not-found; inactive (dead), result success"),
        ("unreported", "systemd reported no state"),
    ]
    # control: a running service that was not restarted since is not reported
    assert failed_services(["good"], parse_show(SHOW)) == []


def test_the_failure_message_carries_each_services_journal_lines():
    message = failure_message([{"name": "bad", "why": "failed (failed), result exit-code",
                                "journal": "boom-marker\nexit status 3\n"},
                               {"name": "quiet", "why": "inactive (dead), result success", "journal": ""}], "user podsec")
    assert message.splitlines() == [
        "2 of the services this task started or restarted did not come up (user podsec manager):",
        "bad.service: failed (failed), result exit-code. Last journal lines:",
        "boom-marker",
        "exit status 3",
        "quiet.service: inactive (dead), result success. Last journal lines:",
        "(the journal has none)",
    ]


def test_subordinate_id_ranges_are_appended_on_a_line_of_their_own():
    texts = {"/etc/subuid": "podsec:100000:65536", "/etc/subgid": ""}
    assert subid_lines_to_add(texts, ["/etc/subuid", "/etc/subgid"], 2147483647, 2147483648) == {
        "/etc/subuid": "podsec:100000:65536\ncontainers:2147483647:2147483648\n",
        "/etc/subgid": "containers:2147483647:2147483648\n",
    }


def test_a_file_with_a_containers_range_is_kept_when_only_the_user_was_missing():
    # Reported missing because no user "containers" exists (libsubid of shadow 4.20): the range stays single.
    texts = {"/etc/subuid": "containers:2147483647:2147483648\n", "/etc/subgid": None}
    assert subid_lines_to_add(texts, ["/etc/subuid", "/etc/subgid"], 2147483647, 2147483648) == {
        "/etc/subuid": "containers:2147483647:2147483648\n",
        "/etc/subgid": "containers:2147483647:2147483648\n",
    }


def test_each_image_is_named_once_with_the_containers_that_use_it_in_declared_order():
    containers = [{"name": "a", "image": "r.example/x:1"}, {"name": "b", "image": "r.example/y:1"},
                  {"name": "c", "image": "r.example/x:1"}]
    assert declared_images(containers) == [("r.example/x:1", ["a", "c"]), ("r.example/y:1", ["b"])]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from(["r.example/x:1", "r.example/y:1",
                                                                      "r.example/z@sha256:" + "0" * 64])),
                unique_by=lambda pair: pair[0]),
       st.sets(st.sampled_from(["r.example/x:1", "r.example/y:1", "r.example/other:1"])))
def test_exactly_the_declared_images_missing_from_storage_are_pulled_each_once(pairs, stored):
    images = declared_images([{"name": name, "image": image} for name, image in pairs])
    pull = images_to_pull(images, stored)
    assert len(pull) == len(set(pull))
    assert set(pull) == set(image for _name, image in pairs) - stored
    # Every container is accounted for under its image exactly once.
    assert sorted(name for _image, names in images for name in names) == sorted(name for name, _image in pairs)


def test_the_pull_failure_names_the_image_its_containers_the_scope_and_podmans_error():
    assert pull_argv("r.example/x:1") == ["pull", "--quiet", "--", "r.example/x:1"]
    message = pull_failure_message("r.example/x:1", ["a", "c"], "user podsec",
                                   "Error: Source image rejected: A signature was required, but no signature exists\n")
    assert message == ("podman could not pull r.example/x:1 for a, c (user podsec scope: its storage and trust "
                       "policy): Error: Source image rejected: A signature was required, but no signature exists -- "
                       "no unit was installed, removed or restarted")
    # A rootless owner whose lingering the call enabled for the pull is told so: that change stays.
    assert pull_failure_message("r.example/x:1", ["a"], "user podsec", "refused", lingering_enabled_for="podsec") == (
        "podman could not pull r.example/x:1 for a (user podsec scope: its storage and trust policy): refused -- "
        "no unit was installed, removed or restarted; lingering for podsec was enabled for the pull and stays on")


def test_the_running_containers_are_read_from_podman_ps():
    assert parse_running("web\t7ab4f0977a72\napi\t29974230359e\n\nbroken line\n") == {
        "web": "7ab4f0977a72", "api": "29974230359e"}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(["x", "y"]), min_size=1),
       st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from(["1" * 64, "2" * 64])),
       st.dictionaries(st.sampled_from("abcdefg"), st.sampled_from(["1" * 12, "2" * 12, "1" * 64])))
def test_exactly_the_running_containers_whose_image_moved_restart(declared, ids, running):
    images = declared_images([{"name": name, "image": image} for name, image in sorted(declared.items())])
    restart = image_restarts(images, ids, running)
    assert restart == [name for name, image in sorted(declared.items(), key=lambda pair: (
        [image for image, _n in images].index(pair[1]), pair[0]))
        if name in running and image in ids and ids[image][:12] != running[name][:12]]


@pytest.mark.skipif(not shutil.which("podman"), reason="needs podman")
def test_the_pull_argv_ends_podmans_options_before_the_reference():
    """The real podman reads a reference that starts with a dash as a reference after ``--``, not as an option."""
    # A storage of the test's own (vfs: no mount); podman limits the runroot path to 50 characters.
    scratch = tempfile.mkdtemp(prefix="podsec-pull-")
    try:
        store = ["podman", "--root", scratch + "/root", "--runroot", scratch + "/run", "--storage-driver", "vfs"]
        ours = subprocess.run(store + pull_argv("--help"), capture_output=True, text=True, timeout=60, check=False)
        assert ours.returncode != 0 and "invalid reference format" in ours.stderr
        # Control: without the -- podman takes the same value as its --help option and succeeds.
        plain = subprocess.run(store + ["pull", "--quiet", "--help"], capture_output=True, text=True, timeout=60, check=False)
        assert plain.returncode == 0 and "Pull an image from a registry" in plain.stdout
    finally:
        shutil.rmtree(scratch)


RUNNER = pwd.struct_passwd(("runner", "x", 4321, 4321, "", "/home/runner", "/bin/sh"))
PREFIX = ["runuser", "-u", "runner", "--", "env", "-i", "HOME=/home/runner"]


def test_root_runs_its_own_commands_as_they_are():
    assert owner_argv(["podman", "ps"], None, 0, PREFIX) == (["podman", "ps"], {})


def test_root_runs_the_rootless_users_commands_through_the_user_prefix_without_its_own_environment():
    assert owner_argv(["systemctl", "--user", "is-active"], RUNNER, 0, PREFIX) == (
        PREFIX + ["systemctl", "--user", "is-active"], {})


def test_the_rootless_user_itself_runs_in_its_own_environment_with_its_runtime_directory():
    assert owner_argv(["podman", "ps"], RUNNER, 4321, PREFIX) == (["podman", "ps"],
                                                                  {"XDG_RUNTIME_DIR": "/run/user/4321"})


@pytest.mark.parametrize("rootless, lingering, runtime_dir, check_mode, enable_linger, ask", [
    # root: podman always answers, lingering is no question.
    (False, True, True, False, False, True),
    (False, True, True, True, False, True),
    # a rootless user without lingering: enabled first in a real run, then podman is asked.
    (True, False, False, False, True, True),
    (True, False, True, False, True, True),
    # check mode changes nothing: podman is asked only where its runtime directory exists already.
    (True, False, False, True, False, False),
    (True, False, True, True, False, True),
    (True, True, True, True, False, True),
    (True, True, False, True, False, False),
    # lingering on: nothing to enable.
    (True, True, True, False, False, True),
])
def test_the_image_queries_never_change_anything_in_check_mode(rootless, lingering, runtime_dir, check_mode,
                                                               enable_linger, ask):
    expected = {"enable_linger": enable_linger, "ask": ask}
    assert plan_image_queries(rootless, lingering, runtime_dir, check_mode) == expected


@given(st.booleans(), st.booleans(), st.booleans())
def test_check_mode_enables_nothing_and_a_real_run_always_asks(rootless, lingering, runtime_dir):
    assert plan_image_queries(rootless, lingering, runtime_dir, True)["enable_linger"] is False
    real = plan_image_queries(rootless, lingering, runtime_dir, False)
    assert real["ask"] is True and real["enable_linger"] == (rootless and not lingering)
