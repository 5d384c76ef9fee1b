# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module tests for tmpfs_secret with a fake host at the command boundary.

Real files in tmp_path stand for the tmpfs; the mount table is a file the fake ``mount``/``umount``
commands edit, so the module reads back what "the kernel" shows. The fake ``podman`` keeps secret
metadata in memory like podman 5.4 does in secrets.json and really runs the shell driver commands the
module registers (``/bin/sh -c`` with $SECRET_ID and the value on stdin), so the store/lookup/delete
commands are exercised for real against the fake tmpfs.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets as pysecrets
import stat
import subprocess

import pytest

from ansible.module_utils import basic

from ansible_collections.podsec.hardening.plugins.modules import tmpfs_secret as mod
from ansible_collections.podsec.hardening.tests.unit.plugins.modules.utils import ExitJson, FailJson, patch_module, run_main

VALUE = "s3cr3t-" + pysecrets.token_hex(24)
VALUE2 = "n3w-" + pysecrets.token_hex(24)
ROOT_LINES = ["/dev/vda1 / ext4 rw,relatime 0 0"]


class FakeHost(object):
    def __init__(self, mounts_file):
        self.mounts_file = mounts_file
        self.lines = list(ROOT_LINES)
        self.calls = []
        self.stdin = []
        self.podman = {}
        self.noswap_honoured = True
        self.write()

    def write(self):
        with open(self.mounts_file, "w") as handle:
            handle.write("\n".join(self.lines) + "\n")

    def add_mount(self, line):
        self.lines.append(line)
        self.write()

    # ------------------------------------------------------------------ commands
    def run_command(self, args, data=None, binary_data=False, environ_update=None, **kwargs):
        args = list(args)
        self.calls.append(args)
        if data is not None:
            self.stdin.append((args, data, binary_data))
        if args[0].endswith("runuser"):
            args = args[args.index("--") + 1:]
            assert args[0].endswith("env")
            args = args[[os.path.basename(a) for a in args].index("podman"):]
        prog = os.path.basename(args[0])
        if prog == "mount":
            return self.mount(args[1:])
        if prog == "umount":
            self.lines = [line for line in self.lines if line.split()[1] != args[1]]
            self.write()
            return 0, "", ""
        if prog == "podman":
            return self.podman_cmd(args[1:], data)
        raise AssertionError("unexpected command %r" % args)

    def mount(self, args):
        if args[0] == "-t":
            fstype, options, path = args[1], args[3], args[5]
            shown = ["rw"] + [o for o in options.split(",") if not o.startswith(("uid=0", "gid=0"))]
            if not self.noswap_honoured:
                shown = [o for o in shown if o != "noswap"]
            self.add_mount("%s %s %s %s 0 0" % (args[4], path, fstype, ",".join(shown)))
            return 0, "", ""
        options, path = args[1].split(","), args[2]
        assert options[0] == "remount"
        for index, line in enumerate(self.lines):
            fields = line.split()
            if fields[1] == path:
                current = fields[3].split(",")
                for opt in options[1:]:
                    key = opt.split("=")[0]
                    current = [c for c in current if c.split("=")[0] != key] + [opt]
                fields[3] = ",".join(current)
                self.lines[index] = " ".join(fields)
        self.write()
        return 0, "", ""

    def driver(self, opts, command, secret_id, data=None):
        env = dict(os.environ, SECRET_ID=secret_id)
        proc = subprocess.run(["/bin/sh", "-c", opts[command]], input=data, env=env, capture_output=True, check=False)
        return proc.returncode, proc.stdout

    def podman_cmd(self, args, data):
        assert args[0] == "secret"
        if args[1] == "inspect":
            info = self.podman.get(args[2])
            if info is None:
                return 125, "[]", "Error: inspecting secret: no secret with name or id %r: no such secret" % args[2]
            return 0, json.dumps([{"ID": info["id"], "Spec": {"Name": args[2], "Driver": {
                "Name": info["driver"], "Options": info["options"]}}}]), ""
        if args[1] == "rm":
            info = self.podman.pop(args[2])
            if info["driver"] == "shell":
                self.driver(info["options"], "delete", info["id"])
            return 0, info["id"], ""
        assert args[1] == "create"
        assert args[-1] == "-", "the value must come from stdin"
        name = args[-2]
        opts = {}
        driver = "file"
        replace = "--replace" in args
        if "--driver" in args:
            driver = args[args.index("--driver") + 1]
        if "--driver-opts" in args:
            for pair in args[args.index("--driver-opts") + 1].split(","):
                key, value = pair.split("=", 1)
                opts[key] = value
        if name in self.podman:
            if not replace:
                return 125, "", "Error: %s: secret name in use" % name
            old = self.podman[name]
            self.driver(old["options"], "delete", old["id"])
        secret_id = pysecrets.token_hex(13)[:25]
        self.podman[name] = {"id": secret_id, "driver": driver, "options": opts}
        if driver == "shell":
            rc, dummy = self.driver(opts, "store", secret_id, data)
            assert rc == 0
        return 0, secret_id, ""

    def podman_lookup(self, name):
        info = self.podman[name]
        rc, out = self.driver(info["options"], "lookup", info["id"])
        return out if rc == 0 else None

    def podman_creates(self):
        return [c for c in self.calls if c[-4:-2] != [] and "create" in c]


@pytest.fixture
def host(tmp_path, monkeypatch):
    mounts_file = tmp_path / "mounts"
    fake = FakeHost(str(mounts_file))
    monkeypatch.setattr(mod, "MOUNTS_FILE", str(mounts_file))
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, args, **kw: fake.run_command(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **kw: "/usr/bin/" + name)
    monkeypatch.delenv(mod.KERNEL_RELEASE_ENV, raising=False)
    monkeypatch.setattr(mod.os, "uname", lambda: os.uname_result(("Linux", "h", "6.18.44-fc-v669", "#1", "x86_64")))

    patch_module(monkeypatch)
    fake.root = str(tmp_path / "sec")
    return fake


def run_module(args, check=False, diff=True):
    result = run_main(mod.main, args, check, diff, expect=(ExitJson, FailJson))
    return "failed" if result["failed"] else "ok", result


def secret(name="db_password", content=VALUE, **kw):
    item = {"name": name, "content": content}
    item.update(kw)
    return item


def args_for(host, *items, **kw):
    args = {"path": host.root, "secrets": list(items)}
    args.update(kw)
    return args


def assert_no_value(result, *values):
    text = json.dumps(result)
    for value in values:
        assert value not in text


# -------------------------------------------------------------------------------------- mounting

def test_fresh_mount_with_noswap_and_secret_files(host):
    status, result = run_module(args_for(host, secret(), secret("api_token", VALUE2, mode="0440", group="0")))
    assert status == "ok" and result["changed"] is True
    mount_calls = [c for c in host.calls if c[0] == "mount"]
    assert mount_calls == [["mount", "-t", "tmpfs", "-o",
                            "size=1024k,mode=0700,uid=0,gid=0,noswap,nosuid,nodev,noexec", "podsec-secrets", host.root]]
    assert result["mount"]["fstype"] == "tmpfs" and result["mount"]["noswap"] is True
    assert "size=1024k" in result["mount"]["options"]
    path = os.path.join(host.root, "db_password")
    with open(path, "rb") as handle:
        assert handle.read() == VALUE.encode()
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o400 and st.st_uid == 0
    assert stat.S_IMODE(os.stat(os.path.join(host.root, "api_token")).st_mode) == 0o440
    assert stat.S_IMODE(os.stat(host.root).st_mode) == 0o700
    assert sorted(result["changed_secrets"]) == ["api_token", "db_password"]
    assert [s["name"] for s in result["secrets"]] == ["db_password", "api_token"]
    assert result["diff"]["after"].count("root:root 0400") == 1 and "api_token root:0 0440" in result["diff"]["after"]
    assert_no_value(result, VALUE, VALUE2)
    assert not [f for f in os.listdir(host.root) if f.startswith(".podsec-")], "temporary files left behind"


def test_second_run_changes_nothing(host):
    run_module(args_for(host, secret()))
    host.calls.clear()
    status, result = run_module(args_for(host, secret()))
    assert status == "ok" and result["changed"] is False
    assert result["changed_secrets"] == []
    assert host.calls == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_new_value_is_detected_by_digest_and_written_atomically(host):
    run_module(args_for(host, secret()))
    path = os.path.join(host.root, "db_password")
    inode = os.stat(path).st_ino
    status, result = run_module(args_for(host, secret(content=VALUE2)))
    assert status == "ok" and result["changed"] and result["changed_secrets"] == ["db_password"]
    with open(path, "rb") as handle:
        assert handle.read() == VALUE2.encode()
    assert os.stat(path).st_ino != inode, "the file must be replaced by rename, not rewritten in place"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
    assert "db_password root:root 0400 (new value)" in result["diff"]["after"]
    assert_no_value(result, VALUE, VALUE2)


def test_mode_and_owner_change_only(host):
    run_module(args_for(host, secret()))
    status, result = run_module(args_for(host, secret(mode="0440", owner="12345")))
    assert status == "ok" and result["changed"]
    st = os.stat(os.path.join(host.root, "db_password"))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (12345, 0o440)
    assert "db_password root:root 0400" in result["diff"]["before"]
    assert "db_password 12345:root 0440" in result["diff"]["after"]


def swap_after_the_look(monkeypatch, swap):
    """The secrets' owner changes what is at db_password right after the module looked at it (lstat, digest)."""
    real = mod.TmpfsSecret.file_facts

    def look_then_swap(path, size=None):
        facts = real(path, size)
        if facts and facts["regular"] and os.path.basename(path) == "db_password":
            swap(path)
        return facts
    monkeypatch.setattr(mod.TmpfsSecret, "file_facts", staticmethod(look_then_swap))


def chown_in_place(target, item):
    """The change as the module made it before: os.chown and os.chmod of the path looked at."""
    os.chown(target, item["uid"], item["gid"])
    os.chmod(target, item["mode"])


@pytest.mark.parametrize("protected", [True, False], ids=["attack", "control: chown in place"])
def test_a_link_swapped_in_after_the_look_is_replaced_not_followed(host, tmp_path, monkeypatch, protected):
    run_module(args_for(host, secret()))
    shadow = tmp_path / "shadow"
    shadow.write_text("root:*:")
    shadow.chmod(0o600)

    def link(path):
        os.unlink(path)
        os.symlink(str(shadow), path)
    swap_after_the_look(monkeypatch, link)
    if not protected:
        monkeypatch.setattr(mod.TmpfsSecret, "replace_secret_file", staticmethod(chown_in_place))
    status, result = run_module(args_for(host, secret(mode="0444")))
    assert status == "ok", result
    target = os.path.join(host.root, "db_password")
    if protected:
        assert stat.S_IMODE(shadow.stat().st_mode) == 0o600
        assert not os.path.islink(target) and stat.S_IMODE(os.lstat(target).st_mode) == 0o444
    else:
        assert stat.S_IMODE(shadow.stat().st_mode) == 0o444


@pytest.mark.parametrize("protected", [True, False], ids=["attack", "control: chown in place"])
def test_another_secret_renamed_in_after_the_look_is_not_handed_over(host, monkeypatch, protected):
    """The owner of the secrets' directory renames root's api_token to the name of its own secret, whose owner
    the run changes: a chown of what is at that name would give root's secret to that owner."""
    run_module(args_for(host, secret(), secret("api_token", VALUE2)))
    swap_after_the_look(monkeypatch, lambda path: os.rename(os.path.join(host.root, "api_token"), path))
    if not protected:
        monkeypatch.setattr(mod.TmpfsSecret, "replace_secret_file", staticmethod(chown_in_place))
    status, result = run_module(args_for(host, secret(owner="12345"), secret("api_token", VALUE2)))
    target = os.path.join(host.root, "db_password")
    owned = open(target).read(), os.stat(target).st_uid
    if protected:
        assert status == "ok", result
        assert owned == (VALUE, 12345)
        # root's secret is back under its own name, root's (the run writes it again).
        api = os.path.join(host.root, "api_token")
        assert (open(api).read(), os.stat(api).st_uid) == (VALUE2, 0)
    else:
        assert owned == (VALUE2, 12345)


def test_content_base64_and_absent(host):
    status, result = run_module(args_for(host, {"name": "db_password", "content_base64": "AAEC/w=="}))
    assert status == "ok", result
    with open(os.path.join(host.root, "db_password"), "rb") as handle:
        assert handle.read() == b"\x00\x01\x02\xff"
    status, result = run_module(args_for(host, {"name": "db_password", "state": "absent"}))
    assert status == "ok" and result["changed"]
    assert not os.path.exists(os.path.join(host.root, "db_password"))
    status, result = run_module(args_for(host, {"name": "db_password", "state": "absent"}))
    assert result["changed"] is False


def test_check_mode_mounts_and_writes_nothing(host):
    status, result = run_module(args_for(host, secret()), check=True)
    assert status == "ok" and result["changed"] is True
    assert host.calls == []
    assert not os.path.exists(host.root)
    assert result["mount"]["noswap"] is True


def test_check_mode_on_mounted_tmpfs_predicts_change_without_writing(host):
    run_module(args_for(host, secret()))
    status, result = run_module(args_for(host, secret(content=VALUE2)), check=True)
    assert result["changed"] is True
    with open(os.path.join(host.root, "db_password"), "rb") as handle:
        assert handle.read() == VALUE.encode()


def test_resize_by_remount_and_root_mode_fix(host):
    run_module(args_for(host, secret()))
    os.chmod(host.root, 0o755)
    host.calls.clear()
    status, result = run_module(args_for(host, secret(), size="2m"))
    assert status == "ok" and result["changed"]
    assert host.calls == [["mount", "-o", "remount,size=2048k", host.root]]
    assert stat.S_IMODE(os.stat(host.root).st_mode) == 0o700
    assert "size=2048k" in result["mount"]["options"]


# -------------------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("name", ["../escape", "/etc/shadow", "sub/dir", "..", "a..b", ".podman"])
def test_traversal_names_are_refused_before_anything_happens(host, name):
    status, result = run_module(args_for(host, secret(name=name)))
    assert status == "failed" and repr(name) in result["msg"]
    assert host.calls == []
    assert_no_value(result, VALUE)


def test_existing_non_memory_mount_is_refused(host):
    os.makedirs(host.root)
    host.add_mount("/dev/vda1 %s ext4 rw,relatime 0 0" % host.root)
    status, result = run_module(args_for(host, secret()))
    assert status == "failed"
    assert "is a ext4 mount, not tmpfs or ramfs" in result["msg"]
    assert os.listdir(host.root) == []


def test_manage_mount_false_refuses_a_directory_on_disk(host):
    os.makedirs(host.root)
    status, result = run_module(args_for(host, secret(), manage_mount=False))
    assert status == "failed" and "is on ext4, not on tmpfs or ramfs" in result["msg"]
    assert os.listdir(host.root) == []


def test_manage_mount_false_accepts_an_existing_tmpfs_parent(host, tmp_path):
    os.makedirs(host.root)
    host.add_mount("tmpfs %s tmpfs rw,nosuid,nodev,size=100k,mode=755,noswap 0 0" % tmp_path)
    status, result = run_module(args_for(host, secret(), manage_mount=False))
    assert status == "ok" and result["changed"]
    assert [c for c in host.calls if c[0] == "mount"] == []
    assert os.path.isfile(os.path.join(host.root, "db_password"))


def test_sibling_prefix_mount_does_not_count(host):
    """A tmpfs at ROOT-evil must not make ROOT look like it is on tmpfs."""
    os.makedirs(host.root)
    host.add_mount("tmpfs %s-evil tmpfs rw,size=100k,noswap 0 0" % host.root)
    status, result = run_module(args_for(host, secret(), manage_mount=False))
    assert status == "failed" and "not on tmpfs" in result["msg"]


def test_symlinked_secret_file_is_refused(host, tmp_path):
    run_module(args_for(host, secret()))
    os.unlink(os.path.join(host.root, "db_password"))
    outside = tmp_path / "outside"
    outside.write_text("disk")
    os.symlink(str(outside), os.path.join(host.root, "db_password"))
    status, result = run_module(args_for(host, secret()))
    assert status == "failed" and "not a regular file" in result["msg"]
    assert outside.read_text() == "disk"


def test_symlinked_mount_path_is_refused(host, tmp_path):
    os.makedirs(str(tmp_path / "disk"))
    os.symlink(str(tmp_path / "disk"), host.root)
    status, result = run_module(args_for(host, secret()))
    assert status == "failed" and "symlink" in result["msg"]
    assert host.calls == []


@pytest.mark.parametrize("release", ["6.3.13", "5.10.0-28-amd64"])
def test_old_kernel_is_refused_by_default(host, monkeypatch, release):
    monkeypatch.setenv(mod.KERNEL_RELEASE_ENV, release)
    status, result = run_module(args_for(host, secret()))
    assert status == "failed"
    assert release in result["msg"] and "on_no_noswap=ramfs" in result["msg"]
    assert host.calls == []


def test_old_kernel_ramfs_fallback(host, monkeypatch):
    monkeypatch.setenv(mod.KERNEL_RELEASE_ENV, "6.1.0")
    status, result = run_module(args_for(host, secret(), on_no_noswap="ramfs"))
    assert status == "ok"
    assert host.calls[0][:3] == ["mount", "-t", "ramfs"]
    assert host.calls[0][4] == "mode=0700,nosuid,nodev,noexec"
    assert result["mount"]["fstype"] == "ramfs"
    assert any("mounting %s as ramfs" % host.root in w for w in result["warnings"])


def test_old_kernel_allow_swap(host, monkeypatch):
    monkeypatch.setenv(mod.KERNEL_RELEASE_ENV, "6.1.0")
    status, result = run_module(args_for(host, secret(), on_no_noswap="allow_swap"))
    assert status == "ok" and result["mount"]["noswap"] is False
    assert "noswap" not in host.calls[0][4]
    assert any("may be swapped out" in w for w in result["warnings"])


def test_existing_tmpfs_without_noswap_is_refused(host):
    os.makedirs(host.root)
    # a mount this module made earlier without noswap (on_no_noswap=allow_swap on an older kernel)
    host.add_mount("podsec-secrets %s tmpfs rw,nosuid,nodev,noexec,size=1024k,mode=700 0 0" % host.root)
    status, result = run_module(args_for(host, secret()))
    assert status == "failed" and "without noswap" in result["msg"] and "umount" in result["msg"]
    status, result = run_module(args_for(host, secret(), on_no_noswap="allow_swap"))
    assert status == "ok"


def test_noswap_is_verified_not_assumed(host):
    host.noswap_honoured = False
    status, result = run_module(args_for(host, secret()))
    assert status == "failed" and "noswap not honoured" in result["msg"]
    assert host.calls[-1] == ["umount", host.root]
    assert not os.path.exists(os.path.join(host.root, "db_password"))


def test_content_required_and_exclusive(host):
    status, result = run_module(args_for(host, {"name": "x"}))
    assert status == "failed" and "exactly one of content and content_base64" in result["msg"]
    status, result = run_module(args_for(host, secret("a"), secret("a")))
    assert status == "failed" and "listed twice" in result["msg"]


# ---------------------------------------------------------------------------------------- podman

def test_podman_registration_through_stdin_and_idempotent(host):
    status, result = run_module(args_for(host, secret(), podman_secrets=True))
    assert status == "ok" and result["secrets"][0]["podman_secret"] is True
    creates = [c for c in host.calls if "create" in c]
    assert len(creates) == 1 and "--replace" not in creates[0]
    assert all(VALUE not in arg for call in host.calls for arg in call), "value must never be in argv"
    assert host.stdin[-1][1] == VALUE.encode() and host.stdin[-1][2] is True
    info = host.podman["db_password"]
    assert info["driver"] == "shell"
    store = os.path.join(host.root, ".podman")
    assert os.listdir(store) == [info["id"]]
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(store, info["id"])).st_mode) == 0o600
    assert host.podman_lookup("db_password") == VALUE.encode()
    assert_no_value(result, VALUE)

    host.calls.clear()
    status, result = run_module(args_for(host, secret(), podman_secrets=True))
    assert result["changed"] is False
    assert [c for c in host.calls if "create" in c or "rm" in c] == []


def test_podman_value_change_replaces(host):
    run_module(args_for(host, secret(), podman_secrets=True))
    old_id = host.podman["db_password"]["id"]
    status, result = run_module(args_for(host, secret(content=VALUE2), podman_secrets=True))
    assert result["changed"] and result["changed_secrets"] == ["db_password"]
    assert "--replace" in [c for c in host.calls if "create" in c][-1]
    assert host.podman_lookup("db_password") == VALUE2.encode()
    assert old_id not in os.listdir(os.path.join(host.root, ".podman"))


def test_podman_after_reboot_store_entry_missing_is_restored(host):
    run_module(args_for(host, secret(), podman_secrets=True))
    # a reboot empties the tmpfs; podman's metadata (graph root) survives
    for name in os.listdir(os.path.join(host.root, ".podman")):
        os.unlink(os.path.join(host.root, ".podman", name))
    os.unlink(os.path.join(host.root, "db_password"))
    status, result = run_module(args_for(host, secret(), podman_secrets=True))
    assert result["changed"]
    assert "--replace" in [c for c in host.calls if "create" in c][-1]
    assert host.podman_lookup("db_password") == VALUE.encode()


def test_podman_file_driver_secret_is_removed_then_recreated(host):
    host.podman["db_password"] = {"id": "0123456789abcdef012345678", "driver": "file", "options": {"path": "/x"}}
    status, result = run_module(args_for(host, secret(), podman_secrets=True))
    assert status == "ok"
    verbs = [c[2] for c in host.calls if c[0].endswith("podman") and c[2] in ("rm", "create")]
    assert verbs == ["rm", "create"]
    assert host.podman["db_password"]["driver"] == "shell"


def test_podman_absent_removes_registration(host):
    run_module(args_for(host, secret(), podman_secrets=True))
    status, result = run_module(args_for(host, {"name": "db_password", "state": "absent"}, podman_secrets=True))
    assert result["changed"] and "db_password" not in host.podman
    assert os.listdir(os.path.join(host.root, ".podman")) == []
    assert result["secrets"][0]["podman_secret"] is False


def test_podman_check_mode_does_not_register(host):
    run_module(args_for(host, secret()))
    status, result = run_module(args_for(host, secret(), podman_secrets=True), check=True)
    assert result["changed"] is True
    assert host.podman == {}
    assert not os.path.exists(os.path.join(host.root, ".podman"))


def test_podman_user_runs_podman_as_that_user(host):
    status, result = run_module(args_for(host, secret(), podman_secrets=True, podman_user="nobody", owner="nobody"))
    assert status == "ok"
    create = [c for c in host.calls if "create" in c][0]
    assert create[:6] == ["/usr/bin/runuser", "-u", "nobody", "--", "/usr/bin/env", "-i"]
    assert not [arg for arg in create if "XDG_RUNTIME_DIR" in arg]  # no /run/user/UID: root's value is dropped
    assert create[create.index("/usr/bin/podman") + 1:create.index("/usr/bin/podman") + 3] == ["secret", "create"]
    nobody = pwd.getpwnam("nobody").pw_uid
    assert os.stat(os.path.join(host.root, ".podman")).st_uid == nobody
    assert os.stat(host.root).st_uid == nobody


def test_podman_user_must_exist(host):
    status, result = run_module(args_for(host, secret(), podman_secrets=True, podman_user="no-such-user-x"))
    assert status == "failed" and "podman_user 'no-such-user-x'" in result["msg"]


def test_podman_user_must_own_the_mount(host):
    status, result = run_module(args_for(host, secret(), podman_secrets=True, podman_user="nobody"))
    assert status == "failed" and "must own the mount" in result["msg"]


def test_podman_size_limit(host):
    status, result = run_module(args_for(host, secret(content=""), podman_secrets=True))
    assert status == "failed" and "1 to 511999 bytes" in result["msg"]


# ------------------------------------------------------------------ issue 16: dangerous targets


@pytest.mark.parametrize("path", ["/etc", "/usr", "/var", "/home", "/root", "/boot", "/run", "/var/lib/containers",
                                  "/proc/self", "/sys/fs", "/dev/shm", "/etc/"])
def test_system_paths_are_refused_before_anything_happens(host, path):
    status, result = run_module(args_for(host, secret(), path=path))
    assert status == "failed" and ("system directory" in result["msg"] or "holds no secrets" in result["msg"])
    assert host.calls == []
    assert_no_value(result, VALUE)


def test_a_symlink_to_a_system_path_is_refused(host, tmp_path):
    link = tmp_path / "innocent"
    os.symlink("/etc", str(link))
    status, result = run_module(args_for(host, secret(), path=str(link)))
    assert status == "failed" and "resolves to /etc" in result["msg"]
    assert host.calls == []


def test_control_mount_over_an_ordinary_empty_directory_works(host):
    # control for the refusals above: the same call with a directory of its own mounts and writes
    os.makedirs(host.root)
    status, result = run_module(args_for(host, secret()))
    assert status == "ok" and [c[0] for c in host.calls] == ["mount"]


def test_a_non_empty_directory_is_not_hidden(host):
    os.makedirs(host.root)
    with open(os.path.join(host.root, "keep.conf"), "w") as handle:
        handle.write("data")
    status, result = run_module(args_for(host, secret()))
    assert status == "failed" and "not empty" in result["msg"] and "1 entries" in result["msg"]
    assert host.calls == []
    assert os.listdir(host.root) == ["keep.conf"]


def test_a_foreign_tmpfs_is_neither_remounted_nor_adopted(host):
    os.makedirs(host.root)
    host.add_mount("tmpfs %s tmpfs rw,size=65536k,noswap 0 0" % host.root)
    status, result = run_module(args_for(host, secret()))
    assert status == "failed" and "did not make" in result["msg"]
    assert host.calls == [] and os.listdir(host.root) == []


def test_the_module_s_own_mount_is_reused(host):
    # control: the mount the module made is recognised by its source and used again
    run_module(args_for(host, secret()))
    assert host.lines[-1].startswith("podsec-secrets ")
    status, result = run_module(args_for(host, secret(content=VALUE2)))
    assert status == "ok" and result["changed"]


def no_space(*args):
    """write_private_file() when the values do not fit the tmpfs."""
    raise OSError(28, "No space left on device")


def test_a_failure_after_mounting_removes_the_new_mount(host, monkeypatch):
    monkeypatch.setattr(mod, "write_private_file", no_space)
    status, result = run_module(args_for(host, secret()))
    assert status == "failed"
    assert "No space left on device" in result["msg"] and "raise size" in result["msg"]
    assert "undone: the mount on %s, the directory %s" % (host.root, host.root) in result["msg"]
    assert host.calls[-1] == ["umount", host.root]
    assert host.lines == ROOT_LINES and not os.path.exists(host.root)
    assert result["changed"] is False
    assert_no_value(result, VALUE)


def test_a_failure_on_an_existing_mount_leaves_it_mounted(host, monkeypatch):
    run_module(args_for(host, secret()))
    monkeypatch.setattr(mod, "write_private_file", no_space)
    status, result = run_module(args_for(host, secret(content=VALUE2)))
    assert status == "failed" and "undone" not in result["msg"]
    assert host.lines[-1].startswith("podsec-secrets ")


def test_a_failed_podman_registration_removes_earlier_ones_and_the_mount(host):
    original = host.podman_cmd

    def podman_cmd(args, data):
        if args[1] == "create" and args[-2] == "second":
            return 125, "", "Error: boom"
        return original(args, data)

    host.podman_cmd = podman_cmd
    status, result = run_module(args_for(host, secret("first"), secret("second", VALUE2), podman_secrets=True))
    assert status == "failed" and "podman secret create second failed" in result["msg"]
    assert "undone: podman secret first, the mount on" in result["msg"]
    assert host.podman == {} and host.lines == ROOT_LINES


@pytest.mark.parametrize("args, field", [
    ({"path": "/run/sec\nx"}, "path"),
    ({"owner": "root\x00"}, "owner"),
    ({"path": "/run/" + "a" * 300}, "path"),
])
def test_malformed_values_name_the_field(host, args, field):
    base = args_for(host, secret())
    base.update(args)
    status, result = run_module(base)
    assert status == "failed" and result["msg"].startswith(field + ":")
    assert host.calls == []


def test_control_character_in_a_secret_name_names_the_item(host):
    status, result = run_module(args_for(host, secret(name="db\n")))
    assert status == "failed" and result["msg"].startswith("secrets[0].name:")


def test_nothing_is_logged_on_the_target_even_when_the_task_does_not_set_no_log(host, monkeypatch):
    logged = []
    monkeypatch.setattr(basic, "has_journal", False)
    monkeypatch.setattr(basic.syslog, "syslog", lambda priority, message: logged.append(message))
    args = args_for(host, secret(), owner="0")
    args["_ansible_no_log"] = False  # what the controller sends for a task without no_log
    status, result = run_module(args)
    assert status == "ok" and logged == []
    # control: a plain AnsibleModule given no_log=True still logs its invocation in that case
    monkeypatch.setattr(mod.PodsecModule, "log", basic.AnsibleModule.log)
    run_module(args_for(host, secret(), owner="0", _ansible_no_log=False))
    assert logged and "Invoked with" in logged[0]
