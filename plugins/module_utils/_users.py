# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""The host's users as modules see them: the one listing of home directories (where rootless podman keeps
its storage and reads its per-user configuration), and owner names for ids."""

from __future__ import annotations

import grp
import pwd

LOGIN_UIDS = range(1000, 65534)  # Debian's login users; 65534 is nobody


def home_entries(entries=None, login_only=False):
    """Password database entries (``pwd.getpwall()`` unless ``entries`` is given) with a home directory of
    their own: not empty and not ``/``. With ``login_only``, only root's and login users' (uid 1000 to 65533).
    container_posture takes its rootless users from here (skipping uid 0)."""
    if entries is None:
        entries = pwd.getpwall()
    return [entry for entry in entries
            if entry.pw_dir and entry.pw_dir != "/"
            and (not login_only or entry.pw_uid == 0 or entry.pw_uid in LOGIN_UIDS)]


def home_directories(entries=None, login_only=False, extra=(), environ=None, lookup=pwd.getpwnam):
    """The set of home directories of ``home_entries(entries, login_only)``, plus the absolute paths of ``extra``.

    With ``environ`` (``os.environ``), also ``$HOME`` and the home of ``$SUDO_USER`` (found by ``lookup``;
    an unknown user adds nothing): the homes of the session that runs the module.
    """
    homes = set(entry.pw_dir for entry in home_entries(entries, login_only))
    candidates = list(extra)
    if environ is not None:
        candidates.append(environ.get("HOME"))
        if environ.get("SUDO_USER"):
            try:
                candidates.append(lookup(environ["SUDO_USER"]).pw_dir)
            except KeyError:
                pass
    homes.update(path for path in candidates if path and path.startswith("/") and path != "/")
    return homes


def user_name(uid, lookup=pwd.getpwuid):
    """The user name of ``uid``, or the number as text when the password database has none."""
    try:
        return lookup(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid, lookup=grp.getgrgid):
    """The group name of ``gid``, or the number as text when the group database has none."""
    try:
        return lookup(gid).gr_name
    except KeyError:
        return str(gid)
