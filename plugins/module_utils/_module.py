# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""AnsibleModule whose invocation logging survives any parameter value.

AnsibleModule logs its invocation before a module can check a single parameter, and syslog refuses a
NUL ("Failed to log to syslog (embedded null character)", with a traceback), so a NUL in a string
parameter ended the run before the module could name the field. Here every NUL is written as ``\\x00``
in what is logged, and the module's own checks refuse the value with a clear message. AnsibleModule's
own ``no_log=True`` does not keep the invocation out of the log either: the controller's
``_ansible_no_log`` (false unless the task sets ``no_log``) overrides it; here it holds.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def _printable(value):
    return value.replace("\x00", "\\x00") if isinstance(value, str) else value


class PodsecModule(AnsibleModule):
    """AnsibleModule that logs a NUL as ``\\x00`` instead of failing in syslog or the journal.

    ``no_log=True`` given here holds: nothing is logged on the target, whatever ``_ansible_no_log`` says.
    """

    def __init__(self, *args, **kwargs):
        # set before AnsibleModule.__init__, which logs the invocation
        self._podsec_never_log = bool(kwargs.get("no_log", False))
        super(PodsecModule, self).__init__(*args, **kwargs)

    def log(self, msg, log_args=None):
        if self._podsec_never_log:
            return
        if log_args is not None:
            log_args = dict((key, _printable(value)) for key, value in log_args.items())
        super(PodsecModule, self).log(_printable(msg), log_args=log_args)
