# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""The one atomic-write helper every podsec.hardening module uses to change a file."""

from __future__ import annotations

import os
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
