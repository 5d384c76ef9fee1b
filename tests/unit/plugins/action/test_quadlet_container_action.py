# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The quadlet_container action plugin refuses on the controller, so a refused value never reaches the target."""

from __future__ import annotations

from unittest.mock import MagicMock

from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader

from ansible_collections.podsec.hardening.plugins.action.quadlet_container import ActionModule

CANARY = "ghp_8fK2mQ9xL4vT7nR1sW6yZ3bC5dE0aH2jU"


def run(args):
    task = Task()
    task.action = "podsec.hardening.quadlet_container"
    task.args = args
    play_context = PlayContext()
    connection = connection_loader.get("ssh", play_context, None)
    action = ActionModule(task, connection, play_context, loader=MagicMock(), templar=None, shared_loader_obj=None)
    action._execute_module = MagicMock(return_value={"changed": True})
    return action, action.run(task_vars={})


def test_a_secret_like_value_never_reaches_the_module():
    action, result = run({"name": "web", "image": "localhost/x", "environment": {"NEUTRAL": CANARY}})
    assert result["failed"] and "environment.NEUTRAL: looks like a secret" in result["msg"]
    assert CANARY not in str(result)
    action._execute_module.assert_not_called()


def test_an_unknown_key_in_an_element_never_reaches_the_module():
    action, result = run({"containers": [{"name": "web", "image": "localhost/x",
                                          "secrets": [{"name": "db", "valeu": CANARY}]}]})
    assert result["msg"] == "containers[web].secrets[0]: unknown key 'valeu'" and CANARY not in str(result)
    action._execute_module.assert_not_called()


def test_control_a_valid_container_runs_the_module():
    action, result = run({"name": "web", "image": "localhost/x", "environment": {"LOG_LEVEL": "info"}})
    assert result["changed"] and not result.get("failed")
    action._execute_module.assert_called_once()
