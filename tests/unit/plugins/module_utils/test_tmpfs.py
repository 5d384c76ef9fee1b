# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure logic of tmpfs_secret: mount tables as the kernel prints them, path checks, option rendering."""

from __future__ import annotations

import json

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _tmpfs

# Lines as printed by Linux 6.18 inside a Debian 13 test host (tmpfs with noswap mounted by the module).
PROC_MOUNTS = """\
/dev/vda1 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev,size=803420k,nr_inodes=819200,mode=755 0 0
tmpfs /run/podsec-secrets tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700,noswap 0 0
tmpfs /run/sec tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700 0 0
/dev/vda1 /run/sec-evil ext4 rw,relatime 0 0
tmpfs /run/with\\040space tmpfs rw,size=4k,mode=700,noswap 0 0
none /run/ram ramfs rw,relatime,mode=700 0 0
"""

MOUNTINFO = """\
25 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
60 25 0:52 / /run/podsec-secrets rw,nosuid,nodev,noexec,relatime shared:30 - tmpfs podsec-secrets rw,size=1024k,mode=700,noswap
"""


def entries():
    return _tmpfs.parse_mounts(PROC_MOUNTS)


# ---------------------------------------------------------------------------------------------- parse

def test_parse_mounts_fields_and_options():
    mounts = entries()
    assert [m.mountpoint for m in mounts][:4] == ["/", "/proc", "/run", "/run/podsec-secrets"]
    secrets = mounts[3]
    assert secrets.fstype == "tmpfs"
    assert secrets.option("size") == "1024k"
    assert secrets.option("mode") == "700"
    assert secrets.option("noswap") is True
    assert secrets.option("uid") is None
    assert secrets.noswap and secrets.in_memory


def test_parse_mounts_unescapes_octal():
    assert entries()[6].mountpoint == "/run/with space"


def test_parse_mountinfo_merges_superblock_options():
    mounts = _tmpfs.parse_mountinfo(MOUNTINFO)
    assert mounts[1].mountpoint == "/run/podsec-secrets"
    assert mounts[1].fstype == "tmpfs"
    assert mounts[1].noswap
    assert "noexec" in mounts[1].options and "size=1024k" in mounts[1].options


@pytest.mark.parametrize("release, version", [
    ("6.18.44-fc-v669", (6, 18)), ("6.4.0", (6, 4)), ("5.15.0-91-generic", (5, 15)), ("garbage", None), ("", None),
])
def test_parse_kernel_release(release, version):
    assert _tmpfs.parse_kernel_release(release) == version


@pytest.mark.parametrize("release, supported", [
    ("6.4.0", True), ("6.18.44-fc-v669", True), ("7.0", True), ("6.3.13", False), ("5.10.0-28-amd64", False),
    ("weird", False),
])
def test_kernel_supports_noswap(release, supported):
    assert _tmpfs.kernel_supports_noswap(release) is supported


@pytest.mark.parametrize("size, expected", [
    ("1m", 1 << 20), ("512k", 512 << 10), ("2G", 2 << 30), ("4096", 4096), ("1024k", 1 << 20),
])
def test_parse_size(size, expected):
    assert _tmpfs.parse_size(size) == expected


def test_parse_size_percentage_and_errors():
    assert _tmpfs.parse_size("10%", mem_total_bytes=1000) == 100
    for bad in ("1x", "-1m", "0", "", "1.5m"):
        with pytest.raises(ValueError):
            _tmpfs.parse_size(bad)
    with pytest.raises(ValueError):
        _tmpfs.parse_size("10%")


# -------------------------------------------------------------------------------------------- validate

@pytest.mark.parametrize("path, root, inside", [
    ("/run/sec", "/run/sec", True),
    ("/run/sec/a", "/run/sec", True),
    ("/run/sec-evil", "/run/sec", False),
    ("/run/sec-evil/a", "/run/sec", False),
    ("/run/secret", "/run/sec", False),
    ("/run/sec/../sec-evil/a", "/run/sec", False),
    ("/anything", "/", True),
])
def test_is_within_uses_whole_components(path, root, inside):
    assert _tmpfs.is_within(path, root) is inside


def test_find_mount_longest_prefix_not_string_prefix():
    mounts = entries()
    assert _tmpfs.find_mount(mounts, "/run/sec-evil/x").fstype == "ext4"
    assert _tmpfs.find_mount(mounts, "/run/sec/x").mountpoint == "/run/sec"
    assert _tmpfs.find_mount(mounts, "/run/podsec-secrets/db").noswap
    assert _tmpfs.find_mount(mounts, "/var/lib/containers").mountpoint == "/"
    assert _tmpfs.find_mount(mounts, "/run/other").mountpoint == "/run"


def test_stacked_mount_last_one_wins():
    text = PROC_MOUNTS + "/dev/vda1 /run/podsec-secrets ext4 rw 0 0\n"
    mounts = _tmpfs.parse_mounts(text)
    assert _tmpfs.find_mount(mounts, "/run/podsec-secrets/db").fstype == "ext4"
    assert _tmpfs.mount_at(mounts, "/run/podsec-secrets").fstype == "ext4"
    assert _tmpfs.mount_at(mounts, "/run/nothing") is None


@pytest.mark.parametrize("name", ["db_password", "tls.key", "A-1", "x" * 253, "a.b"])
def test_valid_names(name):
    assert _tmpfs.validate_secret_name(name) is None
    assert _tmpfs.resolve_secret_path("/run/sec", name) == "/run/sec/" + name


@pytest.mark.parametrize("name, fragment", [
    ("../etc/shadow", "'/'"),
    ("..", ".."),
    ("a..b", ".."),
    ("/etc/shadow", "absolute"),
    ("sub/file", "'/'"),
    ("..\\x", "'/'"),
    (".hidden", "start with a letter"),
    ("-flag", "start with a letter"),
    ("a,b", "1-253"),
    ("a=b", "1-253"),
    ("x" * 254, "1-253"),
    ("", "non-empty"),
    ("nul\0byte", "1-253"),
    ("newline\n", "1-253"),
])
def test_invalid_names_are_refused(name, fragment):
    error = _tmpfs.validate_secret_name(name)
    assert error is not None and fragment in error
    with pytest.raises(ValueError):
        _tmpfs.resolve_secret_path("/run/sec", name)


@pytest.mark.parametrize("path, ok", [
    ("/run/podsec-secrets", True),
    ("/run/user/1001/secrets", True),
    ("relative/dir", False),
    ("/", False),
    ("/run/../etc", False),
    ("/run//sec", False),
    ("/run/sec,evil", False),
    ("/run/sec'q", False),
    ('/run/sec"q', False),
    ("/run/sec dir", False),
    ("/run/sec\n", False),
])
def test_validate_mount_path(path, ok):
    assert (_tmpfs.validate_mount_path(path) is None) is ok


def test_choose_fstype():
    assert _tmpfs.choose_fstype(True, "6.18.1", "fail") == ("tmpfs", True, None)
    assert _tmpfs.choose_fstype(False, "5.10.0", "fail") == ("tmpfs", False, None)
    fstype, noswap, problem = _tmpfs.choose_fstype(True, "6.1.0-13-amd64", "fail")
    assert (fstype, noswap) == ("tmpfs", False) and "6.4" in problem and "6.1.0-13-amd64" in problem
    assert _tmpfs.choose_fstype(True, "6.1.0", "ramfs")[:2] == ("ramfs", False)
    assert _tmpfs.choose_fstype(True, "6.1.0", "allow_swap")[:2] == ("tmpfs", False)


def test_normalize_mode():
    assert _tmpfs.normalize_mode("0400") == 0o400
    assert _tmpfs.normalize_mode("700") == 0o700
    assert _tmpfs.normalize_mode(0o640) == 0o640
    for bad in ("u+r", "0800", "12", "99999"):
        with pytest.raises(ValueError):
            _tmpfs.normalize_mode(bad)


# ---------------------------------------------------------------------------------------------- render

def test_render_mount_options_tmpfs_noswap():
    assert _tmpfs.render_mount_options("tmpfs", size_bytes=1 << 20, nr_inodes=64, mode=0o700, uid=0, gid=0,
                                       noswap=True) == \
        "size=1024k,nr_inodes=64,mode=0700,uid=0,gid=0,noswap,nosuid,nodev,noexec"


def test_render_mount_options_rounds_to_pages_and_ramfs_has_mode_only():
    assert _tmpfs.render_mount_options("tmpfs", size_bytes=1000, mode=0o700).startswith("size=4k,")
    assert _tmpfs.render_mount_options("ramfs", size_bytes=1 << 20, mode=0o700, uid=5, gid=5, noswap=True) == \
        "mode=0700,nosuid,nodev,noexec"


def test_remount_options():
    secrets = entries()[3]
    assert _tmpfs.remount_options(secrets, size_bytes=1 << 20) is None
    assert _tmpfs.remount_options(secrets, size_bytes=2 << 20) == "remount,size=2048k"
    assert _tmpfs.remount_options(secrets, size_bytes=1 << 20, nr_inodes=100) == "remount,nr_inodes=100"
    assert _tmpfs.remount_options(entries()[7], size_bytes=1) is None  # ramfs has no size
    assert _tmpfs.missing_hardening_flags(entries()[2]) == ["noexec"]


def test_shell_driver_options_keep_values_in_the_store_and_survive_csv():
    opts = _tmpfs.shell_driver_options("/run/podsec-secrets/.podman")
    assert set(opts) == {"delete", "list", "lookup", "store"}
    assert opts["lookup"] == "cat '/run/podsec-secrets/.podman'/$SECRET_ID"
    assert opts["store"].startswith("umask 077 && cat > '/run/podsec-secrets/.podman'/.$SECRET_ID.tmp")
    assert opts["store"].endswith("mv -f '/run/podsec-secrets/.podman'/.$SECRET_ID.tmp '/run/podsec-secrets/.podman'/$SECRET_ID")
    rendered = _tmpfs.render_driver_opts(opts)
    assert rendered.count(",") == 3 and '"' not in rendered
    assert rendered.startswith("delete=rm -f ")
    with pytest.raises(ValueError):
        _tmpfs.render_driver_opts({"store": "cat > a,b"})
    with pytest.raises(ValueError):
        _tmpfs.shell_driver_options("/run/a,b")


def test_parse_podman_secret_inspect():
    # Shape printed by podman 5.4.2 `podman secret inspect NAME`.
    text = json.dumps([{
        "ID": "931b2a06529aa0e39141239b2",
        "Spec": {"Name": "s1", "Driver": {"Name": "shell", "Options": {"list": "ls"}}, "Labels": {}},
    }])
    assert _tmpfs.parse_podman_secret_inspect(text) == {
        "id": "931b2a06529aa0e39141239b2", "driver": "shell", "options": {"list": "ls"}}
    assert _tmpfs.parse_podman_secret_inspect("[]") is None
    assert _tmpfs.parse_podman_secret_inspect("Error: no such secret") is None
    assert _tmpfs.valid_secret_id("931b2a06529aa0e39141239b2")
    assert not _tmpfs.valid_secret_id("../../etc")
    assert not _tmpfs.valid_secret_id("")


# ------------------------------------------------------------------------------------------------ diff

def test_digests():
    digest = _tmpfs.sha256_digest(b"value")
    assert digest == "cd42404d52ad55ccfa9aca4adc828aa5800ad9d385a0671fbcbf724118320619"
    assert _tmpfs.digests_equal(digest, _tmpfs.sha256_digest(b"value"))
    assert not _tmpfs.digests_equal(digest, _tmpfs.sha256_digest(b"other"))
    assert not _tmpfs.digests_equal(None, digest)


def test_summaries_never_carry_values():
    assert _tmpfs.secret_summary("db", "root", "root", 0o400) == "db root:root 0400"
    assert _tmpfs.secret_summary("db", "root", "root", 0o400, state="absent") == "db (absent)"
    assert _tmpfs.render_state_text("/run/s: tmpfs", ["b x:x 0400", "a x:x 0400"]) == \
        "/run/s: tmpfs\n  a x:x 0400\n  b x:x 0400\n"
