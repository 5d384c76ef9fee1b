# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Pure logic of tmpfs_secret: mount table parsing, path checks, option rendering, digests.

parse (``/proc/self/mounts``, kernel release, sizes) -> validate (names, paths, noswap) ->
render (mount options, podman shell driver options) -> diff (summaries without values) -> plan
(``check_request``, ``plan_mount``, ``plan_secret``, ``plan_podman``: what the module does, from
the facts it read on the host). Nothing here touches the file system or runs a command.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import posixpath
import re

from ansible_collections.podsec.hardening.plugins.module_utils._inputs import (
    InputError,
    refuse_control_characters,
    refuse_long_path,
)

MEMORY_FSTYPES = ("tmpfs", "ramfs")
NOSWAP_MIN_KERNEL = (6, 4)
PAGE_SIZE = 4096
PODMAN_MAX_SECRET_BYTES = 512000
PODMAN_STORE_DIRNAME = ".podman"
ON_NO_NOSWAP_CHOICES = ("fail", "ramfs", "allow_swap")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")
# Characters allowed in the mount path: it is embedded in podman's --driver-opts (comma separated,
# parsed as CSV, so no comma and no double quote) and in /bin/sh commands (single quoted).
_SAFE_PATH_RE = re.compile(r"^/[A-Za-z0-9_.@+/-]*$")
_SECRET_ID_RE = re.compile(r"^[0-9a-f]{1,64}$")
_SIZE_RE = re.compile(r"^([0-9]+)([kKmMgGtT]?)$")
_PERCENT_RE = re.compile(r"^([0-9]+)%$")
_MOUNT_ESCAPE_RE = re.compile(r"\\([0-7]{3})")

# The source ("device") this module gives its mounts: a mount at the path with another source was not
# made by this module, and the module neither adopts nor remounts it.
MOUNT_SOURCE = "podsec-secrets"

# Directories a tmpfs must never hide: the system would lose its configuration, programs, logs,
# runtime state or home directories until the mount goes (a tmpfs over /etc stops sshd logins).
SYSTEM_PATHS = frozenset([
    "/", "/bin", "/boot", "/dev", "/dev/shm", "/dev/mqueue", "/etc", "/home", "/lib", "/lib32", "/lib64",
    "/libx32", "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/run/containers", "/run/lock", "/run/podman",
    "/run/systemd", "/run/user", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/lib64",
    "/usr/libexec", "/usr/local", "/usr/sbin", "/usr/share", "/var", "/var/cache", "/var/lib",
    "/var/lib/containers", "/var/log", "/var/run", "/var/spool", "/var/tmp",
])
# Kernel and boot trees: nothing below them is a place for secrets.
SYSTEM_TREES = ("/proc", "/sys", "/dev", "/boot")


class MountEntry(object):
    """One line of /proc/mounts."""

    __slots__ = ("device", "mountpoint", "fstype", "options")

    def __init__(self, device, mountpoint, fstype, options):
        self.device = device
        self.mountpoint = mountpoint
        self.fstype = fstype
        self.options = options

    def option(self, key):
        """Value of ``key=value`` in the options, ``True`` for a flag, ``None`` when absent."""
        for opt in self.options:
            if opt == key:
                return True
            if opt.startswith(key + "="):
                return opt[len(key) + 1:]
        return None

    @property
    def noswap(self):
        return "noswap" in self.options

    @property
    def in_memory(self):
        return self.fstype in MEMORY_FSTYPES

    def as_dict(self):
        return {"path": self.mountpoint, "fstype": self.fstype, "noswap": self.noswap, "options": list(self.options)}


# ---------------------------------------------------------------------------------------------- parse

def unescape_mount_field(field):
    """Undo the octal escapes (``\\040`` space, ``\\011`` tab, ``\\012`` newline, ``\\134`` backslash)."""
    return _MOUNT_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text):
    """Parse /proc/mounts (or /proc/self/mounts) text into a list of MountEntry, in mount order."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        entries.append(MountEntry(
            device=unescape_mount_field(fields[0]),
            mountpoint=unescape_mount_field(fields[1]),
            fstype=fields[2],
            options=fields[3].split(","),
        ))
    return entries


def parse_mountinfo(text):
    """Parse /proc/self/mountinfo text into MountEntry objects (per-mount and super block options merged)."""
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        sep = fields.index("-")
        if sep < 6 or len(fields) < sep + 4:
            continue
        options = fields[5].split(",")
        for opt in fields[sep + 3].split(","):
            if opt not in options:
                options.append(opt)
        entries.append(MountEntry(
            device=unescape_mount_field(fields[sep + 2]),
            mountpoint=unescape_mount_field(fields[4]),
            fstype=fields[sep + 1],
            options=options,
        ))
    return entries


def parse_kernel_release(release):
    """``'6.18.44-fc-v669'`` -> ``(6, 18)``; ``None`` when the release is not ``MAJOR.MINOR...``."""
    match = re.match(r"^(\d+)\.(\d+)", release or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def parse_meminfo(text):
    """``MemTotal`` of /proc/meminfo in bytes, or None when it is missing or unreadable."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return int(parts[1]) * 1024 if len(parts) > 1 and parts[1].isdigit() else None
    return None


def parse_size(size, mem_total_bytes=None):
    """Bytes wanted by a tmpfs ``size=`` value (``1m``, ``512k``, ``1048576``, ``10%``).

    Raises ValueError for anything else. A percentage needs ``mem_total_bytes``.
    """
    size = str(size).strip()
    match = _SIZE_RE.fullmatch(size)
    if match:
        factor = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[match.group(2).lower()]
        value = int(match.group(1)) * factor
    else:
        match = _PERCENT_RE.fullmatch(size)
        if not match:
            raise ValueError("size %r is not a number with an optional k/m/g/t suffix or a percentage" % size)
        if mem_total_bytes is None:
            raise ValueError("size %r is a percentage but the memory size is unknown" % size)
        value = mem_total_bytes * int(match.group(1)) // 100
    if value <= 0:
        raise ValueError("size %r must be larger than zero" % size)
    return value


def size_pages(num_bytes):
    """Pages the kernel reserves for ``num_bytes`` (it rounds up to whole pages)."""
    return (num_bytes + PAGE_SIZE - 1) // PAGE_SIZE


def mounted_size_bytes(entry):
    """``size=`` of a tmpfs as shown in /proc/mounts (always ``<n>k``), or None (unlimited/ramfs)."""
    value = entry.option("size")
    if not isinstance(value, str):
        return None
    return parse_size(value)


# -------------------------------------------------------------------------------------------- validate

def is_within(path, root):
    """True when ``path`` is ``root`` or below it, by whole path components (``/run/sec-evil`` is not in ``/run/sec``)."""
    path = posixpath.normpath(path)
    root = posixpath.normpath(root)
    if root == "/":
        return path.startswith("/")
    return path == root or path.startswith(root + "/")


def find_mount(entries, path):
    """The mount that holds ``path``: longest mount point prefix; the last one wins when stacked."""
    best = None
    for entry in entries:
        if is_within(path, entry.mountpoint):
            if best is None or len(posixpath.normpath(entry.mountpoint)) >= len(posixpath.normpath(best.mountpoint)):
                best = entry
    return best


def mount_at(entries, path):
    """The top-most mount whose mount point is exactly ``path``, or None."""
    found = None
    path = posixpath.normpath(path)
    for entry in entries:
        if posixpath.normpath(entry.mountpoint) == path:
            found = entry
    return found


def validate_mount_path(path):
    """Error message for an unusable mount point, or None."""
    if not path or not path.startswith("/"):
        return "path %r must be absolute" % (path,)
    if posixpath.normpath(path) != path.rstrip("/") or "//" in path:
        return "path %r must be normalised (no '.', '..', '//' or trailing '/')" % (path,)
    if path.rstrip("/") in ("", "/"):
        return "path must not be /"
    if not _SAFE_PATH_RE.fullmatch(path):
        return "path %r may only contain letters, digits and _ . @ + - /" % (path,)
    return None


def system_path_problem(path, resolved):
    """Error message when ``path`` (as written, or ``resolved`` as the host resolves it) is a system directory."""
    for candidate in (path, resolved):
        if candidate is None:
            continue
        shown = path if candidate == path else "%s (it resolves to %s)" % (path, candidate)
        if posixpath.normpath(candidate) in SYSTEM_PATHS:
            return ("path %s is a system directory: a tmpfs over it would hide what the host needs "
                    "(choose a directory of its own, such as /run/podsec-secrets)" % shown)
        for tree in SYSTEM_TREES:
            if is_within(candidate, tree):
                return "path %s is below %s, which holds no secrets" % (shown, tree)
    return None


def validate_secret_name(name):
    """Error message for a secret name that is not a plain file name in the mount, or None."""
    if not isinstance(name, str) or not name:
        return "secret name must be a non-empty string"
    if name.startswith("/"):
        return "secret name %r must not be an absolute path" % (name,)
    if "/" in name or "\\" in name:
        return "secret name %r must not contain '/' (no sub-directories, no traversal)" % (name,)
    if ".." in name:
        return "secret name %r must not contain '..'" % (name,)
    if not _NAME_RE.fullmatch(name):
        return ("secret name %r must be 1-253 characters of [A-Za-z0-9_.-] and start with a letter or digit"
                % (name,))
    return None


def resolve_secret_path(mount_path, name):
    """Absolute path of secret ``name`` directly inside ``mount_path``; ValueError if it would escape."""
    error = validate_secret_name(name)
    if error:
        raise ValueError(error)
    root = posixpath.normpath(mount_path)
    target = posixpath.normpath(posixpath.join(root, name))
    if posixpath.dirname(target) != root or not is_within(target, root) or target == root:
        raise ValueError("secret name %r escapes the mount %s" % (name, mount_path))
    return target


def argument_spec():
    """The module's options; the action plugin refuses anything else before the module runs."""
    secret_spec = dict(
        name=dict(type="str", required=True),
        content=dict(type="str", no_log=True),
        content_base64=dict(type="str", no_log=True),
        owner=dict(type="str", default="root"),
        group=dict(type="str", default="root"),
        mode=dict(type="raw", default="0400"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    return dict(
        path=dict(type="path", required=True),
        size=dict(type="str", default="1m"),
        nr_inodes=dict(type="int"),
        mode=dict(type="raw", default="0700"),
        owner=dict(type="str", default="root"),
        group=dict(type="str", default="root"),
        noswap=dict(type="bool", default=True),
        on_no_noswap=dict(type="str", choices=list(ON_NO_NOSWAP_CHOICES), default="fail"),
        manage_mount=dict(type="bool", default=True),
        podman_secrets=dict(type="bool", default=False),
        podman_user=dict(type="str"),
        secrets=dict(type="list", elements="dict", default=[], options=secret_spec, no_log=False,
                     mutually_exclusive=[("content", "content_base64")]),
    )


def unknown_options(args, spec=None):
    """Names (never values) of the options in ``args`` that ``spec`` does not know, ``secrets[N].key`` for items.

    Any of them could be a mistyped ``content`` carrying a secret, which Ansible's own check would echo.
    """
    spec = argument_spec() if spec is None else spec
    unknown = []
    for key in args:
        if not str(key).startswith("_ansible_") and key not in spec:
            unknown.append(str(key))
    items = args.get("secrets")
    options = spec["secrets"]["options"]
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                unknown.extend("secrets[%d].%s" % (index, key) for key in item if key not in options)
    return unknown


def kernel_supports_noswap(release):
    """True when the kernel release is 6.4 or later (tmpfs ``noswap``)."""
    version = parse_kernel_release(release)
    return version is not None and version >= NOSWAP_MIN_KERNEL


def choose_fstype(noswap_wanted, kernel_release, on_no_noswap):
    """Decide how to mount: returns ``(fstype, use_noswap, problem)``.

    ``problem`` is a message when noswap is wanted but unavailable: the caller fails with it for
    ``on_no_noswap=fail`` and warns with it for ``allow_swap``.
    """
    if not noswap_wanted:
        return "tmpfs", False, None
    if kernel_supports_noswap(kernel_release):
        return "tmpfs", True, None
    problem = ("tmpfs noswap needs Linux %d.%d or later, this kernel is %r"
               % (NOSWAP_MIN_KERNEL[0], NOSWAP_MIN_KERNEL[1], kernel_release))
    if on_no_noswap == "ramfs":
        return "ramfs", False, problem
    return "tmpfs", False, problem


def normalize_mode(mode):
    """``'0700'``, ``'700'``, ``0o700`` -> ``0o700``; ValueError for symbolic or out of range modes."""
    if isinstance(mode, int):
        value = mode
    else:
        text = str(mode).strip()
        if not re.fullmatch(r"0?[0-7]{3,4}", text):
            raise ValueError("mode %r must be octal digits such as '0400'" % (mode,))
        value = int(text, 8)
    if value < 0 or value > 0o7777:
        raise ValueError("mode %r is out of range" % (mode,))
    return value


def format_mode(mode):
    return "%04o" % mode


# ---------------------------------------------------------------------------------------------- render

def render_mount_options(fstype, size_bytes=None, nr_inodes=None, mode=0o700, uid=None, gid=None, noswap=False):
    """The ``-o`` argument of mount(8) for a fresh tmpfs or ramfs."""
    options = []
    if fstype == "tmpfs":
        if size_bytes is not None:
            options.append("size=%dk" % (size_pages(size_bytes) * PAGE_SIZE // 1024))
        if nr_inodes is not None:
            options.append("nr_inodes=%d" % nr_inodes)
    options.append("mode=%s" % format_mode(mode))
    if fstype == "tmpfs":
        if uid is not None:
            options.append("uid=%d" % uid)
        if gid is not None:
            options.append("gid=%d" % gid)
        if noswap:
            options.append("noswap")
    options.extend(["nosuid", "nodev", "noexec"])
    return ",".join(options)


def remount_options(entry, size_bytes=None, nr_inodes=None):
    """Options for ``mount -o remount,...`` that bring an existing tmpfs to the wanted limits, or None."""
    if entry.fstype != "tmpfs":
        return None
    changes = []
    if size_bytes is not None and mounted_size_bytes(entry) != size_pages(size_bytes) * PAGE_SIZE:
        changes.append("size=%dk" % (size_pages(size_bytes) * PAGE_SIZE // 1024))
    if nr_inodes is not None:
        current = entry.option("nr_inodes")
        if current is None or str(current) != str(nr_inodes):
            changes.append("nr_inodes=%d" % nr_inodes)
    if not changes:
        return None
    return "remount," + ",".join(changes)


def missing_hardening_flags(entry):
    """The nosuid/nodev/noexec flags an existing mount lacks (they can be added by remount)."""
    return [flag for flag in ("nosuid", "nodev", "noexec") if flag not in entry.options]


def _sh_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def podman_store_dir(mount_path):
    return posixpath.join(mount_path, PODMAN_STORE_DIRNAME)


def shell_driver_options(store_dir):
    """Commands for podman's ``shell`` secret driver keeping values in ``store_dir`` (in the tmpfs).

    podman runs each with ``/bin/sh -c`` and passes its own secret id (not the name) in $SECRET_ID;
    store gets the value on stdin. No command contains a comma or a double quote, so the options
    survive podman's CSV parsing of ``--driver-opts``.
    """
    error = validate_mount_path(store_dir)
    if error:
        raise ValueError(error)
    quoted = _sh_quote(store_dir)
    return {
        "delete": "rm -f %s/$SECRET_ID" % quoted,
        "list": "ls -1 %s" % quoted,
        "lookup": "cat %s/$SECRET_ID" % quoted,
        "store": "umask 077 && cat > %s/.$SECRET_ID.tmp && mv -f %s/.$SECRET_ID.tmp %s/$SECRET_ID"
                 % (quoted, quoted, quoted),
    }


def render_driver_opts(options):
    """``{'list': 'ls', ...}`` -> ``'delete=...,list=...'`` for ``podman secret create --driver-opts``."""
    for key, value in options.items():
        if "," in value or '"' in value or "\n" in value:
            raise ValueError("shell driver option %s must not contain a comma, a double quote or a newline" % key)
    return ",".join("%s=%s" % (key, options[key]) for key in sorted(options))


def parse_podman_secret_inspect(text):
    """``podman secret inspect NAME`` JSON -> ``{'id', 'driver', 'options'}`` or None."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, list):
        if not data:
            return None
        data = data[0]
    if not isinstance(data, dict):
        return None
    spec = data.get("Spec") or {}
    driver = spec.get("Driver") or {}
    return {
        "id": data.get("ID") or "",
        "driver": driver.get("Name") or "",
        "options": dict(driver.get("Options") or {}),
    }


def valid_secret_id(secret_id):
    return bool(_SECRET_ID_RE.fullmatch(secret_id or ""))


# ------------------------------------------------------------------------------------------------ diff

def sha256_digest(data):
    return hashlib.sha256(data).hexdigest()


def digests_equal(left, right):
    """Constant-time comparison of two hex digests (either may be None)."""
    if left is None or right is None:
        return False
    return hmac.compare_digest(left, right)


def secret_summary(name, owner, group, mode, state="present"):
    """One diff line for a secret: never the value, never a digest."""
    if state == "absent":
        return "%s (absent)" % name
    return "%s %s:%s %s" % (name, owner, group, format_mode(mode) if isinstance(mode, int) else mode)


def render_state_text(mount_line, secret_lines):
    lines = [mount_line] + ["  " + line for line in sorted(secret_lines)]
    return "\n".join(lines) + "\n"


def render_diff(path, before_mount, before_lines, after_mount, after_lines):
    """The module's diff: mount line and secret summaries before and after, never a value."""
    return {
        "before_header": "%s (before)" % path, "after_header": "%s (after)" % path,
        "before": render_state_text(before_mount, before_lines), "after": render_state_text(after_mount, after_lines),
    }


# ------------------------------------------------------------------------------------------------ plan
#
# The module reads facts on the host (the mount table, stat results, users, podman's answers),
# asks these functions what to do, and executes the answer. Every refusal is a TmpfsError whose
# message names the option or secret; no message ever contains a value.

class TmpfsError(ValueError):
    """A request or host state the module refuses; the message names the field, never a value."""


def _lookup(func, name, option, what):
    try:
        return func(str(name))
    except KeyError:
        raise TmpfsError("%s %r of %s does not exist on the host" % (option, name, what))


def _secret_data(item, podman_secrets):
    name = item["name"]
    if (item["content"] is None) == (item["content_base64"] is None):
        raise TmpfsError("secret %s: exactly one of content and content_base64 is required" % name)
    if item["content"] is not None:
        data = item["content"].encode("utf-8")
    else:
        try:
            data = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise TmpfsError("secret %s: content_base64 is not valid base64" % name)
    if podman_secrets and not 0 < len(data) < PODMAN_MAX_SECRET_BYTES:
        raise TmpfsError("secret %s: podman secrets must be 1 to %d bytes" % (name, PODMAN_MAX_SECRET_BYTES - 1))
    return data


def _check_item(item, path, params, users):
    name = item["name"]
    target = resolve_secret_path(path, name)
    try:
        mode = normalize_mode(item["mode"])
    except ValueError as exc:
        raise TmpfsError("secret %s: %s" % (name, exc))
    data = _secret_data(item, params["podman_secrets"]) if item["state"] == "present" else None
    return {
        "name": name, "target": target, "state": item["state"], "owner": item["owner"], "group": item["group"],
        "uid": _lookup(users.uid, item["owner"], "owner", "secret %s" % name),
        "gid": _lookup(users.gid, item["group"], "group", "secret %s" % name),
        "mode": mode, "data": data,
    }


def check_request(params, users, mem_total=None):
    """Validate the module's parameters against the host's users; return the request.

    ``users`` answers ``uid(name)``, ``gid(name)`` (digits are ids), ``entry(name)`` (a passwd entry)
    and ``resolve(path)`` (the path as the host resolves it); the first three raise KeyError for an
    unknown name. The request: path (without trailing /), mode, size_bytes, uid, gid, items (one dict
    per secret, with its data), podman_entry (None for root's podman).
    """
    try:
        for option in ("path", "size", "mode", "owner", "group", "podman_user"):
            refuse_control_characters(params[option], option)
        for index, item in enumerate(params["secrets"]):
            for option in ("name", "owner", "group", "mode", "state"):
                refuse_control_characters(item[option], "secrets[%d].%s" % (index, option))
        refuse_long_path(params["path"], "path")
    except InputError as exc:
        raise TmpfsError(str(exc))
    error = validate_mount_path(params["path"])
    path = params["path"].rstrip("/")
    error = error or system_path_problem(path, users.resolve(path))
    if error:
        raise TmpfsError(error)
    try:
        request = {"path": path, "mode": normalize_mode(params["mode"]),
                   "size_bytes": parse_size(params["size"], mem_total)}
    except ValueError as exc:
        raise TmpfsError(str(exc))
    request["uid"] = _lookup(users.uid, params["owner"], "owner", "the mount")
    request["gid"] = _lookup(users.gid, params["group"], "group", "the mount")
    items, seen = [], set()
    for item in params["secrets"]:
        error = validate_secret_name(item["name"])
        if error:
            raise TmpfsError(error)
        if item["name"] in seen:
            raise TmpfsError("secret %r is listed twice" % item["name"])
        seen.add(item["name"])
        items.append(_check_item(item, path, params, users))
    request["items"] = items
    request["podman_entry"] = None
    if params["podman_user"]:
        request["podman_entry"] = _lookup(users.entry, params["podman_user"], "podman_user", "podman")
        if params["manage_mount"] and request["uid"] != request["podman_entry"].pw_uid:
            raise TmpfsError("podman_user %s must own the mount (set owner: %s) to reach its store in %s"
                             % (params["podman_user"], params["podman_user"], path))
    return request


def mount_line(path, fstype, options, owner, group, mode):
    """The diff line of a mount: file system, size and noswap, root directory owner and mode."""
    shown = [opt for opt in options if opt.startswith("size=") or opt == "noswap"]
    return "%s: %s %s %s:%s %s" % (path, fstype, " ".join(shown) or "-", owner, group, format_mode(mode))


def noswap_refusal(entry, params):
    """``(warning, error)`` for an existing tmpfs without noswap (both None when that is fine)."""
    if not params["noswap"] or entry.fstype != "tmpfs" or entry.noswap:
        return None, None
    problem = "the tmpfs at %s is mounted without noswap, and noswap cannot be added by remount" % entry.mountpoint
    if params["on_no_noswap"] == "allow_swap":
        return problem + "; its pages may be written to swap (on_no_noswap=allow_swap)", None
    return None, (problem + ". Unmount it (umount %s) and run again so it is mounted with noswap, or set "
                  "on_no_noswap=allow_swap to accept swap" % entry.mountpoint)


def plan_mount(request, params, facts):
    """Decide what to do about the mount from the host ``facts``; raise TmpfsError to refuse.

    ``facts``: is_link, exists, is_dir, entries (directory entries, when a directory), current (the
    MountEntry at the path or None), holder (the mount holding the resolved path), kernel_release.
    Returns ``{"action": "keep"|"mount"|"remount", "fstype", "options", "noswap", "warnings", "entry"}``;
    ``entry`` is the existing mount that is kept or remounted; a "mount" plan adds ``planned``, the result's
    ``mount`` for it.
    """
    path = request["path"]
    if facts["is_link"]:
        raise TmpfsError("%s is a symlink; refusing to mount or write secrets through it" % path)
    plan = {"action": "keep", "fstype": None, "options": None, "noswap": False, "warnings": [], "entry": None}
    current = facts["current"]
    if not params["manage_mount"]:
        holder = facts["holder"]
        if not facts["is_dir"]:
            raise TmpfsError("%s does not exist (manage_mount=false expects an existing tmpfs or ramfs directory)"
                             % path)
        if holder is None or not holder.in_memory:
            raise TmpfsError("%s is on %s, not on tmpfs or ramfs; refusing to write secrets there"
                             % (path, holder.fstype if holder else "an unknown file system"))
        current = holder
    elif current is None:
        return _plan_fresh_mount(request, params, facts, plan)
    elif not current.in_memory:
        raise TmpfsError("%s is a %s mount, not tmpfs or ramfs; refusing to write secrets there" % (path, current.fstype))
    elif current.device != MOUNT_SOURCE:
        raise TmpfsError("path %s is a %s mount of %s that this module did not make: it neither remounts nor adopts "
                         "it (use manage_mount=false to write secrets into an existing tmpfs)"
                         % (path, current.fstype, current.device))
    warning, error = noswap_refusal(current, params)
    if error:
        raise TmpfsError(error)
    plan.update(entry=current, fstype=current.fstype, noswap=current.noswap, warnings=[warning] if warning else [])
    if params["manage_mount"]:
        remount = remount_options(current, request["size_bytes"], params["nr_inodes"])
        missing = missing_hardening_flags(current)
        if remount or missing:
            plan.update(action="remount", options=",".join([remount or "remount"] + missing))
    return plan


def _plan_fresh_mount(request, params, facts, plan):
    path = request["path"]
    if facts["exists"] and not facts["is_dir"]:
        raise TmpfsError("%s exists and is not a directory" % path)
    if facts["is_dir"] and facts["entries"]:
        raise TmpfsError("path %s is a directory that is not empty: a tmpfs over it would hide its %d entries; "
                         "choose an empty or absent directory" % (path, facts["entries"]))
    fstype, use_noswap, problem = choose_fstype(params["noswap"], facts["kernel_release"], params["on_no_noswap"])
    if problem and params["on_no_noswap"] == "fail":
        raise TmpfsError(problem + ". Refusing to mount %s: use a kernel with tmpfs noswap, or set on_no_noswap=ramfs "
                                   "(no size limit) or on_no_noswap=allow_swap (pages may reach swap)" % path)
    if problem:
        plan["warnings"].append(problem + "; mounting %s as %s%s" % (
            path, fstype, "" if fstype == "ramfs" else " that may be swapped out"))
    options = render_mount_options(fstype, size_bytes=request["size_bytes"], nr_inodes=params["nr_inodes"],
                                   mode=request["mode"], uid=request["uid"], gid=request["gid"], noswap=use_noswap)
    plan.update(action="mount", fstype=fstype, options=options, noswap=use_noswap)
    # The mount as the result reports it until the mount table shows the real one (check mode: for good).
    plan["planned"] = {"path": path, "fstype": fstype, "noswap": use_noswap, "options": options.split(",")}
    return plan


def fresh_mount_problem(entry, plan, path):
    """Error when the mount table does not show what ``plan`` mounted (noswap silently dropped ...), else None."""
    if entry is not None and entry.fstype == plan["fstype"] and (entry.noswap or not plan["noswap"]):
        return None
    return ("%s was mounted but /proc/self/mounts shows %s; unmounted it again (noswap not honoured?)"
            % (path, entry.fstype + " " + ",".join(entry.options) if entry else "no mount"))


def target_problem(target, directory, holder, mount, mount_path):
    """Error unless the secret's (resolved) ``directory`` is the verified in-memory ``mount`` at ``mount_path``."""
    if holder is not None and holder.in_memory and directory == mount_path and holder.mountpoint == mount.mountpoint:
        return None
    return ("target %s is not on the %s mount at %s (found %s); refusing to write it"
            % (target, mount.fstype, mount_path, holder.fstype if holder else "no mount"))


def plan_secret(item, current):
    """What to do with one secret file; ``current`` is None (no file) or a dict of regular (bool), uid,
    gid, mode, owner and group names and digest (None for a file that is not read).

    Returns ``{"action": None|"remove"|"write"|"chown", "before": line|None, "after": line|None}``.
    """
    if current is not None and not current["regular"]:
        raise TmpfsError("secret %s: %s exists and is not a regular file; refusing to replace it"
                         % (item["name"], item["target"]))
    plan = {"action": None, "after": None, "before": None if current is None else secret_summary(
        item["name"], current["owner"], current["group"], current["mode"])}
    if item["state"] == "absent":
        plan["action"] = "remove" if current is not None else None
        return plan
    plan["after"] = secret_summary(item["name"], item["owner"], item["group"], item["mode"])
    if current is None or not digests_equal(current["digest"], sha256_digest(item["data"])):
        plan["action"] = "write"
        plan["after"] += " (new value)" if current is not None else ""
    elif (current["uid"], current["gid"], current["mode"]) != (item["uid"], item["gid"], item["mode"]):
        plan["action"] = "chown"
    return plan


def plan_podman(item, info, wanted_options, read_stored_digest):
    """How to bring podman's registration of one secret in line: None (nothing), "remove", "create",
    "replace" (create --replace over our shell-driver secret) or "recreate" (remove another driver's
    secret with its own driver, so its stored copy goes too, then create).

    ``info`` is ``parse_podman_secret_inspect`` of the current registration (None when there is none);
    ``read_stored_digest(secret_id)`` reads the digest of the value our shell driver store holds for
    it (None when there is none); it is called only for a registration in that store.
    """
    if item["state"] == "absent":
        return "remove" if info is not None else None
    if info is None:
        return "create"
    if info["driver"] != "shell" or info["options"] != wanted_options:
        return "recreate"
    if valid_secret_id(info["id"]) and digests_equal(read_stored_digest(info["id"]), sha256_digest(item["data"])):
        return None
    return "replace"


def plan_store_dir(store, facts, owner):
    """What the shell driver's store directory needs: None (it is a directory of ``owner``, mode 0700),
    else ``{"mkdir": bool}`` (create it when absent, then set owner and mode). ``facts`` is None (absent)
    or a dict with ``dir`` (bool), ``uid`` and ``mode``; raise TmpfsError when something else is in its place."""
    if facts is None:
        return {"mkdir": True}
    if not facts["dir"]:
        raise TmpfsError("%s exists and is not a directory" % store)
    if (facts["uid"], facts["mode"]) == (owner, 0o700):
        return None
    return {"mkdir": False}


def podman_steps(action, name, info, wanted_options):
    """The podman commands that carry out ``plan_podman``'s ``action`` for secret ``name``, in order:
    ``{"argv", "stdin" (the value goes to its standard input), "registers" (a new registration this run
    made, undone when a later step fails), "error"}``. ``info`` is the current registration (or None)."""
    steps = []
    if action in ("remove", "recreate"):
        steps.append({"argv": ["secret", "rm", name], "stdin": False, "registers": False,
                      "error": "podman secret rm %s%s failed" % (
                          name, " (driver %s)" % info["driver"] if action == "recreate" else "")})
    if action in ("create", "replace", "recreate"):
        argv = ["secret", "create", "--driver", "shell", "--driver-opts", render_driver_opts(wanted_options)]
        argv += ["--replace"] if action == "replace" else []
        steps.append({"argv": argv + [name, "-"], "stdin": True, "registers": action != "replace",
                      "error": "podman secret create %s failed" % name})
    return steps


def secret_result(item, changed, registered):
    """One entry of the module's ``secrets`` result."""
    return {"name": item["name"], "path": item["target"], "state": item["state"], "changed": changed,
            "owner": item["owner"], "group": item["group"], "mode": format_mode(item["mode"]),
            "podman_secret": registered}
