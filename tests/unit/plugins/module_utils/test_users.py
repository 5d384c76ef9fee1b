# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_users: the one list of home directories (image_trust's per-user policy files, selinux_volume_label's refusals)."""

from __future__ import annotations

import pwd

from ansible_collections.podsec.hardening.plugins.module_utils import _users


def entry(name, uid, home):
    return pwd.struct_passwd((name, "x", uid, uid, "", home, "/bin/sh"))


ENTRIES = [
    entry("root", 0, "/root"),
    entry("daemon", 1, "/usr/sbin"),
    entry("sync", 4, "/"),
    entry("web", 998, "/srv/web"),
    entry("alice", 1000, "/home/alice"),
    entry("bob", 65533, "/home/bob"),
    entry("nobody", 65534, "/nonexistent"),
    entry("ghost", 1001, ""),
]


def test_every_real_home_by_default():
    assert _users.home_directories(ENTRIES) == {
        "/root", "/usr/sbin", "/srv/web", "/home/alice", "/home/bob", "/nonexistent"}


def test_login_only_keeps_root_and_login_users():
    assert _users.home_directories(ENTRIES, login_only=True) == {"/root", "/home/alice", "/home/bob"}
    # the entries themselves, for callers that need the user (container_posture skips uid 0)
    assert [e.pw_name for e in _users.home_entries(ENTRIES, login_only=True)] == ["root", "alice", "bob"]


def test_extra_paths_are_added_when_absolute():
    homes = _users.home_directories([], extra=["/root", "/home/carol", "relative", "/", ""])
    assert homes == {"/root", "/home/carol"}


def test_the_session_homes_come_from_the_environment():
    def lookup(name):
        if name == "alice":
            return ENTRIES[4]
        raise KeyError(name)
    environ = {"HOME": "/var/lib/runner", "SUDO_USER": "alice"}
    assert _users.home_directories([], environ=environ, lookup=lookup) == {"/var/lib/runner", "/home/alice"}
    # an unknown SUDO_USER or no HOME adds nothing, and nothing fails
    assert _users.home_directories([], environ={"SUDO_USER": "mallory"}, lookup=lookup) == set()
    # without environ the process environment is not read
    assert _users.home_directories([], lookup=lookup) == set()


def test_defaults_to_the_password_database():
    assert pwd.getpwuid(0).pw_dir in _users.home_directories()


def test_names_fall_back_to_the_number():
    def unknown(_number):
        raise KeyError(_number)
    assert _users.user_name(0) == "root" and _users.user_name(4242, lookup=unknown) == "4242"
    assert _users.group_name(0) == "root" and _users.group_name(4242, lookup=unknown) == "4242"
