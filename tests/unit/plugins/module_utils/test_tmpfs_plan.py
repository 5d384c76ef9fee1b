# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""tmpfs_secret's planner (issue 23): facts in, plan out, no host, no AnsibleModule."""

from __future__ import annotations

import pwd

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _tmpfs

VALUE = "s3cr3t-Q9zx"
PODSEC = pwd.struct_passwd(("podsec", "x", 1000, 1000, "", "/home/podsec", "/bin/sh"))


class Users(object):
    """The host's users, as the module's facts reader answers them."""

    uids = {"root": 0, "podsec": 1000}
    gids = {"root": 0, "podsec": 1000}

    def uid(self, name):
        return int(name) if name.isdigit() else self.uids[name]

    def gid(self, name):
        return int(name) if name.isdigit() else self.gids[name]

    def entry(self, name):
        if name != "podsec":
            raise KeyError(name)
        return PODSEC

    @staticmethod
    def resolve(path):
        return {"/run/etc-link": "/etc"}.get(path, path)


def params(**overrides):
    base = {"path": "/run/podsec-secrets", "size": "1m", "nr_inodes": None, "mode": "0700", "owner": "root",
            "group": "root", "noswap": True, "on_no_noswap": "fail", "manage_mount": True, "podman_secrets": False,
            "podman_user": None, "secrets": []}
    base.update(overrides)
    return base


def secret(name="db", content=VALUE, **overrides):
    item = {"name": name, "content": content, "content_base64": None, "owner": "root", "group": "root",
            "mode": "0400", "state": "present"}
    item.update(overrides)
    return item


def request(**overrides):
    return _tmpfs.check_request(params(**overrides), Users())


def test_check_request_resolves_users_and_data():
    req = request(path="/run/podsec-secrets/", mode="0750", owner="podsec", podman_user="podsec",
                  secrets=[secret(), secret("tls", None, content_base64="AAEC", mode="0440", group="podsec")])
    assert (req["path"], req["mode"], req["uid"], req["gid"]) == ("/run/podsec-secrets", 0o750, 1000, 0)
    assert req["size_bytes"] == 1 << 20 and req["podman_entry"] is PODSEC
    assert [(i["name"], i["target"], i["data"], i["mode"], i["gid"]) for i in req["items"]] == [
        ("db", "/run/podsec-secrets/db", VALUE.encode(), 0o400, 0), ("tls", "/run/podsec-secrets/tls", b"\0\1\2", 0o440, 1000)]


@pytest.mark.parametrize("overrides, message", [
    ({"path": "/run/etc-link"}, "path /run/etc-link (it resolves to /etc) is a system directory"),
    ({"path": "/run/a\nb"}, "path"),
    ({"size": "lots"}, "size 'lots' is not a number"),
    ({"owner": "nobody-here"}, "owner 'nobody-here' of the mount does not exist on the host"),
    ({"secrets": [secret(), secret()]}, "secret 'db' is listed twice"),
    ({"secrets": [secret("../x")]}, "must not contain '/'"),
    ({"secrets": [secret(content=None)]}, "secret db: exactly one of content and content_base64 is required"),
    ({"secrets": [secret(content=None, content_base64="!!")]}, "secret db: content_base64 is not valid base64"),
    ({"secrets": [secret(mode="u+r")]}, "secret db: mode"),
    ({"podman_secrets": True, "secrets": [secret(content="")]}, "podman secrets must be 1 to"),
    ({"podman_user": "podsec"}, "podman_user podsec must own the mount (set owner: podsec)"),
    ({"podman_user": "ghost", "owner": "podsec"}, "podman_user 'ghost' of podman does not exist"),
])
def test_check_request_refusals_name_the_field(overrides, message):
    with pytest.raises(_tmpfs.TmpfsError) as info:
        request(**overrides)
    assert message in str(info.value)
    assert VALUE not in str(info.value)


def test_an_absent_secret_needs_no_content():
    assert request(secrets=[secret(content=None, state="absent")])["items"][0]["data"] is None


def facts(**overrides):
    base = {"is_link": False, "exists": False, "is_dir": False, "entries": 0, "current": None, "holder": None,
            "kernel_release": "6.12.0"}
    base.update(overrides)
    return base


def ours(options="rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700,noswap", fstype="tmpfs",
         device=_tmpfs.MOUNT_SOURCE):
    return _tmpfs.MountEntry(device, "/run/podsec-secrets", fstype, options.split(","))


def test_fresh_mount_on_a_noswap_kernel():
    plan = _tmpfs.plan_mount(request(), params(), facts())
    assert plan["action"] == "mount" and plan["fstype"] == "tmpfs" and plan["noswap"] and not plan["warnings"]
    assert plan["options"] == "size=1024k,mode=0700,uid=0,gid=0,noswap,nosuid,nodev,noexec"
    assert plan["planned"] == {"path": "/run/podsec-secrets", "fstype": "tmpfs", "noswap": True,
                               "options": plan["options"].split(",")}


def test_old_kernel_fails_or_falls_back_with_a_warning():
    with pytest.raises(_tmpfs.TmpfsError, match="Refusing to mount /run/podsec-secrets"):
        _tmpfs.plan_mount(request(), params(), facts(kernel_release="6.1.0"))
    plan = _tmpfs.plan_mount(request(), params(on_no_noswap="ramfs"), facts(kernel_release="6.1.0"))
    assert (plan["fstype"], plan["noswap"]) == ("ramfs", False) and "as ramfs" in plan["warnings"][0]
    assert plan["options"] == "mode=0700,nosuid,nodev,noexec"


@pytest.mark.parametrize("overrides, message", [
    ({"is_link": True}, "is a symlink"),
    ({"exists": True}, "exists and is not a directory"),
    ({"exists": True, "is_dir": True, "entries": 3}, "would hide its 3 entries"),
    ({"current": ours(fstype="ext4", options="rw")}, "is a ext4 mount, not tmpfs or ramfs"),
    ({"current": ours(device="tmpfs")}, "that this module did not make"),
    ({"current": ours(options="rw,size=1024k,mode=700")}, "without noswap, and noswap cannot be added by remount"),
])
def test_mount_refusals(overrides, message):
    with pytest.raises(_tmpfs.TmpfsError, match=message):
        _tmpfs.plan_mount(request(), params(), facts(**overrides))


def test_our_mount_is_kept_or_remounted_to_the_wanted_limits():
    assert _tmpfs.plan_mount(request(), params(), facts(current=ours()))["action"] == "keep"
    plan = _tmpfs.plan_mount(request(size="2m"), params(), facts(current=ours(options="rw,size=1024k,noswap")))
    assert plan["action"] == "remount" and plan["options"] == "remount,size=2048k,nosuid,nodev,noexec"


def test_manage_mount_false_adopts_an_in_memory_holder_only():
    holder = ours(device="tmpfs")
    plan = _tmpfs.plan_mount(request(), params(manage_mount=False), facts(is_dir=True, holder=holder))
    assert plan["action"] == "keep" and plan["entry"] is holder
    with pytest.raises(_tmpfs.TmpfsError, match="is on ext4, not on tmpfs or ramfs"):
        _tmpfs.plan_mount(request(), params(manage_mount=False),
                          facts(is_dir=True, holder=_tmpfs.MountEntry("/dev/vda1", "/", "ext4", ["rw"])))


def test_fresh_mount_problem_catches_a_dropped_noswap():
    plan = _tmpfs.plan_mount(request(), params(), facts())
    assert _tmpfs.fresh_mount_problem(ours(), plan, "/run/podsec-secrets") is None
    assert "noswap not honoured" in _tmpfs.fresh_mount_problem(ours(options="rw,size=1024k"), plan, "/run/podsec-secrets")


def file_facts(data=VALUE.encode(), **overrides):
    base = {"regular": True, "uid": 0, "gid": 0, "mode": 0o400, "owner": "root", "group": "root",
            "digest": _tmpfs.sha256_digest(data)}
    base.update(overrides)
    return base


def test_plan_secret_actions_and_summaries():
    item = request(secrets=[secret()])["items"][0]
    assert _tmpfs.plan_secret(item, None) == {"action": "write", "before": None, "after": "db root:root 0400"}
    assert _tmpfs.plan_secret(item, file_facts())["action"] is None
    changed = _tmpfs.plan_secret(item, file_facts(b"old"))
    assert changed["action"] == "write" and changed["after"] == "db root:root 0400 (new value)"
    assert _tmpfs.plan_secret(item, file_facts(mode=0o644))["action"] == "chown"
    gone = dict(item, state="absent")
    assert _tmpfs.plan_secret(gone, file_facts())["action"] == "remove"
    assert _tmpfs.plan_secret(gone, None)["action"] is None
    with pytest.raises(_tmpfs.TmpfsError, match="is not a regular file"):
        _tmpfs.plan_secret(item, file_facts(regular=False))


def test_plan_podman():
    item = request(secrets=[secret()])["items"][0]
    wanted = _tmpfs.shell_driver_options("/run/podsec-secrets/.podman")
    stored = {"abc123": _tmpfs.sha256_digest(VALUE.encode())}
    ours_info = {"id": "abc123", "driver": "shell", "options": wanted}
    assert _tmpfs.plan_podman(item, None, wanted, stored.get) == "create"
    assert _tmpfs.plan_podman(item, ours_info, wanted, stored.get) is None
    assert _tmpfs.plan_podman(item, ours_info, wanted, {"abc123": "0" * 64}.get) == "replace"
    assert _tmpfs.plan_podman(item, dict(ours_info, driver="file", options={}), wanted, stored.get) == "recreate"
    assert _tmpfs.plan_podman(dict(item, state="absent"), ours_info, wanted, stored.get) == "remove"
    assert _tmpfs.plan_podman(dict(item, state="absent"), None, wanted, stored.get) is None


def test_plan_store_dir():
    store = "/run/podsec-secrets/.podman"
    assert _tmpfs.plan_store_dir(store, None, 1000) == {"mkdir": True}
    assert _tmpfs.plan_store_dir(store, {"dir": True, "uid": 1000, "mode": 0o700}, 1000) is None
    # another owner or a looser mode is fixed in place
    assert _tmpfs.plan_store_dir(store, {"dir": True, "uid": 0, "mode": 0o700}, 1000) == {"mkdir": False}
    assert _tmpfs.plan_store_dir(store, {"dir": True, "uid": 1000, "mode": 0o755}, 1000) == {"mkdir": False}
    with pytest.raises(_tmpfs.TmpfsError, match="%s exists and is not a directory" % store):
        _tmpfs.plan_store_dir(store, {"dir": False, "uid": 1000, "mode": 0o600}, 1000)


def test_podman_steps_carry_out_each_action():
    wanted = _tmpfs.shell_driver_options("/run/podsec-secrets/.podman")
    opts = _tmpfs.render_driver_opts(wanted)
    create = ["secret", "create", "--driver", "shell", "--driver-opts", opts]
    assert _tmpfs.podman_steps(None, "db", None, wanted) == []
    assert [(s["argv"], s["stdin"], s["registers"]) for s in _tmpfs.podman_steps("create", "db", None, wanted)] == [
        (create + ["db", "-"], True, True)]
    # --replace keeps the registration: nothing of this run to undo
    assert [(s["argv"], s["registers"]) for s in _tmpfs.podman_steps("replace", "db", {"driver": "shell"}, wanted)] == [
        (create + ["--replace", "db", "-"], False)]
    steps = _tmpfs.podman_steps("recreate", "db", {"driver": "file"}, wanted)
    assert [s["argv"][:3] for s in steps] == [["secret", "rm", "db"], ["secret", "create", "--driver"]]
    assert steps[0]["error"] == "podman secret rm db (driver file) failed" and not steps[0]["stdin"]
    assert [s["error"] for s in _tmpfs.podman_steps("remove", "db", {"driver": "shell"}, wanted)] == [
        "podman secret rm db failed"]


def test_secret_result():
    item = request(secrets=[secret()])["items"][0]
    entry = _tmpfs.secret_result(item, True, False)
    assert entry == {"name": item["name"], "path": item["target"], "state": "present", "changed": True,
                     "owner": item["owner"], "group": item["group"], "mode": _tmpfs.format_mode(item["mode"]),
                     "podman_secret": False}


def test_parse_meminfo():
    assert _tmpfs.parse_meminfo("MemTotal:        2014520 kB\nMemFree: 1 kB\n") == 2014520 * 1024
    assert _tmpfs.parse_meminfo("MemFree: 1 kB\n") is None and _tmpfs.parse_meminfo("MemTotal: x kB") is None
