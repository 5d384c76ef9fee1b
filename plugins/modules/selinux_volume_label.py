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
  description: Whether the owner registry changed.
  returned: always
  type: bool
  sample: true
"""

import errno
import os
import pwd
import re

from ansible_collections.podsec.hardening.plugins.module_utils import _inputs

from ansible_collections.podsec.hardening.plugins.module_utils._files import read_file_bytes, write_file_atomic
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule
from ansible_collections.podsec.hardening.plugins.module_utils._selinux_label import (
    LabelError,
    SHARED_LEVEL,
    choose_level,
    fcontext_regex,
    parse_categories,
    parse_context,
    parse_registry,
    parse_semanage_fcontext,
    path_from_regex,
    private_levels,
    render_context,
    render_registry,
    render_state,
    validate_path,
    validate_paths,
    validate_setype,
)

XATTR = "security.selinux"
SELINUXFS_ENFORCE = "/sys/fs/selinux/enforce"
SELINUX_CONFIG = "/etc/selinux/config"


def login_home_dirs():
    """Home directories podman would refuse: root, login users (uid 1000-65533), $HOME, $SUDO_USER's."""
    homes = set()
    for entry in pwd.getpwall():
        if entry.pw_uid == 0 or 1000 <= entry.pw_uid < 65534:
            homes.add(entry.pw_dir)
    if os.environ.get("HOME"):
        homes.add(os.environ["HOME"])
    sudo_user = os.environ.get("SUDO_USER")
    if sudo_user:
        try:
            homes.add(pwd.getpwnam(sudo_user).pw_dir)
        except KeyError:
            pass
    return homes


def read_label(path):
    try:
        return parse_context(os.getxattr(path, XATTR, follow_symlinks=False))
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOENT):
            return None
        raise


def label_string(label):
    if label is None:
        return None
    return render_context(label["type"], label["level"], label["user"], label["role"]).rstrip(":")


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
    """Backend: reads the host (policy store, labels, registry), plans and applies the change."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.selinux_enabled, self.enforced = self.selinux_state()

    # -------------------------------------------------------------------------------- reading
    @staticmethod
    def selinux_state():
        try:
            with open(SELINUXFS_ENFORCE) as handle:
                return True, handle.read().strip() == "1"
        except (IOError, OSError):
            return False, False

    def tool(self, name):
        return self.module.get_bin_path(name)

    def run(self, args, what):
        rc, out, err = self.module.run_command(args)
        if rc != 0:
            raise StepFailed("%s failed (rc=%d): %s" % (what, rc, (err or out).strip()))
        return out

    def local_rules(self):
        out = self.run([self.tool("semanage"), "fcontext", "-l", "-C"], "reading local fcontext rules")
        return dict((r["regex"], r["context"]) for r in parse_semanage_fcontext(out) if r["ftype"] == "all files")

    def registry(self):
        try:
            return parse_registry((read_file_bytes(self.params["registry"]) or b"").decode("utf-8"))
        except LabelError as exc:
            self.module.fail_json(msg="%s: %s" % (self.params["registry"], exc))

    def policy_spec_file(self):
        selinuxtype = None
        try:
            with open(SELINUX_CONFIG) as handle:
                for line in handle:
                    key, _sep, value = line.strip().partition("=")
                    if key.strip() == "SELINUXTYPE":
                        selinuxtype = value.strip()
        except (IOError, OSError):
            pass
        if not selinuxtype:
            self.module.fail_json(msg="%s has no SELINUXTYPE=: cannot find the installed policy" % SELINUX_CONFIG)
        return "/etc/selinux/%s/contexts/files/file_contexts" % selinuxtype

    def mismatches(self, path, context, prune):
        """Files below ``path`` whose label is not ``context``."""
        wrong = []
        for item in walk(path, self.params["recurse"], prune):
            try:
                if label_string(read_label(item)) != context:
                    wrong.append(item)
            except (OSError, LabelError) as exc:
                self.module.fail_json(msg="cannot read the SELinux label of %s: %s" % (item, exc))
        return wrong

    # ------------------------------------------------------------------------------- checks
    @property
    def label_files(self):
        """False when only the rules are recorded (SELinux disabled, when_disabled=rules)."""
        return self.selinux_enabled or self.params["when_disabled"] != "rules"

    def check_tools(self):
        """Return the missing policy tools for the current SELinux state (empty when all are there)."""
        if not self.label_files:
            return ["semanage"] if not self.tool("semanage") else []
        needed = ["semanage"] + (["restorecon"] if self.selinux_enabled else ["setfiles", "matchpathcon"])
        return [name for name in needed if not self.tool(name)]

    def gate(self):
        """Apply when_disabled / missing tools. Returns True when the module must only report."""
        missing = self.check_tools()
        if self.selinux_enabled:
            if missing:
                self.module.fail_json(msg="SELinux is enabled but the policy tools are missing: %s" % ", ".join(missing))
            return False
        policy = self.params["when_disabled"]
        if policy == "fail":
            self.module.fail_json(msg="SELinux is disabled on this host and when_disabled=fail")
        if policy == "skip":
            self.module.warn("SELinux is disabled on this host: nothing labelled (when_disabled=skip)")
            return True
        if missing:
            self.module.fail_json(
                msg="SELinux is disabled and when_disabled=%s needs the policy tools, missing: %s "
                    "(install policycoreutils and policycoreutils-python-utils, or set when_disabled=skip)"
                    % (policy, ", ".join(missing)))
        return False

    def validate(self):
        paths = self.params["paths"]
        homes = login_home_dirs()
        try:
            for option in ("paths", "owner", "categories", "setype", "registry", "create_mode", "create_owner"):
                _inputs.refuse_control_characters(self.params[option], option)
            if not re.match(r"^0?[0-7]{3}\Z", self.params["create_mode"]):
                raise LabelError("create_mode: must be an octal mode such as 0700 (got %r)" % self.params["create_mode"])
            if self.params["create_owner"] is not None:
                try:
                    pwd.getpwnam(self.params["create_owner"])
                except KeyError:
                    raise LabelError("create_owner: user %r does not exist" % self.params["create_owner"])
            for index, path in enumerate(paths):
                _inputs.refuse_long_path(path, "paths[%d]" % index)
            validate_setype(self.params["setype"])
            validate_paths(paths, homes)
            for path in paths:
                real = _inputs.resolve_on_target(path)
                if real != path:
                    try:
                        validate_path(real, homes)
                    except LabelError as exc:
                        raise LabelError("path %s resolves to %s: %s" % (path, real, exc))
                    raise LabelError("path %s resolves to %s through a symlink: give the real path" % (path, real))
        except (LabelError, _inputs.InputError) as exc:
            self.module.fail_json(msg=str(exc))
        return paths

    def create_directory(self, path):
        """A missing volume directory: parents 0755, the directory itself create_mode and create_owner's."""
        parent = os.path.dirname(path.rstrip("/"))
        if parent and not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        os.mkdir(path, 0o700)
        if self.params["create_owner"] is not None:
            entry = pwd.getpwnam(self.params["create_owner"])
            os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(path, int(self.params["create_mode"], 8))

    # -------------------------------------------------------------------------------- present
    def level_for(self, registry, rules):
        if self.params["mode"] == "shared":
            if self.params["categories"]:
                self.module.fail_json(msg="categories are only valid with mode=private")
            return SHARED_LEVEL, False
        try:
            categories = parse_categories(self.params["categories"]) if self.params["categories"] else None
            return choose_level(self.params["owner"], registry, private_levels(rules.values()), categories)
        except LabelError as exc:
            self.module.fail_json(msg=str(exc))

    def present(self):
        params = self.params
        report_only = self.gate()
        paths = self.validate()
        registry = self.registry()
        rules = {} if report_only else self.local_rules()
        level, register = self.level_for(registry, rules)
        context = render_context(params["setype"], level)
        result = self.result(level, context)
        if report_only:
            return result
        for path in paths:
            if not os.path.lexists(path) and not params["create"]:
                self.module.fail_json(msg="path %s does not exist (set create: true to create it)" % path)

        managed = set(p for p in (path_from_regex(r) for r in rules) if p)
        before_rules, after_rules, before_labels, after_labels = {}, {}, {}, {}
        plan = []
        for path in paths:
            regex = fcontext_regex(path, params["recurse"])
            prune = set(p for p in managed if p.startswith(path + "/"))
            current = rules.get(regex)
            if not self.label_files:
                wrong = []  # when_disabled=rules: the file labels are the future relabel's business
            else:
                wrong = self.mismatches(path, context, prune) if os.path.lexists(path) else [path]
            before_rules[regex], after_rules[regex] = current, context
            before_labels[path] = "%d file(s) not labelled %s" % (len(wrong), context) if wrong else "all files labelled %s" % context
            after_labels[path] = "all files labelled %s" % context
            if not self.label_files:
                before_labels[path] = after_labels[path] = "labels left to the relabel when SELinux is enabled"
            if current != context or wrong or (params["create"] and not os.path.lexists(path)):
                plan.append((path, regex, current, wrong, prune))
        result["rules"] = list(before_rules)
        result["labelled"] = sum(len(item[3]) for item in plan)
        result["changed_paths"] = [item[0] for item in plan]
        result["registered"] = register and bool(params["owner"])
        result["changed"] = bool(plan) or result["registered"]
        if self.module._diff:
            result["diff"] = self.diff(before_rules, after_rules, before_labels, after_labels, registry, level, result["registered"])
        if self.module.check_mode or not result["changed"]:
            return result

        done = []
        try:
            for path, regex, current, wrong, prune in plan:
                if not os.path.lexists(path):
                    self.create_directory(path)
                if current != context:
                    action = "-a" if current is None else "-m"
                    self.run([self.tool("semanage"), "fcontext", action, "-t", params["setype"], "-r", level, regex],
                             "semanage fcontext %s %s" % (action, regex))
                    done.append((path, regex, current, prune))
                if not self.label_files:
                    continue
                self.apply_present(path, context, prune)
                left = self.mismatches(path, context, prune)
                if left:
                    raise StepFailed("%s still has a label other than %s after labelling" % (left[0], context))
            # Registered last: an owner whose labels are not in place must not hold a level.
            if result["registered"]:
                owners = dict(registry)
                owners[params["owner"]] = level
                self.write_registry(owners)
        except (StepFailed, OSError) as exc:
            self.module.fail_json(msg="%s%s" % (exc, self.undo(done)))
        return result

    def undo(self, done):
        """Put back the rules this run added or changed and relabel their files; text for the message."""
        undone = []
        for path, regex, previous, prune in reversed(done):
            try:
                if previous is None:
                    self.run([self.tool("semanage"), "fcontext", "-d", regex], "semanage fcontext -d %s" % regex)
                else:
                    old = parse_context(previous)
                    self.run([self.tool("semanage"), "fcontext", "-m", "-t", old["type"], "-r", old["level"], regex],
                             "semanage fcontext -m %s" % regex)
                if self.label_files and os.path.lexists(path):
                    if previous is None:
                        self.restore(path, dry_run=False)
                    else:
                        self.apply_present(path, previous, prune)
                undone.append(regex)
            except (StepFailed, OSError, LabelError):
                continue
        return "; undone: the rule(s) %s" % ", ".join(undone) if undone else ""

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

    # --------------------------------------------------------------------------------- absent
    def absent(self):
        params = self.params
        report_only = self.gate()
        paths = self.validate()
        registry = self.registry()
        owner = params["owner"]
        level = registry.get(owner, "") if owner else ""
        result = self.result(level, "")
        if report_only:
            return result
        rules = self.local_rules()
        release = bool(owner) and not paths and owner in registry
        before_rules, after_rules, before_labels, after_labels = {}, {}, {}, {}
        plan = []
        for path in paths:
            regex = fcontext_regex(path, params["recurse"])
            current = rules.get(regex)
            if current and not result["level"]:
                result["level"] = (parse_context(current) or {}).get("level", "")
            if not self.label_files:
                relabel = []
            elif current is not None:
                relabel = self.managed_files(path, current)
            elif os.path.lexists(path):
                relabel = self.restore(path, dry_run=True)
            else:
                relabel = []
            before_rules[regex], after_rules[regex] = current, None
            before_labels[path] = "%d file(s) to restore" % len(relabel)
            after_labels[path] = "default labels of the policy"
            if current is not None or relabel:
                plan.append((path, regex, current))
            result["labelled"] += len(relabel)
        result["rules"] = list(before_rules)
        result["changed_paths"] = [item[0] for item in plan]
        result["registered"] = release
        result["changed"] = bool(plan) or release
        if self.module._diff:
            result["diff"] = self.diff(before_rules, after_rules, before_labels, after_labels, registry, "", release)
        if self.module.check_mode or not result["changed"]:
            return result
        for path, regex, current in plan:
            if current is not None:
                self.run([self.tool("semanage"), "fcontext", "-d", regex], "semanage fcontext -d %s" % regex)
            if self.label_files and os.path.lexists(path):
                self.restore(path, dry_run=False)
        # Released last: the level stays reserved while a rule that uses it may still be there.
        if release:
            owners = dict(registry)
            del owners[owner]
            self.write_registry(owners)
        return result

    def managed_files(self, path, context):
        """Files below ``path`` that carry the rule's label (check-mode estimate before the rule is gone)."""
        if not os.path.lexists(path):
            return []
        return [item for item in walk(path, self.params["recurse"], set()) if label_string(read_label(item)) == context]

    def restore(self, path, dry_run):
        """Restore (or list, with ``dry_run``) the policy's default labels; returns the relabelled paths."""
        recurse = self.params["recurse"]
        if self.selinux_enabled:
            args = [self.tool("restorecon"), "-F", "-v"] + (["-n"] if dry_run else []) + (["-R"] if recurse else [])
        elif recurse:
            args = [self.tool("setfiles"), "-F", "-v"] + (["-n"] if dry_run else []) + [self.policy_spec_file()]
        else:
            return self.restore_one(path, dry_run)
        out = self.run(args + [path], "restoring default labels of %s" % path)
        changed = []
        for line in out.splitlines():
            for prefix in ("Would relabel ", "Relabeled "):
                if line.startswith(prefix):
                    changed.append(line[len(prefix):].split(" from ")[0])
        return changed

    def restore_one(self, path, dry_run):
        out = self.run([self.tool("matchpathcon"), "-n", path], "matchpathcon %s" % path).strip()
        if label_string(read_label(path)) == out:
            return []
        if not dry_run:
            os.setxattr(path, XATTR, out.encode("utf-8") + b"\0", follow_symlinks=False)
        return [path]

    # ---------------------------------------------------------------------------------- common
    def write_registry(self, owners):
        directory = os.path.dirname(self.params["registry"])
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        write_file_atomic(self.module, self.params["registry"], render_registry(owners), mode="0644")

    def diff(self, before_rules, after_rules, before_labels, after_labels, registry, level, registry_changed):
        before = render_state(before_rules, before_labels)
        after = render_state(after_rules, after_labels)
        owner = self.params["owner"]
        if owner and registry_changed:
            before += "owner %s %s\n" % (owner, registry.get(owner, "(unregistered)"))
            after += "owner %s %s\n" % (owner, level or "(unregistered)")
        return {
            "before": before, "after": after,
            "before_header": "selinux_volume_label (before)", "after_header": "selinux_volume_label (after)",
        }

    def result(self, level, context):
        return {
            "changed": False, "level": level, "context": context, "owner": self.params["owner"] or "",
            "selinux_enabled": self.selinux_enabled, "enforced": self.enforced, "labelled": 0,
            "changed_paths": [], "rules": [fcontext_regex(p, self.params["recurse"]) for p in self.params["paths"]],
            "registered": False,
        }


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
    backend = VolumeLabel(module)
    try:
        result = backend.present() if module.params["state"] == "present" else backend.absent()
    except (StepFailed, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
