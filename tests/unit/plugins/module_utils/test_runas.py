# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""_runas: the one way to run a command as a rootless user (issue 23)."""

from __future__ import annotations

import os
import pwd
import subprocess

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _runas

ALICE = pwd.struct_passwd(("alice", "x", 1234, 1234, "", "/home/alice", "/bin/sh"))


def test_prefix_rebuilds_the_whole_environment():
    prefix = _runas.user_prefix("/usr/sbin/runuser", "/usr/bin/env", ALICE, has_runtime_dir=True)
    assert prefix[:6] == ["/usr/sbin/runuser", "-u", "alice", "--", "/usr/bin/env", "-i"]
    assert prefix[6:] == ["PATH=" + _runas.CLEAN_PATH, "HOME=/home/alice", "USER=alice", "LOGNAME=alice",
                          "LC_ALL=C", "XDG_RUNTIME_DIR=/run/user/1234"]


def test_no_runtime_dir_means_no_xdg_runtime_dir_at_all():
    """Without /run/user/UID root's XDG_RUNTIME_DIR must not leak through, nor a made-up one appear."""
    prefix = _runas.user_prefix("runuser", "env", ALICE, has_runtime_dir=False)
    assert not [item for item in prefix if item.startswith("XDG_RUNTIME_DIR")]


def test_the_env_part_really_drops_roots_session():
    """Run the environment part with the real env(1): root's D-Bus address and runtime dir are gone."""
    env_argv = _runas.user_prefix("runuser", "/usr/bin/env", ALICE, has_runtime_dir=False)[4:]
    session = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/0/bus", XDG_RUNTIME_DIR="/run/user/0")
    out = subprocess.run(env_argv, env=session, capture_output=True, text=True, check=True).stdout
    assert sorted(out.splitlines()) == sorted(_runas.user_environment(ALICE, False))
    # Control: without the prefix the command sees root's session.
    plain = subprocess.run(["/usr/bin/env"], env=session, capture_output=True, text=True, check=True).stdout
    assert "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/0/bus" in plain.splitlines()


class FakeModule(object):
    def __init__(self, bins, answer=(0, "5.4.2\n", "")):
        self.bins = bins
        self.answer = answer
        self.calls = []

    def get_bin_path(self, name, required=False):
        if name not in self.bins and required:
            raise AssertionError("required %s missing" % name)
        return self.bins.get(name)

    def run_command(self, argv, cwd=None):
        self.calls.append((argv, cwd))
        return self.answer


def test_as_user_for_root_is_empty_and_none_without_runuser():
    module = FakeModule({"env": "/usr/bin/env"})
    assert _runas.as_user(module, None) == []
    assert _runas.as_user(module, ALICE, required=False) is None
    module.bins["runuser"] = "/usr/sbin/runuser"
    assert _runas.as_user(module, ALICE)[:3] == ["/usr/sbin/runuser", "-u", "alice"]


@pytest.mark.parametrize("answer, expected", [
    ((0, "5.4.2\n", ""), ("5.4.2", None)),
    ((125, "", "cannot connect\n"), (None, "cannot connect")),
    ((1, "", ""), (None, "rc=1")),
])
def test_podman_version(answer, expected):
    module = FakeModule({"podman": "/usr/bin/podman"}, answer)
    assert _runas.podman_version(module, ["PREFIX"]) == expected
    assert module.calls == [(["PREFIX", "/usr/bin/podman", "version", "--format", "{{.Client.Version}}"], "/")]
    assert _runas.podman_version(FakeModule({})) == (None, None)
