# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The hardened_container role's one task: which host calls it makes, in which order, with which arguments.

The modules' work on a host is proven by the molecule scenarios; here the host is a recorder, so each test can
say which calls a run makes (one for containers without secrets or host volumes), what reaches each module and
that nothing of a secret value reaches the result.
"""

from __future__ import annotations

import json
import os
from unittest.mock import MagicMock

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.action import ActionBase
from ansible.plugins import loader as plugin_loader
from ansible.plugins.loader import connection_loader
from ansible.template import Templar

from ansible_collections.podsec.hardening.plugins.action import tmpfs_secret
from ansible_collections.podsec.hardening.plugins.action.hardened_container_apply import ActionModule
from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import ROLE_MARKER

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SECRET = "planted-value-0c6e2b9d51f7"
IMAGE = "localhost/podsec/busybox:latest"
PLAIN = {"name": "web", "image": IMAGE, "command": ["httpd", "-f"]}
WITH_SECRET_AND_VOLUME = dict(PLAIN, name="db", secrets=[{"name": "password", "value": SECRET}],
                              volumes=[{"source": "/srv/db", "target": "/data"},
                                       {"source": "/srv/shared", "target": "/shared", "selinux": "shared"}])


class Host(object):
    """Records each call the action makes to the host and answers like the modules would."""

    def __init__(self, podman="podman version 5.4.2", changed_secrets=(), fail=None, level="s0:c1,c2"):
        self.calls = []
        self.podman = podman
        self.changed_secrets = list(changed_secrets)
        self.fail = fail
        self.level = level

    def execute_module(self, action, module_name=None, module_args=None, task_vars=None, wrap_async=False):
        del task_vars, wrap_async
        self.calls.append((module_name, module_args, action._task.no_log))
        short = module_name.rsplit(".", 1)[1]
        if short == self.fail:
            return {"failed": True, "msg": "%s failed" % short}
        if short == "tmpfs_secret" and self.fail == "tmpfs_secret echoing":
            # as if tmpfs_secret's message and AnsibleModule's masking both missed a value
            return {"failed": True, "msg": "refused %s" % module_args["secrets"][0]["content"],
                    "warnings": ["line %s" % module_args["secrets"][0]["content"].splitlines()[-1]]}
        if short == "tmpfs_secret":
            return {"changed": bool(self.changed_secrets), "changed_secrets": self.changed_secrets,
                    "secrets": [{"name": s["name"], "content": s["content"]} for s in module_args["secrets"]]}
        if short == "selinux_volume_label":
            return {"changed": False, "level": self.level if module_args["mode"] == "private" else "s0"}
        return {"changed": False, "changed_units": [], "apply": {}, "invocation": {"module_args": module_args}}

    def low_level(self, cmd, sudoable=True):
        # sudoable would make Ansible's ssh connection open a terminal, a login recorded in the host's wtmp
        assert sudoable is False
        self.calls.append((cmd, None, None))
        return {"rc": 0 if self.podman else 127, "stdout": self.podman or "", "stderr": ""}


def run(host, containers, monkeypatch, pipelining=True, **args):
    """The action's result for ``containers`` (the role's variable) and the task's arguments ``args``."""
    def execute_module(action, **kwargs):
        # a function, not host's bound method: each action (tmpfs_secret's too) passes itself as the first argument
        return host.execute_module(action, **kwargs)

    monkeypatch.setattr(ActionBase, "_execute_module", execute_module)
    monkeypatch.setattr(ActionBase, "_low_level_execute_command", lambda action, cmd, **kwargs: host.low_level(cmd, **kwargs))
    task = Task()
    task.action = "podsec.hardening.hardened_container_apply"
    task.args = args
    play_context = PlayContext()
    connection = connection_loader.get("ssh", play_context, None)
    connection.set_option("pipelining", pipelining)

    def get(name, task, connection, play_context, loader, templar, shared_loader_obj):
        assert name == "podsec.hardening.tmpfs_secret"
        return tmpfs_secret.ActionModule(task, connection, play_context, loader, templar, shared_loader_obj)

    monkeypatch.setattr(plugin_loader.action_loader, "get", get)
    task_vars = {"inventory_hostname": "h1"}
    if containers is not None:
        task_vars["hardened_container_containers"] = containers
    templar = Templar(loader=DataLoader(), variables=task_vars)
    action = ActionModule(task, connection, play_context, loader=MagicMock(), templar=templar, shared_loader_obj=None)
    return action.run(task_vars=task_vars)


def modules(host):
    return [call[0] for call in host.calls]


def test_containers_without_secrets_or_host_volumes_make_one_host_call(monkeypatch):
    host = Host()
    result = run(host, [PLAIN], monkeypatch, managed_header="Managed")
    assert not result.get("failed"), result
    assert modules(host) == ["podsec.hardening.quadlet_container"]
    args = host.calls[0][1]
    assert args["header"] == ["Managed", ROLE_MARKER] and args["managed_marker"] == ROLE_MARKER
    assert args["apply"]["started"] == ["web"] and args["apply"]["restart"] == []
    assert "rootless_user" not in args and "changed_secrets" not in result


def test_secrets_and_volumes_before_the_units_and_the_levels_in_them(monkeypatch):
    host = Host(changed_secrets=["db.password"])
    result = run(host, [WITH_SECRET_AND_VOLUME, PLAIN], monkeypatch)
    assert not result.get("failed"), result
    assert modules(host) == ["podman --version", "podsec.hardening.tmpfs_secret",
                             "podsec.hardening.selinux_volume_label", "podsec.hardening.selinux_volume_label",
                             "podsec.hardening.quadlet_container"]
    _name, stored, no_log = host.calls[1]
    assert no_log is True  # the module logs nothing on the target
    assert stored["path"] == "/run/podsec-secrets-root" and stored["group"] == "root"
    assert [(s["name"], s["content"]) for s in stored["secrets"]] == [("db.password", SECRET)]
    private, shared = host.calls[2][1], host.calls[3][1]
    assert (private["paths"], private["mode"], private["owner"]) == (["/srv/db"], "private", "db")
    assert (shared["paths"], shared["mode"]) == (["/srv/shared"], "shared")
    units = host.calls[4][1]
    assert host.calls[4][2] is False
    db = [unit for unit in units["containers"] if unit["name"] == "db"][0]
    assert db["security_label_level"] == "s0:c1,c2"
    assert db["secret_files"] == [{"source": "/run/podsec-secrets-root/db.password", "target": "/run/secrets/password",
                                   "idmap": True}]
    assert units["apply"]["restart"] == ["db"]
    assert result["changed"] is True and result["changed_secrets"] == ["db.password"]
    assert result["selinux_levels"] == {"db": "s0:c1,c2"}
    assert SECRET not in json.dumps(result) and SECRET not in json.dumps(units)


@pytest.mark.parametrize("level, refused", [
    ("s0:c1,c2\nExecStartPre=/bin/sh -c id", True),  # a host answering with a line of its own for the unit
    ("s0:c1,c2", False),  # control: the level the labelling returns goes into the unit
])
def test_a_level_from_the_host_is_checked_before_it_reaches_a_unit(monkeypatch, level, refused):
    # The plan checked the units before the labelling; the level comes from the host afterwards.
    host = Host(level=level)
    result = run(host, [WITH_SECRET_AND_VOLUME], monkeypatch)
    assert bool(result.get("failed")) is refused, result
    assert ("podsec.hardening.quadlet_container" in modules(host)) is not refused
    if refused:
        assert "security_label_level" in result["msg"]


def test_rootless_owner(monkeypatch):
    host = Host()
    result = run(host, [WITH_SECRET_AND_VOLUME], monkeypatch, user="alice")
    assert not result.get("failed"), result
    stored, private, units = host.calls[1][1], host.calls[2][1], host.calls[4][1]
    assert (stored["owner"], stored["group"], stored["path"]) == ("alice", "alice", "/run/podsec-secrets-alice")
    assert (private["owner"], private["create_owner"]) == ("alice-db", "alice")
    assert units["rootless_user"] == "alice" and units["apply"]["restart"] == []


@pytest.mark.parametrize("podman, found", [("podman version 4.3.1", "podman 4.3.1"), (None, "podman not found")])
def test_a_podman_without_quadlet_is_refused_before_secrets_and_labels(podman, found, monkeypatch):
    host = Host(podman=podman)
    result = run(host, [WITH_SECRET_AND_VOLUME], monkeypatch)
    assert result["failed"] is True
    assert result["msg"].startswith("%s on h1 has no Quadlet" % found) and "needs podman 4.4 or later" in result["msg"]
    assert modules(host) == ["podman --version"]


def test_control_a_quadlet_podman_passes_the_check(monkeypatch):
    host = Host(podman="podman version 4.4.0")
    assert not run(host, [WITH_SECRET_AND_VOLUME], monkeypatch).get("failed")


def test_without_pipelining_the_secrets_are_refused_and_nothing_else_runs(monkeypatch):
    host = Host()
    result = run(host, [WITH_SECRET_AND_VOLUME], monkeypatch, pipelining=False)
    assert result["failed"] is True and result["msg"] == tmpfs_secret.PIPELINING_HINT
    assert modules(host) == ["podman --version"]
    assert SECRET not in json.dumps(result)


@pytest.mark.parametrize("fail", ["tmpfs_secret", "selinux_volume_label"])
def test_a_failed_step_stops_the_run_with_its_message(fail, monkeypatch):
    host = Host(fail=fail)
    result = run(host, [WITH_SECRET_AND_VOLUME], monkeypatch)
    assert result["failed"] is True and result["msg"] == "%s failed" % fail
    assert "podsec.hardening.quadlet_container" not in modules(host)
    assert SECRET not in json.dumps(result)


def test_a_refused_container_touches_no_host_and_shows_no_value(monkeypatch):
    host = Host()
    bad = dict(WITH_SECRET_AND_VOLUME, enviroment={"TOKEN": SECRET})
    result = run(host, [bad], monkeypatch)
    assert result["failed"] is True and "enviroment" in result["msg"] and "environment" in result["msg"]
    assert host.calls == [] and SECRET not in json.dumps(result)


def test_unknown_options_are_refused(monkeypatch):
    host = Host()
    result = run(host, [PLAIN], monkeypatch, secret_path="/tmp")
    assert result["failed"] is True and "secret_path" in result["msg"] and host.calls == []


@pytest.mark.parametrize("item", ["name=web image=localhost/podsec/busybox:latest", ["web"]])
def test_a_network_that_is_no_dictionary_is_refused(item, monkeypatch):
    host = Host()
    result = run(host, [PLAIN], monkeypatch, networks=[item])
    assert result["failed"] is True and "hardened_container_networks[0]: must be a dictionary" in result["msg"]
    assert host.calls == []


def test_a_secret_without_name_is_refused_naming_it(monkeypatch):
    host = Host()
    result = run(host, [dict(PLAIN, secrets=[{"value": SECRET}])], monkeypatch)
    assert result["failed"] is True and result["msg"] == "hardened_container_containers[web].secrets[0].name: is required"
    assert host.calls == [] and SECRET not in json.dumps(result)


def test_the_secrets_path_is_not_expanded_on_the_controller(monkeypatch):
    monkeypatch.setenv("CONTROLLER_TOKEN", "controller-only-4d2a")
    host = Host()
    result = run(host, [WITH_SECRET_AND_VOLUME], monkeypatch, secrets_path="/run/podsec-$CONTROLLER_TOKEN")
    assert "controller-only-4d2a" not in json.dumps(result) + json.dumps(host.calls), result


def test_the_secret_values_are_not_in_the_task_arguments(monkeypatch):
    """Callbacks show a task's arguments; the role's task names no container, the action reads them itself."""
    with open(os.path.join(REPO, "roles", "hardened_container", "tasks", "main.yml")) as handle:
        tasks = yaml.safe_load(handle)
    assert [task["podsec.hardening.hardened_container_apply"] for task in tasks if "podsec.hardening.hardened_container_apply" in task]
    for task in tasks:
        assert "hardened_container_containers" not in json.dumps(task.get("podsec.hardening.hardened_container_apply"))
    host = Host()
    assert not run(host, [WITH_SECRET_AND_VOLUME], monkeypatch).get("failed")
    assert [(s["name"], s["content"]) for s in host.calls[1][1]["secrets"]] == [("db.password", SECRET)]


def test_without_the_containers_variable_nothing_runs(monkeypatch):
    """Not an empty list: with prune, no containers would remove every unit the role installed."""
    host = Host()
    result = run(host, None, monkeypatch, prune=True)
    assert result["failed"] is True and "hardened_container_containers is not defined" in result["msg"]
    assert host.calls == []
    assert not run(Host(), [], monkeypatch, prune=True).get("failed")  # control: an empty list is a declaration


def test_a_value_in_a_secret_step_message_is_masked(monkeypatch):
    value = SECRET + "\nsecond-line-of-the-value"
    container = dict(WITH_SECRET_AND_VOLUME, secrets=[{"name": "password", "value": value}])
    result = run(Host(fail="tmpfs_secret echoing"), [container], monkeypatch)
    assert result["failed"] is True and result["msg"] == "refused ********"
    assert result["warnings"] == ["line ********"]
    assert SECRET not in json.dumps(result) and "second-line-of-the-value" not in json.dumps(result)
