#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tmpfs_secret
short_description: Keep secret files in a size-limited, unswappable tmpfs and optionally register them with Podman
version_added: 0.1.0
description:
  - Mounts a tmpfs with C(noswap) (Linux 6.4 and later), a size limit, C(nosuid,nodev,noexec) and a
    restrictive root directory at O(path), and verifies the result in C(/proc/self/mounts).
  - Writes, updates and removes secret files inside that mount atomically (temporary file in the same
    tmpfs, then rename). Refuses any target that is not on tmpfs or ramfs and any name that could escape
    the mount.
  - Never returns, logs or diffs a secret value. Changes are detected by comparing SHA-256 digests of the
    file on the host and of the wanted value; digests are not returned. Diff mode shows names, owners and
    modes only. The module does not write its invocation to the target's journal.
  - The action plugin of the same name refuses to run unless the connection uses pipelining, because
    without pipelining Ansible writes the module and its arguments (the secret) to a temporary
    directory on the target's disk. C(async) is refused for the same reason.
  - Optionally registers every secret with Podman's C(shell) secret driver whose store lives in the same
    tmpfs, so C(podman secret), C(--secret) and Quadlet C(Secret=) work while Podman's secret store holds
    no value.
  - A failure after this run mounted the tmpfs (for example C(No space left on device) when the values do
    not fit O(size)) unmounts it, removes the directory it created and the podman secrets it registered,
    and says so in the message.
  - The action plugin refuses options the module does not know, naming them without their values (a
    mistyped O(secrets[].content) could carry a secret), and drops the module's C(invocation) from the result.
  - Nothing is made persistent (no fstab entry, no mount unit). After a reboot the secrets are gone and the
    next run delivers them again.
author:
  - podsec.hardening contributors (@podsec)
extends_documentation_fragment:
  - podsec.hardening.attributes
  - podsec.hardening.attributes.ALL
options:
  path:
    description:
      - Mount point of the tmpfs holding the secrets. Created (mode C(0700)) when missing.
      - Absolute, normalised, letters, digits and C(_ . @ + - /) only.
      - With O(manage_mount=true) it must be an absent or empty directory, or a tmpfs this module mounted
        (source C(podsec-secrets)); a non-empty directory would be hidden and another tmpfs is neither
        remounted nor adopted (use O(manage_mount=false) for it).
      - System directories are refused, as written and as the host resolves them (symlinks followed), such
        as C(/), C(/etc), C(/usr), C(/var), C(/home), C(/root), C(/boot), C(/run), C(/tmp), C(/var/lib),
        C(/var/lib/containers), C(/dev/shm) and the like, and everything below C(/proc), C(/sys), C(/dev)
        and C(/boot).
    type: path
    required: true
  size:
    description:
      - Size limit of the tmpfs (C(size=) mount option) with an optional C(k), C(m), C(g) suffix, or a
        percentage of the memory. Ignored for ramfs.
      - An existing tmpfs is resized by remount.
    type: str
    default: 1m
  nr_inodes:
    description:
      - Maximum number of inodes of the tmpfs (C(nr_inodes=)). The kernel default when not set.
    type: int
  mode:
    description:
      - Mode of the mount's root directory, as an octal string.
    type: raw
    default: '0700'
  owner:
    description:
      - Owner of the mount's root directory (name or uid).
    type: str
    default: root
  group:
    description:
      - Group of the mount's root directory (name or gid).
    type: str
    default: root
  noswap:
    description:
      - Mount the tmpfs with C(noswap) so its pages never reach a swap device.
      - Needs Linux 6.4 or later; see O(on_no_noswap). C(noswap) cannot be added to a mounted tmpfs.
    type: bool
    default: true
  on_no_noswap:
    description:
      - What to do when O(noswap=true) but C(noswap) is not available (older kernel, or the existing
        mount at O(path) lacks it).
      - V(fail) refuses with a message.
      - V(ramfs) mounts ramfs instead (never swapped, but without a size limit).
      - V(allow_swap) mounts or keeps a tmpfs without C(noswap) and warns.
    type: str
    choices: [fail, ramfs, allow_swap]
    default: fail
  manage_mount:
    description:
      - When V(false), the module does not mount anything, O(path) must already exist on tmpfs or ramfs
        and only the secret files are managed. O(size), O(nr_inodes), O(mode), O(owner), O(group) are
        not applied then.
    type: bool
    default: true
  podman_secrets:
    description:
      - Register every secret with state V(present) as a podman secret of the same name using the
        C(shell) driver, whose C(store) writes the value (from stdin) to C(PATH/.podman/SECRET_ID) in the
        tmpfs and whose C(lookup) reads it from there. Registrations are re-created only when their
        driver options differ or their stored value does not match.
      - Secrets with state V(absent) are removed from Podman too.
      - The value reaches C(podman secret create) through stdin, never through its arguments.
    type: bool
    default: false
  podman_user:
    description:
      - Register the podman secrets for this (rootless) user instead of root. Podman is run as that user
        through C(runuser); O(owner) must be this user so the user can reach the store in the mount.
    type: str
  secrets:
    description:
      - Secret files inside the mount.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - File name inside the mount and podman secret name.
          - 1-253 characters of C([A-Za-z0-9_.-]) starting with a letter or digit, without C(..). No
            C(/), no absolute paths.
        type: str
        required: true
      content:
        description:
          - The secret value (UTF-8 text). Never logged or returned.
          - Exactly one of O(secrets[].content) and O(secrets[].content_base64) is needed when
            O(secrets[].state=present).
        type: str
      content_base64:
        description:
          - The secret value, base64 encoded (for binary values). Never logged or returned.
        type: str
      owner:
        description:
          - Owner of the secret file (name or uid).
        type: str
        default: root
      group:
        description:
          - Group of the secret file (name or gid).
        type: str
        default: root
      mode:
        description:
          - Mode of the secret file, as an octal string.
        type: raw
        default: '0400'
      state:
        description:
          - Whether the secret file (and its podman registration) should exist.
        type: str
        choices: [present, absent]
        default: present
notes:
  - Requires pipelining (C(pipelining = True) in the C([connection]) section of C(ansible.cfg), or the
    host variable C(ansible_pipelining=true)); the action plugin refuses otherwise.
  - Runs as root (mounting needs C(CAP_SYS_ADMIN)).
  - The environment variable C(PODSEC_TMPFS_KERNEL_RELEASE) (task C(environment:)) replaces the kernel
    release used to decide whether C(noswap) is available. It exists for tests; C(noswap) is always
    verified in C(/proc/self/mounts) after mounting.
  - When Podman creates a container with C(--secret NAME,type=mount) it copies the value into the
    container's directory under the graph root for the container's lifetime. Bind-mount the file from
    the tmpfs instead when the value must never reach a disk (see the collection's docs/secrets.md).
seealso:
  - name: tmpfs(5)
    description: tmpfs mount options, including noswap.
    link: https://man7.org/linux/man-pages/man5/tmpfs.5.html
  - name: podman-secret-create(1)
    description: The shell secret driver.
    link: https://docs.podman.io/en/latest/markdown/podman-secret-create.1.html
"""

EXAMPLES = r"""
- name: Deliver two secrets into an unswappable tmpfs and register them with Podman
  podsec.hardening.tmpfs_secret:
    path: /run/podsec-secrets
    size: 1m
    podman_secrets: true
    secrets:
      - name: db_password
        content: "{{ vault_db_password }}"
        owner: "10001"
        mode: "0400"
      - name: tls_key
        content_base64: "{{ vault_tls_key_b64 }}"
  register: delivered

- name: Remove a secret that is no longer used
  podsec.hardening.tmpfs_secret:
    path: /run/podsec-secrets
    secrets:
      - name: old_token
        state: absent

- name: On an old kernel, accept ramfs (no size limit) instead of failing
  podsec.hardening.tmpfs_secret:
    path: /run/podsec-secrets
    on_no_noswap: ramfs
    secrets:
      - name: api_token
        content: "{{ vault_api_token }}"
"""

RETURN = r"""
mount:
  description: The mount holding the secrets, as read back from /proc/self/mounts (planned values in check mode).
  returned: always
  type: dict
  contains:
    path:
      description: The mount point.
      type: str
      sample: /run/podsec-secrets
    fstype:
      description: C(tmpfs) or C(ramfs).
      type: str
      sample: tmpfs
    noswap:
      description: Whether the mount has C(noswap).
      type: bool
      sample: true
    options:
      description: Mount options.
      type: list
      elements: str
      sample: [rw, nosuid, nodev, noexec, relatime, size=1024k, mode=700, noswap]
secrets:
  description: One entry per secret in O(secrets), without values or digests.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Secret name.
      type: str
      sample: db_password
    path:
      description: The secret's file in the mount.
      type: str
      sample: /run/podsec-secrets/db_password
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    changed:
      description: Whether the file or its podman registration changed.
      type: bool
      sample: true
    owner:
      description: Owner of the file.
      type: str
      sample: root
    group:
      description: Group of the file.
      type: str
      sample: root
    mode:
      description: Mode of the file.
      type: str
      sample: '0400'
    podman_secret:
      description: Whether the name is registered as a podman secret (shell driver) after this run.
      type: bool
      sample: true
changed_secrets:
  description: Names whose file or podman registration changed (restart the containers using them).
  returned: always
  type: list
  elements: str
  sample: [db_password]
"""

import base64
import binascii
import errno
import grp
import os
import pwd
import stat
import tempfile

from ansible_collections.podsec.hardening.plugins.module_utils import _inputs, _tmpfs
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule

MOUNTS_FILE = "/proc/self/mounts"
KERNEL_RELEASE_ENV = "PODSEC_TMPFS_KERNEL_RELEASE"


def read_text(path):
    with open(path, "r") as handle:
        return handle.read()


def resolve_uid(name):
    if name.isdigit():
        return int(name)
    return pwd.getpwnam(name).pw_uid


def resolve_gid(name):
    if name.isdigit():
        return int(name)
    return grp.getgrnam(name).gr_gid


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def file_digest(path):
    """SHA-256 of a regular file, not following symlinks; None when it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return _tmpfs.sha256_digest(handle.read())


def write_secret_file(target, data, uid, gid, mode):
    """Write ``data`` to ``target`` atomically, inside the target's own (tmpfs) directory.

    The shared write_file_atomic() goes through AnsibleModule.atomic_move(), which copies the old
    file's attributes or applies the umask after the rename; a secret file must never exist with a
    looser mode, so this writes a 0600 temporary file in the same directory, sets owner and mode on the
    descriptor and renames it (same file system, so rename(2) is atomic).
    """
    directory = os.path.dirname(target)
    fd, tmp_path = tempfile.mkstemp(prefix=".podsec-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
        os.rename(tmp_path, target)
    finally:
        if os.path.lexists(tmp_path):
            os.unlink(tmp_path)


class TmpfsSecret(object):
    """Backend: mount, secret files, podman registrations."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.path = module.params["path"]
        self.check_mode = module.check_mode
        self.changed = False
        self.planned_mount = None
        self.mount = None
        self.results = []
        self.changed_secrets = []
        self.before_lines = []
        self.after_lines = []
        self.before_mount = "%s: not mounted" % self.path
        self.after_mount = None
        # What this run mounted, created and registered: undone when a later step fails.
        self.mounted_here = False
        self.created_dir = False
        self.registered_here = []

    # --------------------------------------------------------------------------------- helpers
    def fail(self, msg):
        undone = self.rollback()
        if undone:
            msg += "; undone: " + ", ".join(undone)
        self.module.fail_json(msg=msg, changed=self.changed and not undone)

    def rollback(self):
        """Remove what this run registered and mounted, so a failed run leaves no half-applied state."""
        undone = []
        for name in reversed(self.registered_here):
            rc, dummy, dummy = self.run_podman("secret", "rm", name)
            if rc == 0:
                undone.append("podman secret %s" % name)
        self.registered_here = []
        if self.mounted_here:
            rc, dummy, dummy = self.run(["umount", self.path])
            if rc == 0:
                undone.append("the mount on %s" % self.path)
                self.mounted_here = False
                if self.created_dir:
                    try:
                        os.rmdir(self.path)
                        undone.append("the directory %s" % self.path)
                    except OSError:
                        pass
        return undone

    def mounts(self):
        return _tmpfs.parse_mounts(read_text(MOUNTS_FILE))

    def kernel_release(self):
        return os.environ.get(KERNEL_RELEASE_ENV) or os.uname().release

    def run(self, argv, **kwargs):
        return self.module.run_command(argv, **kwargs)

    def mount_line(self, entry, uid, gid, mode):
        options = [opt for opt in entry.options if opt.startswith("size=") or opt == "noswap"]
        return "%s: %s %s %s:%s %s" % (self.path, entry.fstype, " ".join(options) or "-",
                                       user_name(uid), group_name(gid), _tmpfs.format_mode(mode))

    # ----------------------------------------------------------------------------- validation
    def validate(self):
        try:
            for option in ("path", "size", "mode", "owner", "group", "podman_user"):
                _inputs.refuse_control_characters(self.params[option], option)
            for index, item in enumerate(self.params["secrets"]):
                for option in ("name", "owner", "group", "mode", "state"):
                    _inputs.refuse_control_characters(item[option], "secrets[%d].%s" % (index, option))
            _inputs.refuse_long_path(self.path, "path")
        except _inputs.InputError as exc:
            self.fail(str(exc))
        error = _tmpfs.validate_mount_path(self.path)
        if error:
            self.fail(error)
        self.path = self.path.rstrip("/")
        error = _tmpfs.system_path_problem(self.path, _inputs.resolve_on_target(self.path))
        if error:
            self.fail(error)
        try:
            self.mode = _tmpfs.normalize_mode(self.params["mode"])
            self.size_bytes = _tmpfs.parse_size(self.params["size"], self.mem_total())
        except ValueError as exc:
            self.fail(str(exc))
        self.uid = self.lookup(resolve_uid, self.params["owner"], "owner", "the mount")
        self.gid = self.lookup(resolve_gid, self.params["group"], "group", "the mount")
        seen = set()
        self.items = []
        for item in self.params["secrets"]:
            name = item["name"]
            error = _tmpfs.validate_secret_name(name)
            if error:
                self.fail(error)
            if name in seen:
                self.fail("secret %r is listed twice" % name)
            seen.add(name)
            self.items.append(self.validate_item(item))
        self.podman_uid = 0
        if self.params["podman_user"]:
            self.podman_uid = self.lookup(lambda name: pwd.getpwnam(name).pw_uid, self.params["podman_user"],
                                          "podman_user", "podman")
            if self.params["manage_mount"] and self.uid != self.podman_uid:
                self.fail("podman_user %s must own the mount (set owner: %s) to reach its store in %s"
                          % (self.params["podman_user"], self.params["podman_user"], self.path))

    def lookup(self, func, name, option, what):
        try:
            return func(str(name))
        except KeyError:
            self.fail("%s %r of %s does not exist on the host" % (option, name, what))

    def validate_item(self, item):
        name = item["name"]
        target = _tmpfs.resolve_secret_path(self.path, name)
        try:
            mode = _tmpfs.normalize_mode(item["mode"])
        except ValueError as exc:
            self.fail("secret %s: %s" % (name, exc))
        data = None
        if item["state"] == "present":
            if (item["content"] is None) == (item["content_base64"] is None):
                self.fail("secret %s: exactly one of content and content_base64 is required" % name)
            if item["content"] is not None:
                data = item["content"].encode("utf-8")
            else:
                try:
                    data = base64.b64decode(item["content_base64"], validate=True)
                except (binascii.Error, ValueError):
                    self.fail("secret %s: content_base64 is not valid base64" % name)
            if self.params["podman_secrets"] and not 0 < len(data) < _tmpfs.PODMAN_MAX_SECRET_BYTES:
                self.fail("secret %s: podman secrets must be 1 to %d bytes"
                          % (name, _tmpfs.PODMAN_MAX_SECRET_BYTES - 1))
        return {
            "name": name,
            "target": target,
            "state": item["state"],
            "owner": item["owner"],
            "group": item["group"],
            "uid": self.lookup(resolve_uid, item["owner"], "owner", "secret %s" % name),
            "gid": self.lookup(resolve_gid, item["group"], "group", "secret %s" % name),
            "mode": mode,
            "data": data,
        }

    def mem_total(self):
        try:
            for line in read_text("/proc/meminfo").splitlines():
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
        return None

    # ---------------------------------------------------------------------------------- mount
    def ensure_mount(self):
        if os.path.islink(self.path):
            self.fail("%s is a symlink; refusing to mount or write secrets through it" % self.path)
        entries = self.mounts()
        current = _tmpfs.mount_at(entries, self.path)
        if not self.params["manage_mount"]:
            self.check_existing(entries)
            return
        if current is None:
            self.mount_fresh()
        else:
            self.before_mount = self.mount_line(current, *self.root_attributes())
            self.adjust_existing(current)
        if self.mount is not None:
            self.ensure_root_attributes()
        self.after_mount = "%s: %s %s %s:%s %s" % (
            self.path, self.planned_mount["fstype"],
            " ".join(o for o in self.planned_mount["options"] if o.startswith("size=") or o == "noswap") or "-",
            user_name(self.uid), group_name(self.gid), _tmpfs.format_mode(self.mode))

    def root_attributes(self):
        st = os.stat(self.path)
        return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)

    def check_existing(self, entries):
        if not os.path.isdir(self.path):
            self.fail("%s does not exist (manage_mount=false expects an existing tmpfs or ramfs directory)" % self.path)
        holder = _tmpfs.find_mount(entries, os.path.realpath(self.path))
        if holder is None or not holder.in_memory:
            self.fail("%s is on %s, not on tmpfs or ramfs; refusing to write secrets there"
                      % (self.path, holder.fstype if holder else "an unknown file system"))
        self.check_noswap(holder)
        self.mount = holder
        self.planned_mount = holder.as_dict()
        self.before_mount = self.after_mount = self.mount_line(holder, *self.root_attributes())

    def check_noswap(self, entry):
        if not self.params["noswap"] or entry.fstype != "tmpfs" or entry.noswap:
            return
        problem = ("the tmpfs at %s is mounted without noswap, and noswap cannot be added by remount"
                   % entry.mountpoint)
        if self.params["on_no_noswap"] == "allow_swap":
            self.module.warn(problem + "; its pages may be written to swap (on_no_noswap=allow_swap)")
            return
        self.fail(problem + ". Unmount it (umount %s) and run again so it is mounted with noswap, or set "
                  "on_no_noswap=allow_swap to accept swap" % entry.mountpoint)

    def mount_fresh(self):
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            self.fail("%s exists and is not a directory" % self.path)
        if os.path.isdir(self.path) and os.listdir(self.path):
            self.fail("path %s is a directory that is not empty: a tmpfs over it would hide its %d entries; "
                      "choose an empty or absent directory" % (self.path, len(os.listdir(self.path))))
        release = self.kernel_release()
        fstype, use_noswap, problem = _tmpfs.choose_fstype(self.params["noswap"], release, self.params["on_no_noswap"])
        if problem:
            if self.params["on_no_noswap"] == "fail":
                self.fail(problem + ". Refusing to mount %s: use a kernel with tmpfs noswap, or set on_no_noswap=ramfs "
                                    "(no size limit) or on_no_noswap=allow_swap (pages may reach swap)" % self.path)
            self.module.warn(problem + "; mounting %s as %s%s" % (
                self.path, fstype, "" if fstype == "ramfs" else " that may be swapped out"))
        options = _tmpfs.render_mount_options(
            fstype, size_bytes=self.size_bytes, nr_inodes=self.params["nr_inodes"], mode=self.mode,
            uid=self.uid, gid=self.gid, noswap=use_noswap)
        self.changed = True
        self.planned_mount = {"path": self.path, "fstype": fstype, "noswap": use_noswap, "options": options.split(",")}
        if self.check_mode:
            return
        if not os.path.isdir(self.path):
            os.makedirs(self.path, 0o700)
            self.created_dir = True
        rc, dummy, err = self.run(["mount", "-t", fstype, "-o", options, _tmpfs.MOUNT_SOURCE, self.path])
        if rc != 0:
            self.fail("mounting %s on %s failed: %s" % (fstype, self.path, err.strip()))
        self.mounted_here = True
        entry = _tmpfs.mount_at(self.mounts(), self.path)
        if entry is None or entry.fstype != fstype or (use_noswap and not entry.noswap):
            self.fail("%s was mounted but /proc/self/mounts shows %s; unmounted it again (noswap not honoured?)"
                      % (self.path, entry.fstype + " " + ",".join(entry.options) if entry else "no mount"))
        self.mount = entry
        self.planned_mount = entry.as_dict()

    def adjust_existing(self, current):
        if not current.in_memory:
            self.fail("%s is a %s mount, not tmpfs or ramfs; refusing to write secrets there" % (self.path, current.fstype))
        if current.device != _tmpfs.MOUNT_SOURCE:
            self.fail("path %s is a %s mount of %s that this module did not make: it neither remounts nor adopts it "
                      "(use manage_mount=false to write secrets into an existing tmpfs)"
                      % (self.path, current.fstype, current.device))
        self.check_noswap(current)
        remount = _tmpfs.remount_options(current, self.size_bytes, self.params["nr_inodes"])
        missing = _tmpfs.missing_hardening_flags(current)
        self.mount = current
        self.planned_mount = current.as_dict()
        if not remount and not missing:
            return
        options = remount or "remount"
        if missing:
            options += "," + ",".join(missing)
        self.changed = True
        if self.check_mode:
            return
        rc, dummy, err = self.run(["mount", "-o", options, self.path])
        if rc != 0:
            self.fail("remounting %s with %s failed: %s" % (self.path, options, err.strip()))
        self.mount = _tmpfs.mount_at(self.mounts(), self.path)
        self.planned_mount = self.mount.as_dict()

    def ensure_root_attributes(self):
        uid, gid, mode = self.root_attributes()
        if (uid, gid, mode) == (self.uid, self.gid, self.mode):
            return
        self.changed = True
        if not self.check_mode:
            os.chown(self.path, self.uid, self.gid)
            os.chmod(self.path, self.mode)

    def verify_target(self, target):
        """The secret's directory must be the verified in-memory mount itself."""
        if self.mount is None:
            return  # check mode before the first mount: nothing exists yet
        directory = os.path.realpath(os.path.dirname(target))
        holder = _tmpfs.find_mount(self.mounts(), directory)
        if (holder is None or not holder.in_memory or directory != os.path.realpath(self.path)
                or holder.mountpoint != self.mount.mountpoint):
            self.fail("target %s is not on the %s mount at %s (found %s); refusing to write it"
                      % (target, self.mount.fstype, self.path, holder.fstype if holder else "no mount"))

    # -------------------------------------------------------------------------------- secrets
    def ensure_secrets(self):
        for item in self.items:
            self.ensure_secret(item)

    def ensure_secret(self, item):
        target = item["target"]
        self.verify_target(target)
        st = None
        if self.mount is not None:
            try:
                st = os.lstat(target)
            except FileNotFoundError:
                st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            self.fail("secret %s: %s exists and is not a regular file; refusing to replace it" % (item["name"], target))
        if st is not None:
            self.before_lines.append(_tmpfs.secret_summary(
                item["name"], user_name(st.st_uid), group_name(st.st_gid), stat.S_IMODE(st.st_mode)))
        changed = False
        if item["state"] == "absent":
            if st is not None:
                changed = True
                if not self.check_mode:
                    os.unlink(target)
        else:
            summary = _tmpfs.secret_summary(item["name"], item["owner"], item["group"], item["mode"])
            wanted = _tmpfs.sha256_digest(item["data"])
            current = file_digest(target) if st is not None else None
            if not _tmpfs.digests_equal(current, wanted):
                changed = True
                summary += " (new value)" if st is not None else ""
                if not self.check_mode:
                    write_secret_file(target, item["data"], item["uid"], item["gid"], item["mode"])
            elif (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (item["uid"], item["gid"], item["mode"]):
                changed = True
                if not self.check_mode:
                    os.chown(target, item["uid"], item["gid"])
                    os.chmod(target, item["mode"])
            self.after_lines.append(summary)
        podman_registered = False
        if self.params["podman_secrets"]:
            podman_changed, podman_registered = self.ensure_podman(item)
            changed = changed or podman_changed
        if changed:
            self.changed = True
            self.changed_secrets.append(item["name"])
        self.results.append({
            "name": item["name"],
            "path": target,
            "state": item["state"],
            "changed": changed,
            "owner": item["owner"],
            "group": item["group"],
            "mode": _tmpfs.format_mode(item["mode"]),
            "podman_secret": podman_registered,
        })

    # --------------------------------------------------------------------------------- podman
    def podman_argv(self, *args):
        """podman for root, or ``runuser -u USER -- env ... podman`` for a rootless user.

        The user's environment is rebuilt with env(1): the variables of root's session (its
        XDG_RUNTIME_DIR, its D-Bus address) would make rootless podman use root's runtime directory.
        """
        podman = self.module.get_bin_path("podman", required=True)
        if not self.params["podman_user"]:
            return [podman] + list(args)
        runuser = self.module.get_bin_path("runuser", required=True)
        env = self.module.get_bin_path("env", required=True)
        entry = pwd.getpwuid(self.podman_uid)
        runtime_dir = "/run/user/%d" % self.podman_uid
        argv = [runuser, "-u", entry.pw_name, "--", env, "-u", "DBUS_SESSION_BUS_ADDRESS"]
        if os.path.isdir(runtime_dir):
            argv.append("XDG_RUNTIME_DIR=" + runtime_dir)
        else:
            argv.extend(["-u", "XDG_RUNTIME_DIR"])
        argv.extend(["HOME=" + entry.pw_dir, "USER=" + entry.pw_name, "LOGNAME=" + entry.pw_name, podman])
        return argv + list(args)

    def run_podman(self, *args, **kwargs):
        # cwd /: rootless podman re-executes itself in a user namespace and must be able to enter the cwd
        return self.run(self.podman_argv(*args), cwd="/", **kwargs)

    def podman_inspect(self, name):
        rc, out, dummy = self.run_podman("secret", "inspect", name)
        if rc != 0:
            return None
        return _tmpfs.parse_podman_secret_inspect(out)

    def ensure_store_dir(self, store):
        try:
            st = os.lstat(store)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            self.fail("%s exists and is not a directory" % store)
        if st is not None and (st.st_uid, stat.S_IMODE(st.st_mode)) == (self.podman_uid, 0o700):
            return False
        if not self.check_mode:
            if st is None:
                os.mkdir(store, 0o700)
            os.chown(store, self.podman_uid, -1)
            os.chmod(store, 0o700)
        return True

    def ensure_podman(self, item):
        """Returns (changed, registered after this run)."""
        name = item["name"]
        store = _tmpfs.podman_store_dir(self.path)
        if self.mount is None:  # check mode, nothing mounted yet: everything would be created
            return item["state"] == "present", item["state"] == "present"
        info = self.podman_inspect(name)
        if item["state"] == "absent":
            if info is None:
                return False, False
            if not self.check_mode:
                rc, dummy, err = self.run_podman("secret", "rm", name)
                if rc != 0:
                    self.fail("podman secret rm %s failed: %s" % (name, err.strip()))
            return True, False
        changed = self.ensure_store_dir(store)
        wanted_opts = _tmpfs.shell_driver_options(store)
        if info is not None and info["driver"] == "shell" and info["options"] == wanted_opts:
            if _tmpfs.valid_secret_id(info["id"]) and _tmpfs.digests_equal(
                    file_digest(os.path.join(store, info["id"])), _tmpfs.sha256_digest(item["data"])):
                return changed, True
            replace = True
        else:
            replace = False
        if self.check_mode:
            return True, True
        if info is not None and not replace:
            # another driver (for example podman's default file driver): remove it with its own driver
            # so its stored copy goes too, then register the shell driver.
            rc, dummy, err = self.run_podman("secret", "rm", name)
            if rc != 0:
                self.fail("podman secret rm %s (driver %s) failed: %s" % (name, info["driver"], err.strip()))
        argv = ["secret", "create", "--driver", "shell", "--driver-opts", _tmpfs.render_driver_opts(wanted_opts)]
        if replace:
            argv.append("--replace")
        rc, dummy, err = self.run_podman(*(argv + [name, "-"]), data=item["data"], binary_data=True)
        if rc != 0:
            self.fail("podman secret create %s failed: %s" % (name, err.strip()))
        if info is None or not replace:
            self.registered_here.append(name)
        info = self.podman_inspect(name)
        if info is None or not _tmpfs.valid_secret_id(info["id"]) or not _tmpfs.digests_equal(
                file_digest(os.path.join(store, info["id"])), _tmpfs.sha256_digest(item["data"])):
            self.fail("podman secret %s was created but its value is not in %s" % (name, store))
        return True, True

    # ------------------------------------------------------------------------------------ act
    def diff(self):
        return {
            "before_header": "%s (before)" % self.path,
            "after_header": "%s (after)" % self.path,
            "before": _tmpfs.render_state_text(self.before_mount, self.before_lines),
            "after": _tmpfs.render_state_text(self.after_mount or self.before_mount, self.after_lines),
        }

    def result(self):
        return {
            "changed": self.changed,
            "mount": self.planned_mount,
            "secrets": self.results,
            "changed_secrets": self.changed_secrets,
            "diff": self.diff(),
        }


def main():
    module = PodsecModule(
        argument_spec=_tmpfs.argument_spec(),
        supports_check_mode=True,
        # Do not write the invocation to the target's journal: the heuristic masking of no_log values
        # works on repr() text and can miss parts of multi-line values.
        no_log=True,
    )
    backend = TmpfsSecret(module)
    try:
        backend.validate()
        backend.ensure_mount()
        backend.ensure_secrets()
    except OSError as exc:
        # ENOSPC when the values do not fit the size, EACCES, ...: name the file, never the value.
        backend.fail("%s: %s%s" % (exc.filename or backend.path, exc.strerror or exc,
                                   " (the secrets do not fit: raise size)" if exc.errno == errno.ENOSPC else ""))
    module.exit_json(**backend.result())


if __name__ == "__main__":
    main()
