# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin for podsec.hardening.quadlet_container: check every container on the controller first.

AnsibleModule writes a module's arguments to the target's journal ("Invoked with ...") before the module
can look at them, and a failure echoes them in its invocation (-vvv). So a value the module would refuse,
an environment value that looks like a credential or a mistyped key that carries one, must be refused
before the module is sent: the same checks (the container schema, then _quadlet.validate without the
target's facts) run here, and the module runs only when they pass. Messages name keys and fields, never
an environment value. The module checks again on the target, with the paths as the target resolves them.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import check_arguments


class ActionModule(ActionBase):
    """Refuse on the controller what quadlet_container would refuse, then run the module."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        problem = check_arguments(self._task.args)
        if problem is not None:
            result.update(failed=True, changed=False, msg=problem)
            return result
        result.update(self._execute_module(module_args=self._task.args, task_vars=task_vars))
        return result
