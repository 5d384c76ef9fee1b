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


@pytest.fixture
def linked_home(tmp_path):
    """A rootless user's home in which the user made ~/.config/containers/systemd a link to a root-only
    directory (standing for /etc/containers/systemd) and a unit file a link to a root-only secret."""
    if os.geteuid() != 0:
        pytest.fail("these tests switch user ids: run the unit tests as root (as the test command does)")
    tmp_path.chmod(0o755)
    entry = pwd.struct_passwd(("mallory", "x", 4242, 4242, "", str(tmp_path / "home"), "/bin/sh"))
    rootful = tmp_path / "etc-containers-systemd"
    rootful.mkdir(mode=0o755)
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$canary\n")
    secret.chmod(0o600)
    config = tmp_path / "home" / ".config" / "containers"
    config.mkdir(parents=True)
    for path in (tmp_path / "home", tmp_path / "home" / ".config", config):
        os.chown(path, 4242, 4242)
    (config / "systemd").symlink_to(rootful)
    (rootful / "old.container").symlink_to(secret)
    return entry, config / "systemd", rootful


def test_owner_rights_stop_a_write_through_the_users_link_into_a_root_directory(linked_home):
    entry, units, rootful = linked_home
    with pytest.raises(PermissionError):
        with _runas.owner_rights(entry):
            (units / "evil.container").write_text("[Container]\nImage=x\n")
    assert not (rootful / "evil.container").exists()
    # Control: with root's rights the same write lands in the root-owned directory (the attack works).
    (units / "evil.container").write_text("[Container]\nImage=x\n")
    assert (rootful / "evil.container").exists()


def test_owner_rights_stop_a_read_and_a_delete_through_the_users_links(linked_home):
    entry, units, rootful = linked_home
    with _runas.owner_rights(entry):
        with pytest.raises(PermissionError):
            (units / "old.container").read_text()
        with pytest.raises(PermissionError):
            os.unlink(str(units / "old.container"))
    assert os.path.lexists(str(rootful / "old.container"))
    # Control: root reads the secret through the user's links.
    assert "canary" in (units / "old.container").read_text()


def test_owner_rights_give_root_back_its_ids_even_after_an_error(linked_home):
    entry = linked_home[0]
    groups = os.getgroups()
    with pytest.raises(RuntimeError):
        with _runas.owner_rights(entry):
            assert (os.geteuid(), os.getegid(), os.getgroups()) == (4242, 4242, [4242])
            raise RuntimeError("inside")
    assert (os.geteuid(), os.getegid(), os.getgroups()) == (0, 0, groups)
    with _runas.owner_rights(None):
        assert os.geteuid() == 0
