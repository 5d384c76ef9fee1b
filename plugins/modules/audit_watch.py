#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_watch
short_description: Kernel audit file watches, loaded live and persisted in one call
version_added: 0.1.0
description:
  - Converges Linux kernel audit file watches (C(-w PATH -p PERMS -k KEY)) in two places at once, the running
    kernel (with C(auditctl)) and a rules file under C(/etc/audit/rules.d/) that C(augenrules) loads at boot.
  - The live rules are read once per run with C(auditctl -l) and normalised (permission letter order, C(-w) and
    C(-a always,exit -F path=|dir= -F perm= -F key=) forms), so the module reports a change only when something changed.
    A rule restricted by C(-F arch=), syscalls or other fields is a different kernel rule and is never matched.
  - The module owns O(rules_file). It removes a watch from the kernel only when the watch is dropped from that file
    or named by an item with O(watches[].state=absent); watches loaded by other files are left alone.
  - Live changes are made first, one C(auditctl -w)/C(auditctl -W) per change. When the kernel refuses one, the
    changes already made are rolled back, the rules file is left as it was and the module fails with the
    message of C(auditctl).
  - When audit is immutable (C(auditctl -s) shows C(enabled 2)) or the rules directory persists C(-e 2), the module
    does not touch the kernel, writes the rules file only, and returns RV(reboot_required=true) with a warning when
    the kernel does not already have the wanted watches.
author:
  - podsec.hardening contributors (@podsec)
extends_documentation_fragment:
  - podsec.hardening.attributes
  - podsec.hardening.attributes.ALL
requirements:
  - C(auditctl) (Debian package C(auditd), RHEL package C(audit)) on the target.
  - Root privileges and the initial user namespace (audit does not work inside containers).
options:
  watches:
    description:
      - Watches to converge. Mutually exclusive with O(path).
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - Absolute path of the file or directory to watch. Not C(/), no wildcards, no whitespace.
          - A directory watch is recursive and stops at mount points.
        type: path
        required: true
      permissions:
        description:
          - Access types to record, any of C(r) (read), C(w) (write), C(x) (execute), C(a) (attribute change),
            in any order. When not set, C(wa) is used.
        type: str
      key:
        description:
          - Audit key (C(ausearch -k KEY)); letters, digits, C(_) and C(-), at most 31 characters.
        type: str
        required: true
      state:
        description:
          - V(present) loads and persists the watch; V(absent) removes the watch with this path and key from the
            kernel (whatever its permissions) and from O(rules_file). When not set, V(present) is used.
        type: str
        choices: [present, absent]
  path:
    description:
      - Path of a single watch. Mutually exclusive with O(watches); requires O(key).
    type: path
  permissions:
    description:
      - Permissions of the single watch given with O(path). When not set, C(wa) is used.
    type: str
  key:
    description:
      - Audit key of the single watch given with O(path).
    type: str
  state:
    description:
      - State of the single watch given with O(path). When not set, V(present) is used.
    type: str
    choices: [present, absent]
  rules_file:
    description:
      - The rules file the module owns. It is rewritten completely (watches sorted, header comment); lines that
        are not plain watches are kept verbatim after the watches.
      - Its directory must exist (it does once the audit package is installed). Its name must end in C(.rules),
        the only files C(augenrules) reads.
    type: path
    default: /etc/audit/rules.d/podsec-hardening.rules
  exclusive:
    description:
      - Remove the watches in O(rules_file) (and their live copies) that the current call does not list as present.
      - Rules outside O(rules_file) are never affected.
    type: bool
    default: false
  backup:
    description:
      - Keep a timestamped copy of O(rules_file) before changing it.
    type: bool
    default: false
  missing_paths:
    description:
      - What to do with a present watch whose path does not exist on the target (a symbolic link counts as
        existing).
      - V(watch) passes it to the kernel, which watches the path once it appears (its parent directory must exist).
      - V(skip) leaves it out of the kernel and O(rules_file) and returns it in RV(skipped_paths); with O(exclusive=true)
        an earlier watch on it is removed. For a fixed watch list on hosts that lack some of its paths; the
        next run with the path present adds the watch.
    type: str
    choices: [watch, skip]
    default: watch
notes:
  - The kernel keeps watching a path after the file is deleted and watches the new file when it reappears, but a
    watch on a path whose parent directory does not exist is refused.
  - In check mode C(auditctl -s) and C(auditctl -l) are still run (read only).
seealso:
  - name: auditctl(8)
    description: Manual of the audit control tool.
    link: https://man7.org/linux/man-pages/man8/auditctl.8.html
  - name: audit.rules(7)
    description: Rule syntax of the files under /etc/audit/rules.d.
    link: https://man7.org/linux/man-pages/man7/audit.rules.7.html
"""

EXAMPLES = r"""
- name: Watch the Podman binary and the container configuration
  podsec.hardening.audit_watch:
    watches:
      - path: /usr/bin/podman
        permissions: xwa
        key: podsec_podman
      - path: /etc/containers
        key: podsec_containers_conf

- name: Remove one watch again
  podsec.hardening.audit_watch:
    path: /etc/containers
    key: podsec_containers_conf
    state: absent

- name: Keep exactly these watches in a dedicated rules file
  podsec.hardening.audit_watch:
    rules_file: /etc/audit/rules.d/50-identity.rules
    exclusive: true
    watches:
      - {path: /etc/passwd, key: podsec_identity}
      - {path: /etc/shadow, key: podsec_identity}
  register: identity_watches

- name: Tell the operator when the kernel only gets the watches at the next boot
  ansible.builtin.debug:
    msg: Audit is immutable, reboot to load {{ identity_watches.added }}
  when: identity_watches.reboot_required
"""

RETURN = r"""
rules:
  description: The watches in O(rules_file) after the run, as C(auditctl -l) prints them.
  returned: always
  type: list
  elements: str
  sample: ["-w /etc/containers -p wa -k podsec_containers_conf", "-w /usr/bin/podman -p wxa -k podsec_podman"]
added:
  description:
    - Watches loaded into the running kernel by this run (in check mode, that would be loaded).
    - When audit is immutable, the watches the kernel lacks and will load from the rules file at the next boot.
  returned: always
  type: list
  elements: str
  sample: ["-w /usr/bin/podman -p wxa -k podsec_podman"]
removed:
  description:
    - Watches deleted from the running kernel by this run (in check mode, that would be deleted).
    - When audit is immutable, the watches the kernel still has that the rules file no longer loads.
  returned: always
  type: list
  elements: str
  sample: []
reboot_required:
  description: True when audit is immutable and the running kernel differs from the rules file.
  returned: always
  type: bool
  sample: false
immutable:
  description: True when C(auditctl -s) shows C(enabled 2) or the rules directory persists C(-e 2).
  returned: always
  type: bool
  sample: false
audit_enabled:
  description: The C(enabled) value of C(auditctl -s) (0 disabled, 1 enabled, 2 immutable).
  returned: always
  type: int
  sample: 1
disabled_at_boot:
  description:
    - Why kernel audit is off after every boot on this host, one message per reason (also shown as warnings); empty
      when it records.
    - Detected reasons are C(audit=0) on the kernel command line and a C(-e 0) that augenrules loads last from the
      rules directory. The watches are still written and loaded, but they record nothing.
  returned: always
  type: list
  elements: str
  sample: []
skipped_paths:
  description: Paths of present watches left out because they do not exist on the target (O(missing_paths=skip)).
  returned: always
  type: list
  elements: str
  sample: ["/etc/containers/registries.d"]
rules_file:
  description: Path of the rules file the module owns.
  returned: always
  type: str
  sample: /etc/audit/rules.d/podsec-hardening.rules
backup_file:
  description: Name of the backup of O(rules_file).
  returned: when O(backup=true) and the file changed
  type: str
  sample: /etc/audit/rules.d/podsec-hardening.rules.12345.2026-11-24@10:00:00~
"""

import os

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.podsec.hardening.plugins.module_utils import _audit, _inputs
from ansible_collections.podsec.hardening.plugins.module_utils._files import read_file_bytes, write_file_atomic
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule

PROC_CMDLINE = "/proc/cmdline"


class AuditctlBackend(object):
    """Everything that talks to auditctl or the file system."""

    def __init__(self, module):
        self.module = module
        self.auditctl = module.get_bin_path("auditctl", required=False, opt_dirs=["/sbin", "/usr/sbin"])
        if not self.auditctl:
            module.fail_json(
                msg="auditctl was not found on the target: install the audit user space tools "
                "(package auditd on Debian/Ubuntu, audit on RHEL/Fedora)"
            )

    def _run(self, args, what):
        rc, out, err = self.module.run_command([self.auditctl] + args)
        if rc != 0:
            self.module.fail_json(
                msg="auditctl %s failed (rc=%d): %s" % (what, rc, (err or out).strip()), rc=rc, stdout=out, stderr=err
            )
        return out

    def status(self):
        return _audit.parse_status(self._run(["-s"], "-s"))

    def list_rules(self):
        return self._run(["-l"], "-l")

    def apply(self, watch, remove=False):
        """Return (ok, message)."""
        rc, out, err = self.module.run_command([self.auditctl] + _audit.auditctl_args(watch, remove=remove))
        return rc == 0, (err or out).strip()

    def kernel_cmdline(self):
        """The running kernel's command line ("" when /proc/cmdline cannot be read)."""
        data = read_file_bytes(PROC_CMDLINE)
        return to_text(data or b"", errors="surrogate_or_replace")

    def read_rules_dir(self, directory, own_file, own_text):
        files = {}
        for name in _audit.rules_dir_files(directory):
            path = os.path.join(directory, name)
            if path == own_file:
                files[name] = own_text
                continue
            data = read_file_bytes(path)
            files[name] = to_text(data or b"", errors="surrogate_or_replace")
        return files


def collect_items(params):
    if params["watches"] is not None:
        return params["watches"]
    return [{"path": params["path"], "permissions": params["permissions"], "key": params["key"], "state": params["state"]}]


def run_module(module, backend):
    params = module.params
    rules_file = params["rules_file"]
    try:
        _inputs.refuse_control_characters(rules_file, "rules_file")
        _inputs.refuse_long_path(rules_file, "rules_file")
        if not rules_file.endswith(".rules"):
            raise _inputs.InputError("rules_file: %s must end with .rules: augenrules reads only *.rules files"
                                     % rules_file)
        present, absent = _audit.validate_watches(collect_items(params))
    except (_audit.AuditError, _inputs.InputError) as exc:
        module.fail_json(msg=str(exc))
    skipped = []
    if params["missing_paths"] == "skip":
        present, skipped = _audit.split_missing(present, os.path.lexists)

    directory = os.path.dirname(rules_file)
    if not os.path.isdir(directory):
        module.fail_json(msg="directory %s of rules_file does not exist (is the audit package installed?)" % directory)

    before_bytes = read_file_bytes(rules_file)
    before_text = to_text(before_bytes, errors="surrogate_or_replace") if before_bytes is not None else ""
    file_rules = _audit.parse_rules(before_text)
    owned = _audit.plain_watches(file_rules)
    preserved = [rule.line for rule in file_rules if rule.watch is None]

    status = backend.status()
    persisted = _audit.persisted_enable_flag(backend.read_rules_dir(directory, rules_file, before_text))
    off_at_boot = _audit.disabled_at_boot(backend.kernel_cmdline(), persisted)
    immutable = _audit.is_immutable_status(status) or persisted == 2

    live_text = backend.list_rules()
    live_lines = [rule.line for rule in _audit.parse_rules(live_text)]
    live = _audit.plain_watches(_audit.parse_rules(live_text))

    plan = _audit.plan_changes(present, absent, owned, live, exclusive=params["exclusive"])
    after_text = _audit.render_rules_file(plan.file_rules, preserved)
    if before_bytes is None and not plan.file_rules and not preserved:
        # Nothing to persist and no file yet: do not create one that holds only the header.
        after_text = ""
    file_changed = after_text != before_text

    live_changes = bool(plan.live_add or plan.live_remove)
    result = dict(
        changed=file_changed or (live_changes and not immutable),
        rules=[_audit.render_watch(watch) for watch in plan.file_rules],
        added=[_audit.render_watch(watch) for watch in plan.live_add],
        removed=[_audit.render_watch(watch) for watch in plan.live_remove],
        reboot_required=immutable and live_changes,
        immutable=immutable,
        audit_enabled=status.get("enabled", -1),
        disabled_at_boot=off_at_boot,
        skipped_paths=skipped,
        rules_file=rules_file,
    )
    if module._diff:
        result["diff"] = [
            dict(before_header=rules_file, after_header=rules_file, before=before_text, after=after_text),
            dict(
                before_header="auditctl -l",
                after_header="auditctl -l" + (" (after reboot)" if immutable else ""),
                before="".join(line + "\n" for line in live_lines),
                after="".join(line + "\n" for line in _audit.live_lines_after(live_lines, plan)),
            ),
        ]

    if immutable and live_changes:
        module.warn(
            "audit is immutable (%s): the running kernel was not changed; the watches in %s are loaded at the next "
            "reboot" % ("auditctl -s shows enabled 2" if _audit.is_immutable_status(status) else "-e 2 is persisted", rules_file)
        )
    elif status.get("enabled") == 0 and present and not off_at_boot:
        module.warn("kernel audit is disabled (enabled 0): watches record nothing until audit is enabled (auditd enables it when it starts)")
    for reason in off_at_boot:
        module.warn("kernel audit is disabled at boot on this host, so the watches record nothing: " + reason)

    if module.check_mode:
        module.exit_json(**result)

    done = [] if immutable else apply_live(module, backend, plan)
    if file_changed:
        try:
            backup_file = write_file_atomic(module, rules_file, to_bytes(after_text), mode="0640", backup=params["backup"])
        except (OSError, IOError) as exc:
            errors = rollback(backend, done)
            module.fail_json(
                msg="writing %s failed: %s; live changes of this run were %s" % (
                    rules_file, to_text(exc), "rolled back" if not errors else "NOT all rolled back: " + "; ".join(errors)
                )
            )
        if backup_file:
            result["backup_file"] = backup_file
    module.exit_json(**result)


def rollback(backend, done):
    """Undo applied (watch, removed) steps in reverse order; return the error messages."""
    errors = []
    for watch, removed in reversed(done):
        ok, message = backend.apply(watch, remove=not removed)
        if not ok:
            errors.append("%s: %s" % (_audit.render_watch(watch), message))
    return errors


def apply_live(module, backend, plan):
    """Remove, then add; on a refusal undo what was done and fail with auditctl's message."""
    done = []
    steps = [(watch, True) for watch in plan.live_remove] + [(watch, False) for watch in plan.live_add]
    for watch, remove in steps:
        ok, message = backend.apply(watch, remove=remove)
        if ok:
            done.append((watch, remove))
            continue
        rollback_errors = rollback(backend, done)
        msg = "the kernel refused to %s watch %r: %s; the rules file was not changed" % (
            "delete" if remove else "load",
            _audit.render_watch(watch),
            message,
        )
        if rollback_errors:
            msg += "; rolling back earlier changes also failed: " + "; ".join(rollback_errors)
        else:
            msg += " and %d earlier change(s) of this run were rolled back" % len(done)
        module.fail_json(msg=msg)
    return done


def main():
    watch_spec = dict(
        path=dict(type="path", required=True),
        permissions=dict(type="str"),
        key=dict(type="str", required=True, no_log=False),
        state=dict(type="str", choices=["present", "absent"]),
    )
    module = PodsecModule(
        argument_spec=dict(
            watches=dict(type="list", elements="dict", options=watch_spec),
            path=dict(type="path"),
            permissions=dict(type="str"),
            key=dict(type="str", no_log=False),
            state=dict(type="str", choices=["present", "absent"]),
            rules_file=dict(type="path", default="/etc/audit/rules.d/podsec-hardening.rules"),
            exclusive=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
            missing_paths=dict(type="str", choices=["watch", "skip"], default="watch"),
        ),
        mutually_exclusive=[("watches", "path"), ("watches", "key"), ("watches", "permissions"), ("watches", "state")],
        required_one_of=[("watches", "path")],
        required_together=[("path", "key")],
        supports_check_mode=True,
    )
    run_module(module, AuditctlBackend(module))


if __name__ == "__main__":
    main()
