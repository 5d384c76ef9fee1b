# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""The one way this collection runs a command as a rootless user, and reads the podman version.

A command run for a rootless user from root's session must not inherit root's session: root's
``XDG_RUNTIME_DIR`` or D-Bus address would point rootless podman at root's runtime directory and
state. So the command runs through ``runuser -u USER -- env -i`` with a rebuilt environment: a fixed
``PATH``, the user's ``HOME``, ``USER`` and ``LOGNAME``, ``LC_ALL=C`` (stable output to parse) and the
user's ``XDG_RUNTIME_DIR`` only when ``/run/user/UID`` exists (a session or lingering). Rootless
podman re-executes itself in a user namespace and must be able to enter the working directory, so
callers run it from ``/`` (``USER_CWD``).
"""

from __future__ import annotations

import contextlib
import os

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
USER_CWD = "/"


def runtime_dir(uid):
    """The user's systemd runtime directory, where rootless podman keeps its runtime state."""
    return "/run/user/%d" % uid


def user_environment(entry, has_runtime_dir):
    """The whole environment (``NAME=value`` list) of a command run as the passwd ``entry``."""
    environment = ["PATH=" + CLEAN_PATH, "HOME=" + entry.pw_dir, "USER=" + entry.pw_name,
                   "LOGNAME=" + entry.pw_name, "LC_ALL=C"]
    if has_runtime_dir:
        environment.append("XDG_RUNTIME_DIR=" + runtime_dir(entry.pw_uid))
    return environment


def user_prefix(runuser, env, entry, has_runtime_dir):
    """argv prefix that runs a command as the passwd ``entry`` with only ``user_environment``."""
    return [runuser, "-u", entry.pw_name, "--", env, "-i"] + user_environment(entry, has_runtime_dir)


def as_user(module, entry, required=True):
    """``user_prefix`` for ``entry`` on this host; ``[]`` for no entry (root's own command).

    With ``required=False`` a missing runuser or env gives ``None`` instead of failing the module.
    """
    if entry is None:
        return []
    runuser = module.get_bin_path("runuser", required=required)
    env = module.get_bin_path("env", required=required)
    if not runuser or not env:
        return None
    return user_prefix(runuser, env, entry, os.path.isdir(runtime_dir(entry.pw_uid)))


def podman_version(module, prefix=()):
    """``(version text, None)`` from ``podman version``, ``(None, reason)`` when it cannot be read.

    ``(None, None)`` when podman is not installed.
    """
    podman = module.get_bin_path("podman")
    if not podman:
        return None, None
    rc, out, err = module.run_command(list(prefix) + [podman, "version", "--format", "{{.Client.Version}}"],
                                      cwd=USER_CWD)
    if rc != 0 or not out.strip():
        return None, err.strip() or "rc=%d" % rc
    return out.strip(), None


@contextlib.contextmanager
def owner_rights(entry):
    """Run the block's file operations with the effective user and group of the passwd ``entry``, not root's.

    A rootless user controls every path under their home: ``~/.config/containers/systemd`` made a symlink to
    ``/etc/containers/systemd``, or a unit file linked to ``/etc/shadow``, would make root write, read or delete
    there. With the user's effective ids (and only the user's primary group) the kernel refuses whatever the
    user could not do themself, however the path is swapped in between. No-op for root's own files (``entry`` is
    None) and when the module does not run as root (it already has only its own rights).
    """
    if entry is None or os.geteuid() != 0:
        yield
        return
    groups = os.getgroups()
    os.setgroups([entry.pw_gid])
    os.setegid(entry.pw_gid)
    os.seteuid(entry.pw_uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)
