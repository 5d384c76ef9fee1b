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
