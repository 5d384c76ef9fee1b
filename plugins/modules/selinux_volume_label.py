#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: selinux_volume_label
short_description: Persistent SELinux labels for container volumes, with shared or private MCS categories
version_added: 0.1.0
description:
  - Records a C(container_file_t) file context for each volume directory in the SELinux policy store
    (C(semanage fcontext)) and applies it to the files already there, so the label survives a file-system
    relabel, unlike C(:z), C(:Z) and C(chcon).
  - Shared volumes get level C(s0), usable by every container. Private volumes get two MCS categories
    C(s0:cX,cY), given explicitly or derived deterministically from an O(owner) name (normally the
    container name); two owners on the same host never get the same categories.
  - Returns the level to put into the container's Quadlet unit (C(SecurityLabelLevel=)).
  - Refuses the paths podman refuses to relabel (C(/), C(/home), C(/var), C(/var/lib), C(/tmp) and the
    rest of the go-selinux list) and users' home directories, and everything below C(/usr), C(/etc),
    C(/boot), C(/proc), C(/sys), C(/dev), C(/root), C(/var/log), container storage (C(/var/lib/containers)
    and each user's C(~/.local/share/containers)), users' C(~/.config), C(~/.ssh), C(~/.gnupg), and the
    engines' runtime directories (C(/run/podman), C(/run/containers), C(/run/libpod), C(/run/user), ...).
    A path is judged as written and as the host resolves it, so a symlink cannot lead there.
  - When the kernel runs without SELinux, O(when_disabled) decides between failing, skipping, recording
    the rule plus the on-disk label, and recording the rule only.
  - The owner is registered only after its rules and labels are in place; when a step fails, the rules
    this run added or changed are put back and the files relabelled as before.
author:
  - podsec.hardening contributors (@podsec)
extends_documentation_fragment:
  - podsec.hardening.attributes
  - podsec.hardening.attributes.ALL
options:
  paths:
    description:
      - Absolute, normalised directory (or file) paths of the volumes.
      - All paths of one call get the same level.
      - With O(state=present), O(mode=private) and O(owner), an empty list only reserves the owner's level
        and returns it. With O(state=absent) and O(owner), an empty list releases the owner's level.
    type: list
    elements: str
    required: true
    aliases: [path]
  mode:
    description:
      - V(shared) labels C(SETYPE:s0) (like C(:z)), V(private) labels C(SETYPE:s0:cX,cY) (like C(:Z)).
    type: str
    choices: [shared, private]
    default: private
  owner:
    description:
      - Name the private categories are derived from and registered under, normally the container name.
      - The first call for an owner registers its level in O(registry); later calls reuse it.
    type: str
  categories:
    description:
      - Two explicit MCS categories for O(mode=private), such as V(c12,c345) or V([c12, c345]).
      - Refused when another registered owner uses them. With O(owner) they are registered for that owner.
    type: list
    elements: str
  setype:
    description:
      - SELinux file type of the rule, a type name such as V(container_file_t) (letters, digits and C(_),
        ending in C(_t)).
    type: str
    default: container_file_t
  state:
    description:
      - V(present) records the rule and labels the files.
      - V(absent) deletes the rule and restores the policy's default labels on the files.
    type: str
    choices: [present, absent]
    default: present
  recurse:
    description:
      - V(true) writes the rule as V(PATH(/.*\)?) and labels the whole tree.
      - V(false) writes the rule for C(PATH) only and labels the path itself.
    type: bool
    default: true
  when_disabled:
    description:
      - What to do when the kernel runs without SELinux (no C(/sys/fs/selinux/enforce)).
      - V(record) writes the rule into the policy store with C(semanage) and writes the label into the
        C(security.selinux) extended attribute of every file, so both are in place when SELinux is enabled
        later. It needs the policy tools (C(semanage), C(setfiles), C(matchpathcon)) and an installed policy.
        Files created later (for example by a container) carry no label, so the next run labels them and
        reports a change.
      - V(rules) writes the rule (and registers the owner) but no file label; the labels are applied by the
        relabel that enabling SELinux needs anyway (C(/.autorelabel), C(fixfiles)). A second run reports no
        change whatever the containers write. Needs C(semanage).
      - V(skip) changes nothing, warns, and still returns the level.
      - V(fail) fails.
    type: str
    choices: [fail, skip, record, rules]
    default: record
  create:
    description:
      - Create missing directories (parents mode 0755, owned by the connecting user) before labelling them;
        each path itself gets O(create_mode) and O(create_owner).
      - When V(false), a missing path fails with O(state=present).
    type: bool
    default: false
  create_mode:
    description:
      - Octal mode of a directory in O(paths) that O(create) creates (an existing one keeps its mode).
      - The C(podsec.hardening.hardened_container) role creates private volumes with V(0700).
    type: str
    default: "0755"
  create_owner:
    description:
      - User (and that user's primary group) who owns a directory in O(paths) that O(create) creates; default the
        connecting user. A rootless podman owner must own a volume that podman's C(U) option hands to the container.
    type: str
  registry:
    description:
      - JSON file registering each owner's level on the host.
    type: path
    default: /var/lib/podsec-hardening/selinux_levels.json
notes:
  - When SELinux is enabled, labels are applied with C(restorecon -F); when it is disabled and
    O(when_disabled=record), the module writes the C(security.selinux) attribute itself (O(state=present))
    or with C(setfiles -F) / C(matchpathcon) (O(state=absent)), because C(restorecon) does nothing on a
    disabled system.
  - A labelled file is not an enforced one. Enforcement needs a kernel running SELinux.
  - A path containing a symlink is refused; give the real path.
seealso:
  - name: podman-run(1) volume options
    description: C(:z) and C(:Z) relabel options this module makes persistent.
    link: https://docs.podman.io/en/latest/markdown/podman-run.1.html#volume-v-source-volume-host-dir-container-dir-options
  - module: community.general.sefcontext
"""

EXAMPLES = r"""
- name: Private volumes of the web container, level derived from its name
  podsec.hardening.selinux_volume_label:
    paths:
      - /srv/containers/web/data
      - /srv/containers/web/cache
    owner: web
    create: true
  register: web_label

- name: Use the level in the Quadlet unit
  ansible.builtin.debug:
    msg: "SecurityLabelLevel={{ web_label.level }}"

- name: Volume shared by every container
  podsec.hardening.selinux_volume_label:
    path: /srv/containers/shared
    mode: shared

- name: Explicit categories
  podsec.hardening.selinux_volume_label:
    path: /srv/containers/db
    categories: c12,c345
    owner: db

- name: Refuse to do anything on hosts without SELinux
  podsec.hardening.selinux_volume_label:
    path: /srv/containers/web/data
    owner: web
    when_disabled: fail

- name: Remove the rule and restore the default labels
  podsec.hardening.selinux_volume_label:
    path: /srv/containers/web/cache
    state: absent

- name: Release the level of an owner that is gone
  podsec.hardening.selinux_volume_label:
    paths: []
    owner: web
    state: absent
"""

RETURN = r"""
level:
  description: MCS level of the volumes, for C(SecurityLabelLevel=). Empty when unknown (O(state=absent) without rule).
  returned: always
  type: str
  sample: s0:c123,c456
context:
  description: Full file label the rule gives. Empty with O(state=absent).
  returned: always
  type: str
  sample: system_u:object_r:container_file_t:s0:c123,c456
owner:
  description: Owner the level is registered under, if any.
  returned: always
  type: str
  sample: web
selinux_enabled:
  description: Whether the kernel runs SELinux.
  returned: always
  type: bool
  sample: false
enforced:
  description: Whether SELinux is enforcing. When V(false), the labels are recorded but nothing is enforced.
  returned: always
  type: bool
  sample: false
labelled:
  description: Number of files whose label changed (or would change in check mode).
  returned: always
  type: int
  sample: 3
changed_paths:
  description: Paths whose rule or labels changed.
  returned: always
  type: list
  elements: str
  sample: [/srv/containers/web/data]
rules:
  description: The fcontext regexes this call manages.
  returned: always
  type: list
  elements: str
  sample: ["/srv/containers/web/data(/.*)?"]
registered:
  description:
    - Whether the owner registry changed (or would change in check mode) - the owner was registered or
      moved to a new level (O(state=present)), or released (O(state=absent) without O(paths)).
    - It does not say whether the owner is registered after the run.
  returned: always
  type: bool
  sample: true
"""

import errno
import os
import pwd

from ansible_collections.podsec.hardening.plugins.module_utils import _inputs
from ansible_collections.podsec.hardening.plugins.module_utils import _selinux_label as label
from ansible_collections.podsec.hardening.plugins.module_utils._files import (
    read_file_bytes,
    make_directory,
    write_file_atomic,
)
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule
from ansible_collections.podsec.hardening.plugins.module_utils._users import home_directories

XATTR = "security.selinux"
SELINUXFS_ENFORCE = "/sys/fs/selinux/enforce"
SELINUX_CONFIG = "/etc/selinux/config"


def read_label(path):
    try:
        return label.parse_context(os.getxattr(path, XATTR, follow_symlinks=False))
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOENT):
            return None
        raise


def walk(path, recurse, prune):
    """Yield ``path`` and, when recursive, everything below it except the subtrees in ``prune``."""
    yield path
    if not recurse or os.path.islink(path) or not os.path.isdir(path):
        return
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in prune]
        for name in dirnames + filenames:
            yield os.path.join(dirpath, name)


class StepFailed(Exception):
    """A command or file operation failed; the message says which."""


class VolumeLabel(object):
    """Reads the host (SELinux state, policy store, labels, registry) and executes the plans of _selinux_label."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        try:
            with open(SELINUXFS_ENFORCE) as handle:
                self.selinux_enabled, self.enforced = True, handle.read().strip() == "1"
        except (IOError, OSError):
            self.selinux_enabled, self.enforced = False, False
        # False when only the rules are recorded (SELinux disabled, when_disabled=rules).
        self.label_files = self.selinux_enabled or self.params["when_disabled"] != "rules"

    def tool(self, name):
        return self.module.get_bin_path(name)

    def run(self, args, what):
        rc, out, err = self.module.run_command(args)
        if rc != 0:
            raise StepFailed("%s failed (rc=%d): %s" % (what, rc, (err or out).strip()))
        return out

    def semanage(self, action, regex, context=None):
        self.run([self.tool("semanage")] + label.semanage_args(action, regex, context),
                 "semanage fcontext %s %s" % (action, regex))

    def local_rules(self):
        out = self.run([self.tool("semanage"), "fcontext", "-l", "-C"], "reading local fcontext rules")
        return dict((r["regex"], r["context"]) for r in label.parse_semanage_fcontext(out) if r["ftype"] == "all files")

    def policy_spec_file(self):
        try:
            with open(SELINUX_CONFIG) as handle:
                spec = label.policy_spec_file(handle.read())
        except (IOError, OSError):
            spec = None
        if not spec:
            raise StepFailed("%s has no SELINUXTYPE=: cannot find the installed policy" % SELINUX_CONFIG)
        return spec

    def mismatches(self, path, context, prune):
        """Files below ``path`` whose label is not ``context``."""
        wrong = []
        for item in walk(path, self.params["recurse"], prune):
            try:
                if label.context_string(read_label(item)) != context:
                    wrong.append(item)
            except (OSError, label.LabelError) as exc:
                raise StepFailed("cannot read the SELinux label of %s: %s" % (item, exc))
        return wrong

    def start(self):
        """Facts every run needs: (report_only, registry); LabelError/StepFailed refuse the run."""
        missing = [name for name in label.needed_tools(self.selinux_enabled, self.label_files) if not self.tool(name)]
        report_only, warning = label.gate(self.selinux_enabled, self.params["when_disabled"], missing)
        if warning:
            self.module.warn(warning)
        homes = home_directories(login_only=True, environ=os.environ)  # podman refuses root's, login users', $HOME
        label.check_params(self.params, homes, _inputs.resolve_on_target, pwd.getpwnam)
        try:
            registry = label.parse_registry((read_file_bytes(self.params["registry"]) or b"").decode("utf-8"))
        except label.LabelError as exc:
            raise label.LabelError("%s: %s" % (self.params["registry"], exc))
        return report_only, registry

    def apply(self, present):
        params = self.params
        report_only, registry = self.start()
        rules = {} if report_only else self.local_rules()
        level, register, context = label.requested(params, registry, rules, present)
        result = label.base_result(params, level, context or "", self.selinux_enabled, self.enforced)
        if report_only:
            return result
        create = label.paths_to_create(params["paths"], os.path.lexists, present, params["create"])
        plan = label.plan_labels(params["paths"], params["recurse"], rules, context, self.label_files,
                                 self.observe_present(context) if present else self.observe_absent, create=create)
        new_registry = label.registry_after(registry, params["owner"], level, present, register, params["paths"])
        steps = plan["steps"]
        result["level"] = result["level"] or label.level_of_rules(plan)
        result.update(label.plan_summary(plan, new_registry is not None))
        if self.module._diff:
            result["diff"] = label.render_diff(plan, params["owner"], registry, level if present else "",
                                               result["registered"])
        if not self.module.check_mode and result["changed"]:
            if present:
                self.execute_present(steps, context)
            else:
                self.execute_absent(steps)
            if new_registry is not None:
                # Registered last: an owner whose labels are not in place must not hold a level; released
                # last: the level stays reserved while a rule that uses it may still be there.
                self.write_registry(new_registry)
        return result

    def observe_present(self, context):
        def observe(path, regex, current, prune):
            return self.mismatches(path, context, prune) if os.path.lexists(path) else [path]
        return observe

    def observe_absent(self, path, regex, current, prune):
        if current is not None:
            if not os.path.lexists(path):
                return []
            return [item for item in walk(path, self.params["recurse"], set()) if label.context_string(read_label(item)) == current]
        return self.restore(path, dry_run=True) if os.path.lexists(path) else []

    def execute_present(self, steps, context):
        done = []
        try:
            for step in steps:
                if not os.path.lexists(step["path"]):
                    self.create_directory(step["path"])
                if step["current"] != context:
                    self.semanage("-a" if step["current"] is None else "-m", step["regex"], context)
                    done.append(step)
                if self.label_files:
                    self.apply_present(step["path"], context, step["prune"])
                    left = self.mismatches(step["path"], context, step["prune"])
                    if left:
                        raise StepFailed("%s still has a label other than %s after labelling" % (left[0], context))
        except (StepFailed, OSError) as exc:
            raise StepFailed("%s%s" % (exc, self.undo(done)))

    def execute_absent(self, steps):
        for step in steps:
            if step["current"] is not None:
                self.semanage("-d", step["regex"])
            if self.label_files and os.path.lexists(step["path"]):
                self.restore(step["path"], dry_run=False)

    def undo(self, done):
        """Put back the rules this run added or changed and relabel their files; text for the message."""
        undone = []
        for step in reversed(done):
            try:
                previous = step["current"]
                self.semanage("-d" if previous is None else "-m", step["regex"], previous)
                if self.label_files and os.path.lexists(step["path"]):
                    if previous is None:
                        self.restore(step["path"], dry_run=False)
                    else:
                        self.apply_present(step["path"], previous, step["prune"])
                undone.append(step["regex"])
            except (StepFailed, OSError, label.LabelError):
                continue
        return "; undone: the rule(s) %s" % ", ".join(undone) if undone else ""

    def create_directory(self, path):
        """A missing volume directory: parents 0755, the directory itself create_mode and create_owner's; made
        component by component without following a link (_files.make_directory): whoever owns a parent could
        swap a component for a link to /etc while the run goes on."""
        owner = pwd.getpwnam(self.params["create_owner"]) if self.params["create_owner"] is not None else None
        make_directory(path, owner.pw_uid if owner else -1, owner.pw_gid if owner else -1,
                       int(self.params["create_mode"], 8))

    def apply_present(self, path, context, prune):
        if self.selinux_enabled:
            self.run([self.tool("restorecon"), "-F"] + (["-R"] if self.params["recurse"] else []) + [path],
                     "restorecon %s" % path)
            return
        value = context.encode("utf-8") + b"\0"
        for item in self.mismatches(path, context, prune):
            try:
                os.setxattr(item, XATTR, value, follow_symlinks=False)
            except OSError as exc:
                raise StepFailed("cannot set %s on %s: %s" % (XATTR, item, exc))

    def restore(self, path, dry_run):
        """Restore (or list, with ``dry_run``) the policy's default labels; returns the relabelled paths."""
        tool, options = label.restore_command(self.selinux_enabled, self.params["recurse"], dry_run)
        if tool is not None:
            spec = [self.policy_spec_file()] if tool == "setfiles" else []
            return label.parse_relabelled(self.run([self.tool(tool)] + options + spec + [path],
                                                   "restoring default labels of %s" % path))
        out = self.run([self.tool("matchpathcon"), "-n", path], "matchpathcon %s" % path).strip()
        if label.context_string(read_label(path)) == out:
            return []
        if not dry_run:
            os.setxattr(path, XATTR, out.encode("utf-8") + b"\0", follow_symlinks=False)
        return [path]

    def write_registry(self, owners):
        directory = os.path.dirname(self.params["registry"])
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        write_file_atomic(self.module, self.params["registry"], label.render_registry(owners), mode="0644")


def main():
    module = PodsecModule(
        argument_spec=dict(
            paths=dict(type="list", elements="str", required=True, aliases=["path"]),
            mode=dict(type="str", choices=["shared", "private"], default="private"),
            owner=dict(type="str"),
            categories=dict(type="list", elements="str"),
            setype=dict(type="str", default="container_file_t"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            recurse=dict(type="bool", default=True),
            when_disabled=dict(type="str", choices=["fail", "skip", "record", "rules"], default="record"),
            create=dict(type="bool", default=False),
            create_mode=dict(type="str", default="0755"),
            create_owner=dict(type="str"),
            registry=dict(type="path", default="/var/lib/podsec-hardening/selinux_levels.json"),
        ),
        supports_check_mode=True,
    )
    try:
        result = VolumeLabel(module).apply(module.params["state"] == "present")
    except (label.LabelError, StepFailed, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
