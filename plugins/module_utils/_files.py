# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""The atomic-write helpers: write_file_atomic for every file a module changes, replace_text_file for the
diff-then-write of one managed text file, write_private_file for secret values (never through atomic_move),
set_directory_owner_and_mode and make_directory for directories that someone else may swap for a link, and the
reads that go with them."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile


def read_file_bytes(path):
    """Return the content of ``path`` as bytes, or ``None`` when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_file_atomic(module, path, content, mode=None, owner=None, group=None, backup=False):
    """Write ``content`` (bytes) to ``path`` atomically and return the backup path (or None).

    The data goes to a temporary file in the destination directory, which is then renamed over
    ``path`` by ``module.atomic_move``: readers see either the old or the new file, never a half
    written one. Attributes are applied before the rename so the file never exists with loose
    permissions.
    """
    directory = os.path.dirname(path) or "."
    backup_path = None
    if backup and os.path.exists(path):
        backup_path = module.backup_local(path)
    fd, tmp_path = tempfile.mkstemp(prefix=".podsec-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # set_fs_attributes_if_different() reads every key; a list of None keeps the SELinux context as it is.
        file_args = {
            "path": tmp_path,
            "mode": mode,
            "owner": owner,
            "group": group,
            "secontext": [None, None, None, None],
            "attributes": None,
        }
        creating = not os.path.lexists(path)
        if creating and mode is None:
            # What atomic_move() gives a new file (0666 & ~umask), but on the temporary file, before it is visible.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        module.set_fs_attributes_if_different(file_args, False)
        if not creating:
            # Replacing: atomic_move() keeps the destination's SELinux context; the temporary file
            # already carries the requested mode and owner.
            module.atomic_move(tmp_path, path, unsafe_writes=False)
        else:
            # Creating: atomic_move() would chmod the new file to 0666 & ~umask (0644) after the
            # rename, so a 0600 secret-bearing file was world-readable until the attributes were
            # applied again. The temporary file is in the same directory, so a plain rename is
            # atomic and keeps the mode and owner set above.
            try:
                os.rename(tmp_path, path)
            except OSError:
                # File systems that refuse rename(2) here (atomic_move's EPERM/EXDEV/EBUSY workarounds):
                # keep its copy fallback; the attributes are applied again below.
                module.atomic_move(tmp_path, path, unsafe_writes=False)
            else:
                if module.selinux_enabled():
                    module.set_context_if_different(path, module.selinux_default_context(path), False)
        file_args["path"] = path
        module.set_fs_attributes_if_different(file_args, False)
    finally:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
    return backup_path


def text_diff(path, raw_before, text):
    """Ansible's diff of one managed text file: ``raw_before`` (bytes, None when absent) against ``text``
    (str, None when the file is removed), each header naming the path or ``PATH (absent)``."""
    return dict(
        before=raw_before.decode("utf-8", "replace") if raw_before is not None else "",
        after=text or "",
        before_header=path if raw_before is not None else "%s (absent)" % path,
        after_header=path if text is not None else "%s (absent)" % path,
    )


def replace_text_file(module, path, raw_before, text, backup=False):
    """Apply a change to one managed text file: the diff in diff mode and, outside check mode, the write.

    ``text`` (str) is written atomically (a new file gets mode 0644, its missing parent directories 0755;
    an existing file keeps its attributes); ``text=None`` removes the file. Returns what goes into the
    module's result: ``diff`` in diff mode, ``backup_file`` when ``backup`` saved a copy first.
    Call it only when the file changes (image_trust, registries_d).
    """
    result = {}
    if module._diff:
        result["diff"] = text_diff(path, raw_before, text)
    if module.check_mode:
        return result
    backup_path = None
    if text is None:
        if raw_before is not None:
            if backup:
                backup_path = module.backup_local(path)
            os.unlink(path)
    else:
        directory = os.path.dirname(path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        backup_path = write_file_atomic(module, path, text.encode("utf-8"),
                                        mode="0644" if raw_before is None else None, backup=backup)
    if backup_path:
        result["backup_file"] = backup_path
    return result


def file_sha256(path, limit=None):
    """SHA-256 of a regular file, not following symlinks; None when it does not exist, or when it is larger than
    ``limit`` bytes (then it cannot hold the value compared with, and is not read: a sparse file of terabytes
    costs nothing to make on a tmpfs). Opened without blocking, so that a FIFO swapped in cannot hang the caller;
    anything but a regular file fails (OSError). Read in blocks."""
    try:
        fd = _open_own(path, directory=False)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if limit is not None and os.fstat(handle.fileno()).st_size > limit:
            return None
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
        return digest.hexdigest()


def _open_own(path, directory):
    """A read-only descriptor of ``path`` itself (a link there fails with ELOOP), which must be a directory or a
    regular file as asked (else OSError EINVAL)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_DIRECTORY if directory else 0))
    kind = os.fstat(fd).st_mode
    if not (stat.S_ISDIR(kind) if directory else stat.S_ISREG(kind)):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a %s" % ("directory" if directory else "regular file"), path)
    return fd


def set_directory_owner_and_mode(path, uid, gid, mode):
    """chown and chmod the directory ``path`` itself, never what a link there leads to.

    The caller looked at ``path`` (lstat); whoever may write the directory that holds it can swap it for a link
    (to /etc) before the change, and os.chown follows links. Here the change goes through a descriptor opened
    without following one, of a directory (OSError otherwise). ``gid`` -1 leaves the group.
    """
    fd = _open_own(path, directory=True)
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def make_directory(path, uid, gid, mode, parents_mode=0o755):
    """Make the directory ``path`` (absolute; missing parents root's with ``parents_mode``) and give it owner and
    mode, never through a link (selinux_volume_label).

    Whoever may write one of its parents could swap a component for a link (to /etc) while the run goes on, and
    os.makedirs, os.mkdir and os.chown follow links in every component. Here each component is opened relative to
    its parent's descriptor without following a link (ELOOP), missing ones are made there, and the new directory
    gets owner and mode through its own descriptor after a check that it is still the empty 0700 directory just
    made (another directory renamed to its name would be given away; OSError EEXIST). ``gid`` -1 leaves the group.
    """
    parts = [part for part in path.split("/") if part]
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            try:
                os.mkdir(part, 0o700 if last else parents_mode, dir_fd=fd)
            except FileExistsError:
                if last:
                    raise
            child = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        info = os.fstat(fd)
        if info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) != 0o700 or os.listdir(fd):
            raise OSError(errno.EEXIST, "not the empty directory just made", path)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _drop_access_acl(fd):
    try:
        os.removexattr(fd, "system.posix_acl_access")
    except OSError as exc:
        if exc.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def write_private_file(target, data, uid, gid, mode):
    """Write ``data`` to ``target`` atomically with owner and mode set before it is visible (tmpfs_secret).

    The shared write_file_atomic() goes through AnsibleModule.atomic_move(), which copies the old
    file's attributes or applies the umask after the rename; a secret file must never exist with a
    looser mode, so this writes a 0600 temporary file in the same directory, sets owner and mode on the
    descriptor and renames it (same file system, so rename(2) is atomic).
    """
    directory = os.path.dirname(target)
    fd, tmp_path = tempfile.mkstemp(prefix=".podsec-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            # A default ACL of the directory (its owner may set one) is inherited by the new file and takes
            # effect with the group bits of ``mode``: the file keeps no ACL, only owner and mode.
            _drop_access_acl(handle.fileno())
            handle.write(data)
            handle.flush()
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
        os.rename(tmp_path, target)
    finally:
        if os.path.lexists(tmp_path):
            os.unlink(tmp_path)
