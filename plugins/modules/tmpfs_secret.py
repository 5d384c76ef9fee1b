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

import errno
import grp
import os
import pwd
import stat

from ansible_collections.podsec.hardening.plugins.module_utils import _inputs, _runas, _tmpfs
from ansible_collections.podsec.hardening.plugins.module_utils._files import (
    file_sha256,
    set_directory_owner_and_mode,
    write_private_file,
)
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule
from ansible_collections.podsec.hardening.plugins.module_utils._users import group_name, user_name

MOUNTS_FILE = "/proc/self/mounts"
KERNEL_RELEASE_ENV = "PODSEC_TMPFS_KERNEL_RELEASE"


class Users(object):
    """The host's users and paths as ``_tmpfs.check_request`` asks for them (KeyError for unknown names)."""

    @staticmethod
    def uid(name):
        return int(name) if name.isdigit() else pwd.getpwnam(name).pw_uid

    @staticmethod
    def gid(name):
        return int(name) if name.isdigit() else grp.getgrnam(name).gr_gid

    entry = staticmethod(pwd.getpwnam)
    resolve = staticmethod(_inputs.resolve_on_target)


def mem_total():
    """MemTotal of /proc/meminfo in bytes, None when unknown (a size in percent then fails)."""
    try:
        with open("/proc/meminfo") as handle:
            return _tmpfs.parse_meminfo(handle.read())
    except OSError:
        return None


class TmpfsSecret(object):
    """Reads the facts, executes the plans of ``_tmpfs``, and undoes its own steps when a later one fails."""

    def __init__(self, module, request):
        self.module, self.params, self.request = module, module.params, request
        self.path = request["path"]
        self.check_mode = module.check_mode
        self.changed = False
        self.mount = self.planned_mount = self.after_mount = None
        self.before_mount = "%s: not mounted" % self.path
        self.before_lines, self.after_lines, self.results, self.changed_secrets = [], [], [], []
        # What this run mounted, created and registered: undone when a later step fails.
        self.mounted_here = self.created_dir = False
        self.registered_here = []

    def fail(self, msg):
        undone = self.rollback()
        if undone:
            msg += "; undone: " + ", ".join(undone)
        self.module.fail_json(msg=msg, changed=self.changed and not undone)

    def rollback(self):
        """Remove what this run registered and mounted, so a failed run leaves no half-applied state."""
        undone = []
        for name in reversed(self.registered_here):
            if self.run_podman("secret", "rm", name)[0] == 0:
                undone.append("podman secret %s" % name)
        self.registered_here = []
        if self.mounted_here and self.run(["umount", self.path])[0] == 0:
            undone.append("the mount on %s" % self.path)
            self.mounted_here = False
            if self.created_dir:
                try:
                    os.rmdir(self.path)
                    undone.append("the directory %s" % self.path)
                except OSError:
                    pass
        return undone

    def run(self, argv, **kwargs):
        return self.module.run_command(argv, **kwargs)

    def mounts(self):
        with open(MOUNTS_FILE) as handle:
            return _tmpfs.parse_mounts(handle.read())

    def root_attributes(self):
        st = os.stat(self.path)
        return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)

    def mount_line(self, mount, uid, gid, mode):
        return _tmpfs.mount_line(self.path, mount["fstype"], mount["options"], user_name(uid), group_name(gid), mode)

    # ---------------------------------------------------------------------------------- mount
    def ensure_mount(self):
        entries, is_dir = self.mounts(), os.path.isdir(self.path)
        plan = _tmpfs.plan_mount(self.request, self.params, {
            "is_link": os.path.islink(self.path), "exists": os.path.exists(self.path), "is_dir": is_dir,
            "entries": len(os.listdir(self.path)) if is_dir else 0,
            "current": _tmpfs.mount_at(entries, self.path),
            "holder": _tmpfs.find_mount(entries, os.path.realpath(self.path)),
            "kernel_release": os.environ.get(KERNEL_RELEASE_ENV) or os.uname().release,
        })
        for warning in plan["warnings"]:
            self.module.warn(warning)
        if plan["action"] == "mount":
            self.mount_fresh(plan)
        else:
            self.mount, self.planned_mount = plan["entry"], plan["entry"].as_dict()
            self.before_mount = self.mount_line(self.planned_mount, *self.root_attributes())
            if not self.params["manage_mount"]:
                self.after_mount = self.before_mount
                return
            if plan["action"] == "remount":
                self.changed = True
                if not self.check_mode:
                    rc, dummy, err = self.run(["mount", "-o", plan["options"], self.path])
                    if rc != 0:
                        self.fail("remounting %s with %s failed: %s" % (self.path, plan["options"], err.strip()))
                    self.mount = _tmpfs.mount_at(self.mounts(), self.path)
                    self.planned_mount = self.mount.as_dict()
        if self.mount is not None and self.root_attributes() != (self.request["uid"], self.request["gid"],
                                                                 self.request["mode"]):
            self.changed = True
            if not self.check_mode:
                self.set_directory_owner_and_mode(self.path, self.request["uid"], self.request["gid"],
                                                  self.request["mode"])
        self.after_mount = self.mount_line(self.planned_mount, self.request["uid"], self.request["gid"],
                                           self.request["mode"])

    def mount_fresh(self, plan):
        self.changed = True
        self.planned_mount = plan["planned"]
        if self.check_mode:
            return
        if not os.path.isdir(self.path):
            os.makedirs(self.path, 0o700)
            self.created_dir = True
        rc, dummy, err = self.run(["mount", "-t", plan["fstype"], "-o", plan["options"], _tmpfs.MOUNT_SOURCE, self.path])
        if rc != 0:
            self.fail("mounting %s on %s failed: %s" % (plan["fstype"], self.path, err.strip()))
        self.mounted_here = True
        entry = _tmpfs.mount_at(self.mounts(), self.path)
        problem = _tmpfs.fresh_mount_problem(entry, plan, self.path)
        if problem:
            self.fail(problem)
        self.mount, self.planned_mount = entry, entry.as_dict()

    def set_directory_owner_and_mode(self, path, uid, gid, mode):
        """Never through a link: the owner of the secrets may swap what was looked at
        (_files.set_directory_owner_and_mode)."""
        try:
            set_directory_owner_and_mode(path, uid, gid, mode)
        except OSError as exc:
            self.fail("cannot set the owner and mode of %s (not the directory looked at a moment ago: %s)"
                      % (path, exc.strerror))

    @staticmethod
    def replace_secret_file(target, item):
        """A new file (a fresh inode, owner and mode set before it has the name) also when only owner or mode
        differ. The secrets' owner may write their directory: between the look and a chown of the existing file
        it could rename another secret (root's) or a link to its name, and the chown would hand that over."""
        write_private_file(target, item["data"], item["uid"], item["gid"], item["mode"])

    # -------------------------------------------------------------------------------- secrets
    @staticmethod
    def file_facts(target, size=None):
        """What ``plan_secret`` and ``plan_store_dir`` look at (lstat: a link is not followed); None when absent.
        The digest only of a regular file of at most ``size`` bytes (the value's): a larger one cannot hold it."""
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            return None
        regular = stat.S_ISREG(st.st_mode)
        return {"regular": regular, "dir": stat.S_ISDIR(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
                "mode": stat.S_IMODE(st.st_mode), "owner": user_name(st.st_uid), "group": group_name(st.st_gid),
                "digest": file_sha256(target, limit=size) if regular and size is not None else None}

    def ensure_secret(self, item):
        target, current = item["target"], None
        if self.mount is not None:  # else check mode before the first mount: nothing exists yet
            directory = os.path.realpath(os.path.dirname(target))
            problem = _tmpfs.target_problem(target, directory, _tmpfs.find_mount(self.mounts(), directory),
                                            self.mount, os.path.realpath(self.path))
            if problem:
                self.fail(problem)
            current = self.file_facts(target, len(item["data"] or b""))
        plan = _tmpfs.plan_secret(item, current)
        self.before_lines.extend(line for line in [plan["before"]] if line)
        self.after_lines.extend(line for line in [plan["after"]] if line)
        if plan["action"] and not self.check_mode:
            if plan["action"] == "remove":
                os.unlink(target)
            else:
                self.replace_secret_file(target, item)
        changed, registered = bool(plan["action"]), False
        if self.params["podman_secrets"]:
            podman_changed, registered = self.ensure_podman(item)
            changed = changed or podman_changed
        if changed:
            self.changed = True
            self.changed_secrets.append(item["name"])
        self.results.append(_tmpfs.secret_result(item, changed, registered))

    # --------------------------------------------------------------------------------- podman
    def run_podman(self, *args, **kwargs):
        """podman for root, or podman as podman_user through ``_runas`` (from cwd /)."""
        argv = _runas.as_user(self.module, self.request["podman_entry"]) + [
            self.module.get_bin_path("podman", required=True)] + list(args)
        return self.run(argv, cwd=_runas.USER_CWD, **kwargs)

    def podman_inspect(self, name):
        rc, out, dummy = self.run_podman("secret", "inspect", name)
        return _tmpfs.parse_podman_secret_inspect(out) if rc == 0 else None

    def ensure_store_dir(self, store):
        owner = self.request["podman_entry"].pw_uid if self.request["podman_entry"] else 0
        plan = _tmpfs.plan_store_dir(store, self.file_facts(store), owner)
        if plan is not None and not self.check_mode:
            if plan["mkdir"]:
                os.mkdir(store, 0o700)
            self.set_directory_owner_and_mode(store, owner, -1, 0o700)
        return plan is not None

    def ensure_podman(self, item):
        """Returns (changed, registered after this run)."""
        name, present = item["name"], item["state"] == "present"
        if self.mount is None:  # check mode, nothing mounted yet: everything would be created
            return present, present
        store = _tmpfs.podman_store_dir(self.path)
        changed = self.ensure_store_dir(store) if present else False
        wanted = _tmpfs.shell_driver_options(store)
        info = self.podman_inspect(name)

        def stored_digest(secret_id):
            # The store is the podman user's: a file larger than the value is not read (see _files.file_sha256).
            return file_sha256(os.path.join(store, secret_id), limit=len(item["data"] or b""))
        action = _tmpfs.plan_podman(item, info, wanted, stored_digest)
        if action is None or self.check_mode:
            return changed or action is not None, present
        for step in _tmpfs.podman_steps(action, name, info, wanted):
            stdin = {"data": item["data"], "binary_data": True} if step["stdin"] else {}
            rc, dummy, err = self.run_podman(*step["argv"], **stdin)
            if rc != 0:
                self.fail("%s: %s" % (step["error"], err.strip()))
            if step["registers"]:
                self.registered_here.append(name)
        if action == "remove":
            return True, False
        if _tmpfs.plan_podman(item, self.podman_inspect(name), wanted, stored_digest) is not None:
            self.fail("podman secret %s was created but its value is not in %s" % (name, store))
        return True, True

    def result(self):
        return {"changed": self.changed, "mount": self.planned_mount, "secrets": self.results,
                "changed_secrets": self.changed_secrets,
                "diff": _tmpfs.render_diff(self.path, self.before_mount, self.before_lines,
                                           self.after_mount or self.before_mount, self.after_lines)}


def main():
    module = PodsecModule(
        argument_spec=_tmpfs.argument_spec(),
        supports_check_mode=True,
        # Do not write the invocation to the target's journal: the heuristic masking of no_log values
        # works on repr() text and can miss parts of multi-line values.
        no_log=True,
    )
    try:
        backend = TmpfsSecret(module, _tmpfs.check_request(module.params, Users, mem_total()))
    except _tmpfs.TmpfsError as exc:
        module.fail_json(msg=str(exc), changed=False)
    try:
        backend.ensure_mount()
        for item in backend.request["items"]:
            backend.ensure_secret(item)
    except _tmpfs.TmpfsError as exc:
        backend.fail(str(exc))
    except OSError as exc:
        # ENOSPC when the values do not fit the size, EACCES, ...: name the file, never the value.
        backend.fail("%s: %s%s" % (exc.filename or backend.path, exc.strerror or exc,
                                   " (the secrets do not fit: raise size)" if exc.errno == errno.ENOSPC else ""))
    module.exit_json(**backend.result())


if __name__ == "__main__":
    main()
