# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The tmpfs_secret action plugin refuses non-pipelined and async runs and never echoes the arguments."""

from __future__ import annotations

import json
from unittest.mock import MagicMock

import pytest

from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader

from ansible_collections.podsec.hardening.plugins.action.tmpfs_secret import ActionModule

SECRET = "planted-value-7f3e9c2a41b84d0e"


def make_action(pipelining, async_val=0, keep_remote_files=False, monkeypatch=None):
    task = Task()
    task.action = "podsec.hardening.tmpfs_secret"
    task.args = {"path": "/run/podsec-secrets", "secrets": [{"name": "db", "content": SECRET}]}
    task.async_val = async_val
    play_context = PlayContext()
    connection = connection_loader.get("ssh", play_context, None)
    connection.set_option("pipelining", pipelining)
    if monkeypatch is not None:
        monkeypatch.setattr("ansible.plugins.connection.C.DEFAULT_KEEP_REMOTE_FILES", keep_remote_files)
    action = ActionModule(task, connection, play_context, loader=MagicMock(), templar=None, shared_loader_obj=None)
    action._execute_module = MagicMock(return_value={"changed": True, "secrets": []})
    return action


@pytest.mark.parametrize("pipelining, keep", [(False, False), (True, True)])
def test_refuses_without_pipelining(pipelining, keep, monkeypatch):
    action = make_action(pipelining=pipelining, keep_remote_files=keep, monkeypatch=monkeypatch)
    result = action.run(task_vars={})
    assert result["failed"] is True
    assert "pipelining = True" in result["msg"] and "ansible_pipelining: true" in result["msg"]
    action._execute_module.assert_not_called()
    assert SECRET not in json.dumps(result)


def test_refuses_async(monkeypatch):
    action = make_action(pipelining=True, async_val=30, monkeypatch=monkeypatch)
    result = action.run(task_vars={})
    assert result["failed"] is True and "async" in result["msg"]
    action._execute_module.assert_not_called()
    assert SECRET not in json.dumps(result)


def test_runs_the_module_when_pipelined(monkeypatch):
    action = make_action(pipelining=True, monkeypatch=monkeypatch)
    result = action.run(task_vars={})
    assert result.get("failed") is not True and result["changed"] is True
    kwargs = action._execute_module.call_args.kwargs
    assert kwargs["module_name"] == "podsec.hardening.tmpfs_secret"
    assert kwargs["wrap_async"] is False
    assert kwargs["module_args"]["secrets"][0]["content"] == SECRET


@pytest.mark.parametrize("args, named", [
    ({"path": "/run/podsec-secrets", "secrets": [{"name": "db", "value": SECRET}]}, "secrets[0].value"),
    ({"path": "/run/podsec-secrets", "contnet": SECRET, "secrets": []}, "contnet"),
])
def test_unknown_options_are_refused_by_name_without_their_value(args, named, monkeypatch):
    action = make_action(pipelining=True, monkeypatch=monkeypatch)
    action._task.args = args
    result = action.run(task_vars={})
    assert result["failed"] is True and named in result["msg"]
    action._execute_module.assert_not_called()
    assert SECRET not in json.dumps(result)


def test_control_ansible_would_echo_an_unknown_option_s_value():
    # what the refusal above protects from: AnsibleModule's own check puts the value into the invocation
    import subprocess
    import sys
    code = (
        "import json\n"
        "from ansible.module_utils import basic\n"
        "from ansible.module_utils.testing import patch_module_args\n"
        "from ansible_collections.podsec.hardening.plugins.module_utils._tmpfs import argument_spec\n"
        "with patch_module_args({'path': '/run/x', 'secrets': [{'name': 'db', 'value': %r}]}):\n"
        "    basic.AnsibleModule(argument_spec=argument_spec(), no_log=True)\n" % SECRET
    )
    import os
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert "Unsupported parameters" in proc.stdout and SECRET in proc.stdout


def test_the_invocation_is_dropped_from_the_module_result(monkeypatch):
    action = make_action(pipelining=True, monkeypatch=monkeypatch)
    action._execute_module.return_value = {"changed": False, "invocation": {"module_args": {"x": SECRET}}}
    result = action.run(task_vars={})
    assert "invocation" not in result and SECRET not in json.dumps(result)
