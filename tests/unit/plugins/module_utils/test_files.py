# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""write_file_atomic(): the destination never exists with a mode other than the requested one."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import struct

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.podsec.hardening.plugins.module_utils import _files


@pytest.fixture
def module():
    with patch_module_args({}):
        return basic.AnsibleModule(argument_spec={}, supports_check_mode=True)


@pytest.fixture
def observed_modes(monkeypatch, tmp_path):
    """Record the destination's mode after every rename/chmod/chown made while writing it."""
    dest = tmp_path / "secret.conf"
    seen = []

    def spy(name):
        real = getattr(os, name)

        def wrapper(*args, **kwargs):
            result = real(*args, **kwargs)
            if os.path.lexists(dest):
                seen.append((name, stat.S_IMODE(os.lstat(dest).st_mode)))
            return result
        return wrapper

    for name in ("rename", "chmod", "chown", "replace"):
        monkeypatch.setattr(os, name, spy(name))
    return dest, seen


@pytest.mark.parametrize("exists", [False, True], ids=["create", "replace"])
def test_destination_never_has_another_mode(module, observed_modes, exists):
    dest, seen = observed_modes
    if exists:
        dest.write_bytes(b"old\n")
        os.chmod(dest, 0o600)
        seen.clear()
    _files.write_file_atomic(module, str(dest), b"new\n", mode="0600")
    assert dest.read_bytes() == b"new\n"
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    # The rename itself was observed, so the list below is not vacuously empty.
    assert any(name in ("rename", "replace") for name, _mode in seen)
    assert {mode for _name, mode in seen} == {0o600}, seen
    assert [p.name for p in dest.parent.iterdir()] == ["secret.conf"]


def test_backup_keeps_old_content(module, tmp_path):
    dest = tmp_path / "policy.json"
    dest.write_bytes(b"old\n")
    backup = _files.write_file_atomic(module, str(dest), b"new\n", mode="0644", backup=True)
    assert backup and open(backup, "rb").read() == b"old\n"
    assert dest.read_bytes() == b"new\n"


def test_new_file_without_mode_gets_the_umask_default(module, tmp_path):
    # Same result as atomic_move() gave a created file, not mkstemp()'s 0600.
    dest = tmp_path / "registries.yaml"
    old = os.umask(0o022)
    try:
        _files.write_file_atomic(module, str(dest), b"docker: {}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o644


def test_creation_falls_back_to_atomic_move_when_rename_is_refused(module, tmp_path, monkeypatch):
    dest = tmp_path / "policy.json"
    real_rename = os.rename
    moved = []

    def refuse_first(src, dst):
        if not moved:
            moved.append(dst)
            raise PermissionError(1, "Operation not permitted")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", refuse_first)
    _files.write_file_atomic(module, str(dest), b"{}\n", mode="0640")
    assert moved == [str(dest)]
    assert dest.read_bytes() == b"{}\n"
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["policy.json"]


def make_module(check_mode=False, diff=False):
    with patch_module_args({"_ansible_check_mode": check_mode, "_ansible_diff": diff}):
        return basic.AnsibleModule(argument_spec={}, supports_check_mode=True)


def test_replace_text_file_creates_parents_and_a_0644_file(tmp_path):
    dest = tmp_path / "registries.d" / "sub" / "podsec.yaml"
    result = _files.replace_text_file(make_module(diff=True), str(dest), None, "docker: {}\n")
    assert dest.read_text() == "docker: {}\n"
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(dest.parent).st_mode) & 0o755 == 0o755
    assert result == {"diff": {"before": "", "after": "docker: {}\n", "before_header": "%s (absent)" % dest,
                               "after_header": str(dest)}}


def test_replace_text_file_keeps_an_existing_mode_and_backs_up(tmp_path):
    dest = tmp_path / "policy.json"
    dest.write_bytes(b"old\n")
    os.chmod(dest, 0o640)
    result = _files.replace_text_file(make_module(), str(dest), b"old\n", "new\n", backup=True)
    assert dest.read_text() == "new\n" and stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert open(result["backup_file"], "rb").read() == b"old\n"
    assert "diff" not in result


def test_replace_text_file_removes_with_backup(tmp_path):
    dest = tmp_path / "podsec.yaml"
    dest.write_bytes(b"docker: {}\n")
    result = _files.replace_text_file(make_module(diff=True), str(dest), b"docker: {}\n", None, backup=True)
    assert not dest.exists()
    assert open(result["backup_file"], "rb").read() == b"docker: {}\n"
    assert result["diff"]["after_header"] == "%s (absent)" % dest and result["diff"]["after"] == ""


@pytest.mark.parametrize("text", ["new\n", None], ids=["write", "remove"])
def test_replace_text_file_check_mode_touches_nothing(tmp_path, text):
    dest = tmp_path / "policy.json"
    dest.write_bytes(b"old\n")
    result = _files.replace_text_file(make_module(check_mode=True, diff=True), str(dest), b"old\n", text, backup=True)
    assert dest.read_bytes() == b"old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["policy.json"]
    assert result["diff"]["before"] == "old\n" and "backup_file" not in result


def test_set_directory_owner_and_mode_changes_the_directory_it_was_given(tmp_path):
    store = tmp_path / "store"
    store.mkdir(0o700)
    _files.set_directory_owner_and_mode(str(store), os.getuid(), -1, 0o710)
    assert stat.S_IMODE(store.stat().st_mode) == 0o710


def test_set_directory_owner_and_mode_never_follows_a_link_swapped_in(tmp_path):
    """Whoever may write the parent can put a link to a directory of root's (/etc) where the directory was, between
    the caller's look and the change. The change fails; the link's target is untouched."""
    etc = tmp_path / "etc"
    etc.mkdir(0o755)
    store = tmp_path / "store"
    store.symlink_to(etc)
    with pytest.raises(OSError) as raised:
        _files.set_directory_owner_and_mode(str(store), os.getuid(), os.getgid(), 0o777)
    assert raised.value.errno in (errno.ELOOP, errno.ENOTDIR)
    assert stat.S_IMODE(etc.stat().st_mode) == 0o755
    # Control: os.chown and os.chmod, as the modules changed it before, follow the link and open it to all.
    os.chown(str(store), os.getuid(), os.getgid())
    os.chmod(str(store), 0o777)
    assert stat.S_IMODE(etc.stat().st_mode) == 0o777


def test_set_directory_owner_and_mode_refuses_a_fifo_or_a_file_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo), 0o600)
    plain = tmp_path / "file"
    plain.write_text("")
    plain.chmod(0o600)
    for path in (fifo, plain):
        with pytest.raises(OSError) as raised:
            _files.set_directory_owner_and_mode(str(path), os.getuid(), os.getgid(), 0o644)
        assert raised.value.errno in (errno.EINVAL, errno.ENOTDIR)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A FIFO swapped in for a file to hash neither blocks nor counts as a file.
    with pytest.raises(OSError):
        _files.file_sha256(str(fifo))


def test_make_directory_makes_the_parents_and_gives_the_directory_its_owner_and_mode(tmp_path):
    target = tmp_path / "srv" / "app" / "data"
    _files.make_directory(str(target), os.getuid(), -1, 0o750)
    assert stat.S_IMODE(target.stat().st_mode) == 0o750 and target.parent.is_dir()
    with pytest.raises(FileExistsError):
        _files.make_directory(str(target), os.getuid(), -1, 0o750)


def test_make_directory_never_follows_a_link_in_a_parent(tmp_path):
    """selinux_volume_label: whoever owns /srv/app can swap /srv/app/vol for a link to /etc while the run goes on;
    the volume directory must not be made (and given away) in /etc."""
    etc = tmp_path / "etc"
    etc.mkdir()
    app = tmp_path / "app"
    app.mkdir()
    (app / "vol").symlink_to(etc)
    with pytest.raises(OSError) as raised:
        _files.make_directory(str(app / "vol" / "data"), os.getuid(), -1, 0o777)
    assert raised.value.errno in (errno.ELOOP, errno.ENOTDIR)
    assert list(etc.iterdir()) == []
    # Control: os.makedirs, as the module made it before, follows the link.
    os.makedirs(str(app / "vol" / "data"))
    assert (etc / "data").is_dir()


def test_make_directory_gives_away_only_the_empty_directory_it_just_made(tmp_path, monkeypatch):
    """Right after the mkdir, the owner of the parent renames another directory (with keys in it) to its name."""
    keys = tmp_path / "conf"
    keys.mkdir(0o700)
    (keys / "key").write_text("secret")
    real_mkdir = os.mkdir

    def mkdir_then_swap(name, mode=0o777, *, dir_fd=None):
        real_mkdir(name, mode, dir_fd=dir_fd)
        if name == "data":
            os.rmdir(str(tmp_path / "data"))
            os.rename(str(keys), str(tmp_path / "data"))
    monkeypatch.setattr(os, "mkdir", mkdir_then_swap)
    with pytest.raises(OSError) as raised:
        _files.make_directory(str(tmp_path / "data"), os.getuid(), -1, 0o777)
    assert raised.value.errno == errno.EEXIST
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    # Control: the change without that check would open it to all.
    _files.set_directory_owner_and_mode(str(tmp_path / "data"), os.getuid(), -1, 0o777)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o777


def _acl(*entries):
    """A POSIX ACL in the kernel's xattr form (version 2; entries of tag, permissions, id)."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, ident) for tag, perm, ident in entries)


def test_a_secret_keeps_no_acl_the_directory_owner_set_as_default(tmp_path):
    """The owner of the secrets' directory sets a default ACL naming itself; a new file inherits it, and the group
    read bit of the secret's mode would make it effective: the written file carries no ACL at all."""
    user_obj, user, group_obj, mask, other = 0x01, 0x02, 0x04, 0x10, 0x20
    default = _acl((user_obj, 7, 0xFFFFFFFF), (user, 7, 65534), (group_obj, 7, 0xFFFFFFFF), (mask, 7, 0xFFFFFFFF),
                   (other, 0, 0xFFFFFFFF))
    os.setxattr(str(tmp_path), "system.posix_acl_default", default)
    target = tmp_path / "api_token"
    _files.write_private_file(str(target), b"root-only", 0, 0, 0o440)
    with pytest.raises(OSError) as raised:
        os.getxattr(str(target), "system.posix_acl_access")
    assert raised.value.errno == errno.ENODATA
    # Control: a file made there the plain way carries the named entry for uid 65534.
    plain = tmp_path / "plain"
    plain.write_text("")
    assert struct.pack("<HHI", user, 7, 65534) in os.getxattr(str(plain), "system.posix_acl_access")


def test_a_file_larger_than_the_value_is_not_read(tmp_path):
    """A sparse file of any size costs nothing on a tmpfs; hashing it would read all of it."""
    big = tmp_path / "db_password"
    with open(str(big), "wb") as handle:
        handle.truncate(1 << 40)
    assert _files.file_sha256(str(big), limit=64) is None
    small = tmp_path / "small"
    small.write_bytes(b"x" * 64)
    assert _files.file_sha256(str(small), limit=64) == hashlib.sha256(b"x" * 64).hexdigest()
