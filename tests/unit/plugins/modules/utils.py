# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one module-test harness: run a module's main() in-process with real argument parsing.

AnsibleModule's exit_json and fail_json are patched to raise ``ExitJson`` / ``FailJson`` carrying
the result with ``failed`` set as Ansible sets it, and ``warn`` collects the warnings into the result,
as Ansible shows them. The host side (run_command, files) stays each test file's own fake.
"""

from __future__ import annotations

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ExitJson(Exception):
    """The module called exit_json; ``args[0]`` is its result (``failed: false``)."""


class FailJson(Exception):
    """The module called fail_json; ``args[0]`` is its result (with ``msg`` and ``failed``)."""


def run_main(main, args, check_mode=False, diff=False, expect=ExitJson):
    """Run ``main`` with module arguments ``args``; return the result of the ``expect`` exception(s)."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args):
        with pytest.raises(expect) as info:
            main()
    return info.value.args[0]


def patch_module(monkeypatch):
    """Patch AnsibleModule for one test: exit_json/fail_json raise ExitJson/FailJson, warn collects."""
    warnings = []

    def finish(exception, kwargs):
        # Warnings go through module.warn(); passing them to exit_json is deprecated in ansible-core 2.19.
        assert "warnings" not in kwargs
        result = dict(kwargs, warnings=list(warnings))
        result.setdefault("failed", exception is FailJson)
        del warnings[:]  # one run's warnings per result
        raise exception(result)

    def exit_json(module, **kwargs):
        finish(ExitJson, kwargs)

    def fail_json(module, msg, **kwargs):
        finish(FailJson, dict(kwargs, msg=msg))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda module, message: warnings.append(message))
