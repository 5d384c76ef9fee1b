# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Kernel audit file watches: parse, validate, render and diff (no I/O here).

Formats follow audit-userspace: ``auditctl -l`` prints a plain watch (only path or dir, perm and
key fields, all syscalls) as ``-w PATH -p PERMS -k KEY`` with the permission letters in ``rwxa``
order, and any other rule as ``-a always,exit [-F arch=..] -S ... -F path=.. -F perm=.. -F key=..``.
A rules file may use either form, ``-a exit,always`` as well, options in any order, and ``-w`` without
``-p`` (all four permissions). Only plain watches are treated as equal to a ``-w`` rule: a rule
restricted by architecture, syscall or another field is a different kernel rule and never matches.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple

from ansible_collections.podsec.hardening.plugins.module_utils._inputs import InputError, control_character, refuse_long_path

PERMISSION_ORDER = "rwxa"
MAX_KEY_LENGTH = 31
# Used with fullmatch: "$" would also accept a key ending in a newline (a blank line in the rules file).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
GLOB_CHARACTERS = frozenset("*?[]")
PATH_MAX = 4096
WATCH_FIELDS = frozenset(("path", "dir", "perm", "key"))
RULES_FILE_HEADER = (
    "# Ansible managed: written by podsec.hardening.audit_watch, which owns this file.\n"
    "# Manual changes are overwritten. augenrules loads rules.d/*.rules at boot.\n"
)


class AuditError(ValueError):
    """Invalid watch definition or unusable auditctl output; the message names the offending item."""


# A watch as the kernel sees it: keys is a tuple (auditctl accepts several -k per rule).
Watch = namedtuple("Watch", ["path", "permissions", "keys"])

# One line of a rules file or of ``auditctl -l``; ``watch`` is set only for plain watches.
AuditRule = namedtuple("AuditRule", ["line", "watch", "path", "control"])

# What to change: live_add/live_remove go to the kernel, file_rules is the file content after.
Plan = namedtuple("Plan", ["live_add", "live_remove", "file_rules", "file_added", "file_removed"])


def identity(watch):
    """Two watches with the same path and keys are the same managed item (permissions may change)."""
    return (watch.path, watch.keys)


def render_watch(watch):
    """The ``-w`` rule text, exactly as ``auditctl -l`` prints it."""
    parts = ["-w", watch.path, "-p", watch.permissions]
    for key in watch.keys:
        parts.extend(("-k", key))
    return " ".join(parts)


def normalize_permissions(permissions):
    """Return the permission letters in ``rwxa`` order; raise AuditError on any other letter."""
    if not isinstance(permissions, str) or not permissions:
        raise AuditError("permissions must be a non-empty string of the letters r, w, x, a")
    unknown = sorted(set(permissions) - set(PERMISSION_ORDER))
    if unknown:
        raise AuditError(
            "permissions %r: unknown letter(s) %s (allowed: r, w, x, a)" % (permissions, ", ".join(map(repr, unknown)))
        )
    return "".join(letter for letter in PERMISSION_ORDER if letter in permissions)


def normalize_path(path):
    """Drop trailing slashes (``auditctl -l`` may print a directory watch as ``-w DIR/``)."""
    stripped = path.rstrip("/")
    return stripped or "/"


# ---------------------------------------------------------------------------------------------
# parse
# ---------------------------------------------------------------------------------------------


def _split_field(token):
    """Split ``name=value`` of a ``-F`` token; return (name, operator, value)."""
    match = re.match(r"^([A-Za-z_0-9]+)(!=|>=|<=|&=|=|>|<|&)(.*)$", token)
    if not match:
        return token, None, None
    return match.group(1), match.group(2), match.group(3)


def _parse_options(tokens):
    """Walk the option tokens of one rule. Return a dict describing it, or None if it is not a rule."""
    info = {"path": None, "perm": None, "keys": [], "extras": [], "action": None, "control": []}
    index = 0
    while index < len(tokens):
        option = tokens[index]
        value = tokens[index + 1] if index + 1 < len(tokens) else None
        if option in ("-w", "-W"):
            info["action"] = "watch" if option == "-w" else "unwatch"
            info["path"] = value
            index += 2
        elif option == "-p":
            info["perm"] = value
            index += 2
        elif option == "-k":
            info["keys"].append(value)
            index += 2
        elif option in ("-a", "-A", "-d"):
            parts = set((value or "").split(","))
            if option == "-d":
                info["action"] = "delete"
            elif parts == {"always", "exit"}:
                info["action"] = "append"
            else:
                info["action"] = "other"
                info["extras"].append("%s %s" % (option, value))
            index += 2
        elif option == "-S":
            if value != "all":
                info["extras"].append("-S %s" % value)
            index += 2
        elif option == "-F":
            name, operator, field_value = _split_field(value or "")
            if name in ("path", "dir") and operator == "=":
                info["path"] = field_value
            elif name == "perm" and operator == "=":
                info["perm"] = field_value
            elif name in ("key", "filterkey") and operator == "=":
                info["keys"].append(field_value)
            else:
                info["extras"].append("-F %s" % value)
            index += 2
        elif option == "-C":
            info["extras"].append("-C %s" % value)
            index += 2
        else:
            # -e, -D, -b, -f, -r, --loginuid-immutable, --backlog_wait_time ...: a control line.
            info["control"].append(option)
            index += 1
    return info


def parse_rule_line(line):
    """Parse one rule line (rules file or ``auditctl -l``). Return an AuditRule or None for blanks/comments."""
    text = line.strip()
    if not text or text.startswith("#") or text == "No rules":
        return None
    info = _parse_options(text.split())
    match = re.match(r"^-w (.+?) -p ([rwxa]+)((?: -k \S+)*)$", text)
    if info["control"] and match:
        # The form auditctl -l prints; the path is verbatim there, spaces included.
        info = {"action": "watch", "path": match.group(1), "perm": match.group(2),
                "keys": match.group(3).split()[1::2], "extras": [], "control": []}
    if info["action"] is None or info["control"]:
        return AuditRule(line=text, watch=None, path=None, control=True)
    path = info["path"]
    if path is None:
        return AuditRule(line=text, watch=None, path=None, control=False)
    path = normalize_path(path)
    if info["action"] not in ("watch", "append") or info["extras"]:
        return AuditRule(line=text, watch=None, path=path, control=False)
    if info["action"] == "append" and info["perm"] is None:
        # Without a perm field the kernel treats it as a syscall rule, not as a watch.
        return AuditRule(line=text, watch=None, path=path, control=False)
    try:
        permissions = normalize_permissions(info["perm"] if info["perm"] is not None else PERMISSION_ORDER)
    except AuditError:
        return AuditRule(line=text, watch=None, path=path, control=False)
    watch = Watch(path=path, permissions=permissions, keys=tuple(info["keys"]))
    return AuditRule(line=text, watch=watch, path=path, control=False)


def parse_rules(text):
    """Parse ``auditctl -l`` output or a rules file into a list of AuditRule (``No rules`` gives [])."""
    rules = []
    for line in (text or "").splitlines():
        rule = parse_rule_line(line)
        if rule is not None:
            rules.append(rule)
    return rules


def plain_watches(rules):
    """The Watch of every rule that is a plain watch, in order."""
    return [rule.watch for rule in rules if rule.watch is not None]


def parse_status(text):
    """Parse ``auditctl -s``. Return a dict with int values (enabled, failure, pid, ...).

    Handles the ``key value`` lines of audit 2.x/3.x/4.x and the older one-line
    ``AUDIT_STATUS: enabled=1 flag=1 pid=...`` form. ``loginuid_immutable`` becomes a bool.
    """
    status = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("AUDIT_STATUS:"):
            for pair in line[len("AUDIT_STATUS:"):].split():
                name, _sep, value = pair.partition("=")
                if name == "flag":
                    name = "failure"
                if value.lstrip("-").isdigit():
                    status[name] = int(value)
            continue
        parts = line.split()
        if len(parts) >= 2 and parts[1].lstrip("-").isdigit():
            status[parts[0]] = int(parts[1])
    if "loginuid_immutable" in status:
        status["loginuid_immutable"] = bool(status["loginuid_immutable"])
    return status


def is_immutable_status(status):
    """The kernel refuses every rule change until reboot when ``enabled`` is 2."""
    return status.get("enabled") == 2


def enable_flag(text):
    """The value of the last ``-e N`` line of a rules file, or None."""
    value = None
    for line in (text or "").splitlines():
        tokens = line.split("#", 1)[0].split()
        for index, token in enumerate(tokens):
            if token == "-e" and index + 1 < len(tokens) and tokens[index + 1].isdigit():
                value = int(tokens[index + 1])
    return value


def boot_parameter(cmdline):
    """The kernel's ``audit=`` switch in /proc/cmdline text: False (0/off), True (1/on), None when absent.

    The last occurrence wins, as for every kernel parameter given twice.
    """
    value = None
    for token in (cmdline or "").split():
        name, sep, setting = token.partition("=")
        if name == "audit" and sep:
            value = setting.strip().lower() not in ("0", "off")
    return value


def disabled_at_boot(cmdline, persisted_flag):
    """Why the kernel will not record after the next boot, one message per reason (empty: it records).

    ``persisted_flag`` is persisted_enable_flag() of the rules directory. Some distributions ship
    rules with ``-e 0`` or boot with ``audit=0``: then the watches are written and loaded but never
    produce a record, which a user must hear about.
    """
    reasons = []
    if boot_parameter(cmdline) is False:
        reasons.append("the kernel command line has audit=0: the kernel starts with audit off and the processes "
                       "started before something enables it are never audited; remove audit=0 from the boot "
                       "loader's kernel command line and reboot")
    if persisted_flag == 0:
        reasons.append("the rules directory loads -e 0 last (augenrules at boot): audit is switched off after "
                       "the rules load and the watches record nothing; remove that -e 0 line or set -e 1")
    return reasons


def version_sort_key(name):
    """Approximate ``ls -v`` (the order augenrules concatenates rules.d files in)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part]


def persisted_enable_flag(files):
    """The ``-e`` value augenrules would load last from ``files`` (a dict name -> text), or None."""
    value = None
    for name in sorted(files, key=version_sort_key):
        if not name.endswith(".rules"):
            continue
        flag = enable_flag(files[name])
        if flag is not None:
            value = flag
    return value


# ---------------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------------


def validate_path(path):
    if not isinstance(path, str) or not path:
        raise AuditError("path must be a non-empty string")
    if not path.startswith("/"):
        raise AuditError("path %r is not absolute" % path)
    if normalize_path(path) == "/":
        raise AuditError("path %r: the root directory cannot be watched" % path)
    if len(path) > PATH_MAX:
        raise AuditError("path is longer than %d characters" % PATH_MAX)
    try:
        refuse_long_path(path, "path")
    except InputError as exc:
        raise AuditError(str(exc)[len("path: "):])
    bad = sorted(GLOB_CHARACTERS.intersection(path))
    if bad:
        raise AuditError("path %r contains wildcard character(s) %s: audit watches take literal paths" % (path, " ".join(bad)))
    if any(char.isspace() for char in path) or control_character(path) is not None:
        raise AuditError("path %r contains whitespace or control characters, which a rules file cannot express" % path)
    components = path.split("/")
    if "." in components or ".." in components:
        raise AuditError("path %r contains '.' or '..' components; give the real path" % path)
    return normalize_path(path)


def validate_key(key):
    if not isinstance(key, str) or not key:
        raise AuditError("key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise AuditError("key %r is %d characters long (at most %d)" % (key, len(key), MAX_KEY_LENGTH))
    if not KEY_PATTERN.fullmatch(key):
        raise AuditError("key %r may only contain letters, digits, '_' and '-'" % key)
    return key


def validate_watches(items, default_permissions="wa"):
    """Validate the module's watch items. Return (present, absent).

    ``present`` is a list of Watch; ``absent`` a list of identities (path, keys). Raises AuditError
    naming the offending item (by position and path) on the first problem.
    """
    present = []
    absent = []
    seen = {}
    for position, item in enumerate(items, start=1):
        path = item.get("path")
        label = "watch #%d (%s)" % (position, path)
        try:
            path = validate_path(path)
            key = validate_key(item.get("key"))
            state = item.get("state") or "present"
            if state not in ("present", "absent"):
                raise AuditError("state %r must be present or absent" % state)
            permissions = item.get("permissions")
            if permissions is None:
                permissions = default_permissions
            permissions = normalize_permissions(permissions)
        except AuditError as exc:
            raise AuditError("%s: %s" % (label, exc))
        watch = Watch(path=path, permissions=permissions, keys=(key,))
        ident = identity(watch)
        previous = seen.get(ident)
        if previous is not None and previous != (state, permissions):
            raise AuditError(
                "%s: path %s with key %s is listed more than once with a different state or permissions" % (label, path, key)
            )
        if previous is not None:
            continue
        seen[ident] = (state, permissions)
        if state == "present":
            present.append(watch)
        else:
            absent.append(ident)
    return present, absent


def split_missing(present, exists):
    """Split present watches into (watched, skipped paths) by ``exists(path)`` on the target.

    For a role that watches a fixed list on hosts that lack some of its paths: one call finds them, where
    a stat per path cost one module call each. A skipped path stays out of the rules file; with exclusive
    mode an earlier watch on it is removed, as if it had not been listed.
    """
    watched = [watch for watch in present if exists(watch.path)]
    skipped = sorted({watch.path for watch in present if not exists(watch.path)})
    return watched, skipped


# ---------------------------------------------------------------------------------------------
# render
# ---------------------------------------------------------------------------------------------


_AFTER_CHILDREN = chr(0x10FFFF)


def load_order_key(watch):
    """Sort key: by path, but every path after the paths below it.

    The kernel records an event under the first loaded rule that matches, so a watch on
    /etc/containers/policy.json must come before the watch on /etc/containers for its own key to show.
    """
    return (watch.path.strip("/").split("/") + [_AFTER_CHILDREN], watch.keys, watch.permissions)


def sort_watches(watches):
    return sorted(set(watches), key=load_order_key)


def render_rules_file(watches, preserved_lines=()):
    """The rules file text: header, one ``-w`` line per watch (sorted), then preserved foreign lines."""
    lines = [render_watch(watch) for watch in sort_watches(watches)]
    lines.extend(preserved_lines)
    return RULES_FILE_HEADER + "".join(line + "\n" for line in lines)


def auditctl_args(watch, remove=False):
    """auditctl arguments that load (or, with remove, delete) one watch."""
    args = ["-W" if remove else "-w", watch.path, "-p", watch.permissions]
    for key in watch.keys:
        args.extend(["-k", key])
    return args


# ---------------------------------------------------------------------------------------------
# diff
# ---------------------------------------------------------------------------------------------


def plan_changes(present, absent, owned, live, exclusive=False):
    """Work out what to change.

    present:  Watch list wanted loaded and persisted.
    absent:   identities (path, keys) to remove from the kernel and the file.
    owned:    Watch list currently in the module's rules file (the rules it owns).
    live:     Watch list of the plain watches ``auditctl -l`` shows.
    exclusive: also remove owned watches that ``present`` does not list.

    Live rules are only removed when they are owned and dropped from the file, or named by an
    ``absent`` item (any permissions); a live rule the module does not own and was not asked
    about is never touched.
    """
    wanted = {}
    for watch in present:
        wanted[identity(watch)] = watch
    absent = set(absent)
    live_set = set(live)

    file_removed = []
    for watch in owned:
        ident = identity(watch)
        if ident in absent or (ident in wanted and wanted[ident] != watch) or (exclusive and ident not in wanted):
            if watch not in file_removed:
                file_removed.append(watch)

    live_remove = [watch for watch in file_removed if watch in live_set]
    for watch in live:
        if identity(watch) in absent and watch not in live_remove:
            live_remove.append(watch)

    live_add = [watch for watch in sort_watches(present) if watch not in live_set]
    kept = [watch for watch in owned if watch not in file_removed]
    file_rules = sort_watches(kept + list(present))
    owned_set = set(owned)
    file_added = [watch for watch in file_rules if watch not in owned_set]
    return Plan(
        live_add=live_add,
        live_remove=live_remove,
        file_rules=file_rules,
        file_added=file_added,
        file_removed=sort_watches(file_removed),
    )


def live_lines_after(live_lines, plan):
    """The ``auditctl -l`` lines expected after applying ``plan`` (for diff mode)."""
    removed = set(render_watch(watch) for watch in plan.live_remove)
    lines = []
    for line in live_lines:
        rule = parse_rule_line(line)
        if rule is None:
            continue
        if rule.watch is not None and render_watch(rule.watch) in removed and rule.line == render_watch(rule.watch):
            continue
        lines.append(rule.line)
    lines.extend(render_watch(watch) for watch in plan.live_add)
    return lines


def rules_dir_files(directory, listdir=os.listdir):
    """Names of the ``*.rules`` files in ``directory`` in augenrules order."""
    try:
        names = [name for name in listdir(directory) if name.endswith(".rules")]
    except FileNotFoundError:
        return []
    return sorted(names, key=version_sort_key)
