# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin for podsec.hardening.tmpfs_secret: refuse to run unless no copy of the arguments reaches the target's disk.

Without pipelining, ActionBase._execute_module() transfers AnsiballZ_tmpfs_secret.py, which embeds
the module arguments (the secret values), into ~/.ansible/tmp on the target before running it. With
pipelining the module travels over the connection's stdin and nothing is written. The async wrapper
always writes the module to disk, so async is refused too. Unknown options (a mistyped ``content``
could carry a secret) are refused by name before the module runs, and the module's invocation is dropped
from its result. The task arguments are never displayed or put into a message here.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.podsec.hardening.plugins.module_utils._tmpfs import unknown_options

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


UNKNOWN_HINT = (
    "tmpfs_secret: unsupported option(s) %s (their values are not shown: a mistyped option may carry a "
    "secret). Check the spelling against the module documentation: a secret's value goes into content "
    "or content_base64."
)


class ActionModule(ActionBase):
    """Run the tmpfs_secret module only through a pipelined connection."""

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        if self._task.async_val:
            # checked before ActionBase.run(), which would refuse with a message that does not say why
            return {"failed": True, "msg": ASYNC_HINT}
        unknown = unknown_options(self._task.args)
        if unknown:
            # Ansible's own argument check would fail too, but echo every option with its value in the
            # result's invocation (shown at -vvv): refuse here, naming the options only.
            return {"failed": True, "msg": UNKNOWN_HINT % ", ".join(unknown)}
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
        # The invocation holds every argument as the module received it; a value its no_log masking
        # missed would be shown at -vvv. The task's own arguments are no news to its author.
        module_result.pop("invocation", None)
        result.update(module_result)
        return result
