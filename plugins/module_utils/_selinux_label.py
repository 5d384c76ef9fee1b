# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Pure logic of the selinux_volume_label module: paths, MCS levels, fcontext rules and labels.

parse (``semanage fcontext -l -C`` output, ``security.selinux`` values, the owner registry)
-> validate (paths podman refuses to relabel, categories) -> render (levels, contexts, fcontext
regexes, registry JSON) -> diff (text shown in diff mode) -> plan (``gate``, ``check_params``,
``wanted_level``, ``plan_labels``, ``registry_after``: what the module does, from the facts it read
on the host). Nothing here touches the host.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from ansible_collections.podsec.hardening.plugins.module_utils._inputs import (
    InputError,
    refuse_control_characters,
    refuse_long_path,
)

# Number of MCS categories of the Debian/Fedora/RHEL policies (c0..c1023).
CATEGORY_COUNT = 1024

# podman (containers/common) gives `label=disable` mounts the two top categories; never hand them out.
RESERVED_LEVELS = frozenset(["s0:c%d,c%d" % (CATEGORY_COUNT - 2, CATEGORY_COUNT - 1)])

SHARED_LEVEL = "s0"

# The exact list go-selinux `chcon()` refuses to relabel (opencontainers/selinux
# go-selinux/selinux_linux.go `excludePaths`), used by podman for `:z`/`:Z`. The invoking user's
# $HOME and $SUDO_USER's home are refused too: see ``validate_path`` ``home_dirs``.
FORBIDDEN_PATHS = frozenset([
    "/", "/bin", "/boot", "/dev", "/etc", "/etc/passwd", "/etc/pki", "/etc/shadow", "/home",
    "/lib", "/lib64", "/media", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys",
    "/tmp", "/usr", "/var", "/var/lib", "/var/log",
])

# go-selinux before 1.11 (podman before 4.3) refused everything below /usr as well
# ("relabeling content in /usr is not allowed"). System content lives there, so this module keeps
# refusing it, and with it every tree whose label the host itself depends on: system configuration
# (/etc: sshd, systemd), boot files, kernel file systems, root's credentials, logs, container storage
# (a relabel of /var/lib/containers/storage rewrites every image layer) and the engines' runtime state.
FORBIDDEN_TREES = (
    "/usr", "/etc", "/boot", "/proc", "/sys", "/dev", "/root", "/var/log", "/var/lib/containers/storage",
    "/var/lib/selinux", "/var/lib/podsec-hardening", "/run/containers", "/run/podman", "/run/libpod",
    "/run/crun", "/run/runc", "/run/systemd", "/run/user",
)
# Below every user's home directory: per-user container storage and configuration, and credentials.
FORBIDDEN_HOME_TREES = (".local/share/containers", ".config", ".ssh", ".gnupg")

_SETYPE = re.compile(r"[A-Za-z0-9_]+_t")

_REGEX_SPECIALS = frozenset(".^$*+?()[]{}|\\")
_RECURSIVE_SUFFIX = "(/.*)?"

FTYPES = (
    "all files", "regular file", "directory", "character device", "block device", "socket",
    "symbolic link", "named pipe",
)
_FCONTEXT_LINE = re.compile(
    r"^(?P<regex>\S.*?)\s+(?P<ftype>" + "|".join(re.escape(f) for f in FTYPES) + r")\s+(?P<context>\S+)\s*$"
)
_CATEGORY = re.compile(r"c(\d{1,4})")


class LabelError(ValueError):
    """A value the module must refuse; the message names the offending item."""


# ---------------------------------------------------------------------------------------- parse

def parse_context(value):
    """Split an SELinux label (str or the raw xattr bytes) into user, role, type and level.

    ``None`` or an empty value (no label on disk) gives ``None``.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = value.rstrip("\x00").strip()
    if not value or value == "<<None>>":
        return None
    parts = value.split(":", 3)
    if len(parts) < 3:
        raise LabelError("invalid SELinux label %r: expected user:role:type[:level]" % value)
    return {
        "user": parts[0],
        "role": parts[1],
        "type": parts[2],
        "level": parts[3] if len(parts) == 4 else "",
    }


def parse_level(level):
    """Return the sorted category numbers of an MCS level (``s0``, ``s0:c1,c2``, ``s0:c0.c3``)."""
    sensitivity, _sep, cats = (level or "").partition(":")
    if sensitivity != "s0":
        raise LabelError("invalid MCS level %r: only sensitivity s0 is supported" % level)
    result = set()
    for item in [c for c in cats.split(",") if c] if cats else []:
        low, _dot, high = item.partition(".")
        first = _category_number(low, level)
        last = _category_number(high, level) if high else first
        if last < first:
            raise LabelError("invalid MCS level %r: range %s goes backwards" % (level, item))
        result.update(range(first, last + 1))
    return tuple(sorted(result))


def parse_categories(value):
    """Validate user-given categories (``['c12', 'c345']`` or ``'c12,c345'``) for a private level."""
    if isinstance(value, str):
        value = value.split(",")
    items = [str(v).strip() for v in value if str(v).strip()]
    numbers = sorted(set(_category_number(item, ",".join(items)) for item in items))
    if len(numbers) != 2 or len(items) != 2:
        raise LabelError(
            "categories %r: give exactly two distinct categories such as c12,c345" % ",".join(items))
    level = render_level(numbers)
    if level in RESERVED_LEVELS:
        raise LabelError("categories %s are reserved by podman for label=disable mounts" % level)
    return tuple(numbers)


def _category_number(item, whole):
    match = _CATEGORY.fullmatch(item.strip())
    if not match or int(match.group(1)) >= CATEGORY_COUNT:
        raise LabelError("invalid MCS category %r in %r: expected c0 .. c%d" % (item, whole, CATEGORY_COUNT - 1))
    return int(match.group(1))


def parse_semanage_fcontext(output):
    """Parse ``semanage fcontext -l -C`` (local customisations) into rule dicts.

    Each rule: ``{"regex", "ftype", "context"}`` with ``context`` ``None`` for ``<<None>>``.
    Header lines and the "fcontext Equivalence" section are skipped.
    """
    rules = []
    in_equivalence = False
    for line in output.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("SELinux"):
            in_equivalence = "Equivalence" in stripped
            continue
        if in_equivalence:
            continue
        match = _FCONTEXT_LINE.match(stripped)
        if not match:
            continue
        context = match.group("context")
        rules.append({
            "regex": match.group("regex"),
            "ftype": match.group("ftype"),
            "context": None if context == "<<None>>" else context,
        })
    return rules


def context_string(parsed):
    """A ``parse_context`` result written back as the label string (None for no label)."""
    if parsed is None:
        return None
    return render_context(parsed["type"], parsed["level"], parsed["user"], parsed["role"]).rstrip(":")


def policy_spec_file(config_text):
    """The installed policy's file_contexts, from /etc/selinux/config's ``SELINUXTYPE=`` (None without one)."""
    selinuxtype = None
    for line in config_text.splitlines():
        key, _sep, value = line.strip().partition("=")
        if key.strip() == "SELINUXTYPE":
            selinuxtype = value.strip()
    return "/etc/selinux/%s/contexts/files/file_contexts" % selinuxtype if selinuxtype else None


def parse_relabelled(output):
    """The paths ``restorecon -v`` / ``setfiles -v`` relabelled (or, with ``-n``, would relabel)."""
    changed = []
    for line in output.splitlines():
        for prefix in ("Would relabel ", "Relabeled "):
            if line.startswith(prefix):
                changed.append(line[len(prefix):].split(" from ")[0])
    return changed


def parse_registry(text):
    """Parse the owner registry (JSON ``{"owners": {NAME: LEVEL}}``); empty or missing gives ``{}``."""
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LabelError("owner registry is not valid JSON: %s" % exc)
    owners = data.get("owners") if isinstance(data, dict) else None
    if not isinstance(owners, dict):
        raise LabelError('owner registry has no "owners" mapping')
    for name, level in owners.items():
        if len(parse_level(level)) != 2:
            raise LabelError("owner registry: owner %r has level %r, expected s0:cX,cY" % (name, level))
    return dict(owners)


# ------------------------------------------------------------------------------------- validate

def validate_path(path, home_dirs=()):
    """Return ``path`` if it may carry a container label, else raise ``LabelError``.

    The path must be absolute and normalised (no ``..``, ``.``, ``//`` or trailing ``/``), without
    whitespace (file_contexts fields are whitespace separated), not one of the paths podman refuses
    to relabel, not below /usr and not a user's home directory (``home_dirs``).
    """
    if not isinstance(path, str) or not path:
        raise LabelError("path %r: give an absolute path" % (path,))
    if not path.startswith("/"):
        raise LabelError("path %r is not absolute" % path)
    if re.search(r"\s", path):
        raise LabelError("path %r contains whitespace, which an fcontext rule cannot express" % path)
    normal = os.path.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if normal != path:
        raise LabelError("path %r is not normalised: write it as %r" % (path, normal))
    if path in FORBIDDEN_PATHS:
        raise LabelError(
            "path %s is a system directory podman refuses to relabel (SELinux relabeling of %s is not allowed)"
            % (path, path))
    for tree in FORBIDDEN_TREES:
        if path == tree or path.startswith(tree + "/"):
            raise LabelError("path %s is below %s: relabeling content in %s is not allowed" % (path, tree, tree))
    homes = set(os.path.normpath(h) for h in home_dirs if h and h.startswith("/") and h != "/")
    if path in homes:
        raise LabelError("path %s is a user's home directory, which podman refuses to relabel" % path)
    home_trees = sorted(home.rstrip("/") + "/" + tree for home in homes for tree in FORBIDDEN_HOME_TREES)
    for root in home_trees:
        if path == root or path.startswith(root + "/"):
            raise LabelError("path %s is below %s: a user's container storage, configuration or credentials "
                             "must keep their own labels" % (path, root))
    for tree in list(FORBIDDEN_TREES) + home_trees:
        if tree.startswith(path + "/"):
            raise LabelError("path %s holds %s, whose labels must not change (a recursive relabel would reach it)"
                             % (path, tree))
    return path


def validate_setype(setype):
    """Return ``setype`` if it is an SELinux type name (``container_file_t``), else raise ``LabelError``."""
    if not isinstance(setype, str) or not _SETYPE.fullmatch(setype):
        raise LabelError("setype %r is not an SELinux file type name such as container_file_t" % (setype,))
    return setype


def validate_paths(paths, home_dirs=()):
    """Validate every path, refuse duplicates, return them in the given order."""
    seen = []
    for path in paths:
        validate_path(path, home_dirs)
        if path in seen:
            raise LabelError("path %s is listed twice" % path)
        seen.append(path)
    return seen


# --------------------------------------------------------------------------------------- render

def render_level(categories):
    """``(5, 3)`` -> ``s0:c3,c5``; no categories -> ``s0``."""
    numbers = sorted(categories)
    if not numbers:
        return SHARED_LEVEL
    return "s0:" + ",".join("c%d" % n for n in numbers)


def render_context(setype, level, user="system_u", role="object_r"):
    """The full file label, as ``semanage fcontext`` stores it and ``restorecon`` applies it."""
    return "%s:%s:%s:%s" % (user, role, setype, level)


def fcontext_regex(path, recurse=True):
    """The fcontext regex for ``path``: regex specials escaped, ``(/.*)?`` appended when recursive."""
    escaped = "".join("\\" + ch if ch in _REGEX_SPECIALS else ch for ch in path)
    return escaped + _RECURSIVE_SUFFIX if recurse else escaped


def path_from_regex(regex):
    """Inverse of ``fcontext_regex``: the plain path a rule covers, or ``None`` for other regexes."""
    body = regex[:-len(_RECURSIVE_SUFFIX)] if regex.endswith(_RECURSIVE_SUFFIX) else regex
    out = []
    escaped = False
    for ch in body:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in _REGEX_SPECIALS:
            return None
        else:
            out.append(ch)
    if escaped or not out or out[0] != "/":
        return None
    return "".join(out)


def derive_level(owner, taken=()):
    """Deterministic private level for ``owner`` avoiding the levels in ``taken``.

    Candidate ``n`` (n = 0, 1, 2 ...) hashes ``"<owner>\\0<n>"`` with SHA-256 and takes two
    categories from the digest; pairs with equal categories, reserved pairs and taken levels are
    skipped, so the first free candidate wins. The same owner and the same taken set always give
    the same level, on every host.
    """
    if not owner:
        raise LabelError("owner must be a non-empty name")
    taken = set(taken)
    for attempt in range(100000):
        digest = hashlib.sha256(("%s\0%d" % (owner, attempt)).encode("utf-8")).digest()
        first = int.from_bytes(digest[0:4], "big") % CATEGORY_COUNT
        second = int.from_bytes(digest[4:8], "big") % CATEGORY_COUNT
        if first == second:
            continue
        level = render_level((first, second))
        if level in RESERVED_LEVELS or level in taken:
            continue
        return level
    raise LabelError("no free MCS level left for owner %r" % owner)


def choose_level(owner, registry, rule_levels=(), categories=None):
    """Return ``(level, register)`` for a private volume.

    ``registry`` maps owners to their levels; ``rule_levels`` are the levels of every local fcontext
    rule on the host (also rules of unregistered owners). A registered owner keeps its level unless
    explicit ``categories`` say otherwise. ``register`` is True when the registry must change.
    """
    others = dict((name, lvl) for name, lvl in registry.items() if name != owner)
    if categories:
        level = render_level(categories)
        for name, lvl in sorted(others.items()):
            if lvl == level:
                raise LabelError("categories %s are already used by owner %r on this host" % (level, name))
        return level, bool(owner) and registry.get(owner) != level
    if not owner:
        raise LabelError("mode private needs owner (categories derived from it) or explicit categories")
    if owner in registry:
        return registry[owner], False
    taken = set(others.values())
    taken.update(lvl for lvl in rule_levels if lvl and lvl != SHARED_LEVEL)
    return derive_level(owner, taken), True


def private_levels(contexts):
    """The two-category levels of the given labels (fcontext rules); other or unparsable ones are skipped."""
    levels = set()
    for context in contexts:
        try:
            parsed = parse_context(context)
            if parsed and len(parse_level(parsed["level"])) == 2:
                levels.add(render_level(parse_level(parsed["level"])))
        except LabelError:
            continue
    return levels


def render_registry(owners):
    """Registry JSON (sorted, stable, newline-terminated) as bytes."""
    data = {"owners": dict(sorted(owners.items()))}
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


# ----------------------------------------------------------------------------------------- diff

def render_state(rules, labels):
    """Text for diff mode: one line per fcontext rule, one per path with its label summary.

    ``rules`` maps regex -> context (or None when absent); ``labels`` maps path -> summary string.
    """
    lines = []
    for regex in sorted(rules):
        lines.append("fcontext %s %s" % (regex, rules[regex] or "(none)"))
    for path in sorted(labels):
        lines.append("label %s %s" % (path, labels[path]))
    return "\n".join(lines) + "\n" if lines else ""


# ----------------------------------------------------------------------------------------- plan
#
# The module reads facts on the host (SELinux state, tools, local rules, the registry, the labels
# of the files) and executes what these functions decide. ``present`` and ``absent`` share one
# flow: one step per path that needs a change, each a dict with named fields.

def needed_tools(selinux_enabled, label_files):
    """The policy tools a run needs: semanage for the rules, and the labelling tools when files are labelled."""
    if not label_files:
        return ["semanage"]
    return ["semanage"] + (["restorecon"] if selinux_enabled else ["setfiles", "matchpathcon"])


def gate(selinux_enabled, when_disabled, missing):
    """``(report_only, warning)`` for the SELinux state and the ``missing`` tools; LabelError to refuse."""
    if selinux_enabled:
        if missing:
            raise LabelError("SELinux is enabled but the policy tools are missing: %s" % ", ".join(missing))
        return False, None
    if when_disabled == "fail":
        raise LabelError("SELinux is disabled on this host and when_disabled=fail")
    if when_disabled == "skip":
        return True, "SELinux is disabled on this host: nothing labelled (when_disabled=skip)"
    if missing:
        raise LabelError("SELinux is disabled and when_disabled=%s needs the policy tools, missing: %s "
                         "(install policycoreutils and policycoreutils-python-utils, or set when_disabled=skip)"
                         % (when_disabled, ", ".join(missing)))
    return False, None


def check_params(params, home_dirs, resolve, lookup_user):
    """Validate the module's parameters; ``resolve(path)`` is the path as the host resolves it and
    ``lookup_user(name)`` raises KeyError for a user the host does not have."""
    try:
        for option in ("paths", "owner", "categories", "setype", "registry", "create_mode", "create_owner"):
            refuse_control_characters(params[option], option)
        for index, path in enumerate(params["paths"]):
            refuse_long_path(path, "paths[%d]" % index)
    except InputError as exc:
        raise LabelError(str(exc))
    if not re.match(r"^0?[0-7]{3}\Z", params["create_mode"]):
        raise LabelError("create_mode: must be an octal mode such as 0700 (got %r)" % params["create_mode"])
    if params["create_owner"] is not None:
        try:
            lookup_user(params["create_owner"])
        except KeyError:
            raise LabelError("create_owner: user %r does not exist" % params["create_owner"])
    validate_setype(params["setype"])
    validate_paths(params["paths"], home_dirs)
    for path in params["paths"]:
        real = resolve(path)
        if real != path:
            try:
                validate_path(real, home_dirs)
            except LabelError as exc:
                raise LabelError("path %s resolves to %s: %s" % (path, real, exc))
            raise LabelError("path %s resolves to %s through a symlink: give the real path" % (path, real))
    return params["paths"]


def wanted_level(params, registry, rules):
    """``(level, register)`` of a present run: s0 for shared volumes, else the owner's private level."""
    if params["mode"] == "shared":
        if params["categories"]:
            raise LabelError("categories are only valid with mode=private")
        return SHARED_LEVEL, False
    categories = parse_categories(params["categories"]) if params["categories"] else None
    return choose_level(params["owner"], registry, private_levels(rules.values()), categories)


def requested(params, registry, rules, present):
    """``(level, register, context)`` of a run. present: ``wanted_level`` and the context to label with;
    absent: the owner's registered level ("" when none), nothing to register, no context (rules go)."""
    if present:
        level, register = wanted_level(params, registry, rules)
        return level, register, render_context(params["setype"], level)
    return registry.get(params["owner"], "") if params["owner"] else "", False, None


def paths_to_create(paths, exists, present, create):
    """The missing ``paths`` (``exists(path)`` false) a present run creates; LabelError without ``create``."""
    if not present:
        return []
    missing = [path for path in paths if not exists(path)]
    if missing and not create:
        raise LabelError("path %s does not exist (set create: true to create it)" % missing[0])
    return missing


def level_of_rules(plan):
    """The level of the first rule a plan found (an absent run without a registered owner reports it)."""
    return next((parse_context(context)["level"] for context in plan["before_rules"].values() if context), "")


def semanage_args(action, regex, context=None):
    """Arguments of ``semanage`` adding (-a), changing (-m) to the type and level of ``context``, or deleting (-d)
    the fcontext rule ``regex``."""
    args = ["fcontext", action]
    if context is not None:
        parsed = parse_context(context)
        args += ["-t", parsed["type"], "-r", parsed["level"]]
    return args + [regex]


def restore_command(selinux_enabled, recurse, dry_run):
    """``(tool, options)`` that restores (or, ``dry_run``, lists) the policy's default labels below a path:
    restorecon when SELinux is enabled, else setfiles with the policy's file_contexts (the caller adds the
    spec file) when recursive; ``(None, None)`` for one file without SELinux (matchpathcon, then setxattr)."""
    dry = ["-n"] if dry_run else []
    if selinux_enabled:
        return "restorecon", ["-F", "-v"] + dry + (["-R"] if recurse else [])
    if recurse:
        return "setfiles", ["-F", "-v"] + dry
    return None, None


def plan_labels(paths, recurse, rules, context, label_files, observe, create=()):
    """One flow for present (``context`` is the wanted label) and absent (``context`` is None).

    ``rules`` maps the host's local fcontext regexes to their contexts; ``observe(path, regex, current,
    prune)`` answers from the host which files would be relabelled (present: files whose label is not
    ``context``, ``[path]`` for a missing path; absent: files the rule's removal restores). Returns
    ``{"steps", "before_rules", "after_rules", "before_labels", "after_labels"}``; each step is a dict
    with path, regex, current (the rule's context now), relabel (files) and prune (sub-trees that
    other rules manage). A path in ``create`` (missing, to be created) always gets a step.
    """
    managed = set(p for p in (path_from_regex(r) for r in rules) if p)
    plan = {"steps": [], "before_rules": {}, "after_rules": {}, "before_labels": {}, "after_labels": {}}
    for path in paths:
        regex = fcontext_regex(path, recurse)
        step = {"path": path, "regex": regex, "current": rules.get(regex),
                "prune": set(p for p in managed if p.startswith(path + "/")) if context else set()}
        step["relabel"] = observe(path, regex, step["current"], step["prune"]) if label_files else []
        plan["before_rules"][regex], plan["after_rules"][regex] = step["current"], context
        if not label_files:
            before = after = "labels left to the relabel when SELinux is enabled"
        elif context is None:
            before, after = "%d file(s) to restore" % len(step["relabel"]), "default labels of the policy"
        else:
            after = "all files labelled %s" % context
            before = "%d file(s) not labelled %s" % (len(step["relabel"]), context) if step["relabel"] else after
        plan["before_labels"][path], plan["after_labels"][path] = before, after
        if step["current"] != context or step["relabel"] or path in create:
            plan["steps"].append(step)
    return plan


def plan_summary(plan, registry_changed):
    """The result fields a plan decides: rules, labelled, changed_paths, registered, changed."""
    steps = plan["steps"]
    return {"rules": list(plan["before_rules"]), "labelled": sum(len(step["relabel"]) for step in steps),
            "changed_paths": [step["path"] for step in steps], "registered": registry_changed,
            "changed": bool(steps) or registry_changed}


def registry_after(registry, owner, level, present, register, paths):
    """The owner registry after the run, or None when it does not change.

    present: a new or moved owner is registered with its level; absent without paths releases the
    owner's level.
    """
    if present and register and owner:
        return dict(registry, **{owner: level})
    if not present and owner and not paths and owner in registry:
        return dict((name, lvl) for name, lvl in registry.items() if name != owner)
    return None


def base_result(params, level, context, selinux_enabled, enforced):
    """The module's result before anything is planned (what a report-only run returns)."""
    return {
        "changed": False, "level": level, "context": context, "owner": params["owner"] or "",
        "selinux_enabled": selinux_enabled, "enforced": enforced, "labelled": 0, "changed_paths": [],
        "rules": [fcontext_regex(p, params["recurse"]) for p in params["paths"]], "registered": False,
    }


def render_diff(plan, owner, registry, level, registry_changed):
    """Diff mode text: rules and label summaries before and after, and the owner's registry entry."""
    before = render_state(plan["before_rules"], plan["before_labels"])
    after = render_state(plan["after_rules"], plan["after_labels"])
    if owner and registry_changed:
        before += "owner %s %s\n" % (owner, registry.get(owner, "(unregistered)"))
        after += "owner %s %s\n" % (owner, level or "(unregistered)")
    return {"before": before, "after": after,
            "before_header": "selinux_volume_label (before)", "after_header": "selinux_volume_label (after)"}
