# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin for podsec.hardening.tmpfs_secret: refuse to run unless no copy of the arguments reaches the target's disk.

Without pipelining, ActionBase._execute_module() transfers AnsiballZ_tmpfs_secret.py, which embeds
the module arguments (the secret values), into ~/.ansible/tmp on the target before running it. With
pipelining the module travels over the connection's stdin and nothing is written. The async wrapper
always writes the module to disk, so async is refused too. The task arguments are never displayed or
put into a message here.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

MODULE = "podsec.hardening.tmpfs_secret"

PIPELINING_HINT = (
    "tmpfs_secret refuses to run without pipelining: Ansible would otherwise write the module and its "
    "arguments (the secret values) to a temporary directory on the target's disk. Enable pipelining with "
    "`pipelining = True` in the [connection] (or [ssh_connection]) section of ansible.cfg, "
    "ANSIBLE_PIPELINING=1, or the host/group variable `ansible_pipelining: true`; with become, use a become "
    "method that supports pipelining (sudo needs no 'requiretty'), and do not set ANSIBLE_KEEP_REMOTE_FILES."
)

ASYNC_HINT = (
    "tmpfs_secret refuses to run with async: the async wrapper writes the module and its arguments (the "
    "secret values) to the target's disk. Remove `async:` from the task."
)


class ActionModule(ActionBase):
    """Run the tmpfs_secret module only through a pipelined connection."""

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        if self._task.async_val:
            # checked before ActionBase.run(), which would refuse with a message that does not say why
            return {"failed": True, "msg": ASYNC_HINT}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        if not self._connection.is_pipelining_enabled(wrap_async=False):
            result.update(failed=True, msg=PIPELINING_HINT)
            return result

        module_result = self._execute_module(
            module_name=MODULE,
            module_args=self._task.args,
            task_vars=task_vars,
            wrap_async=False,
        )
        result.update(module_result)
        return result
