# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module tests: a fake SELinux host (policy store, xattrs, restorecon/setfiles) at the command boundary.

Real files in tmp_path; ``os.getxattr``/``os.setxattr`` go to an in-memory table so the tests do not
depend on the file system of the machine running them; ``AnsibleModule.run_command`` is answered by
``FakeHost`` which behaves like semanage/restorecon/setfiles/matchpathcon as observed on Debian 13.
"""

from __future__ import annotations

import errno
import json
import os
import re

import pytest

from ansible.module_utils import basic

from ansible_collections.podsec.hardening.plugins.modules import selinux_volume_label as mod
from ansible_collections.podsec.hardening.plugins.module_utils._selinux_label import derive_level
from ansible_collections.podsec.hardening.tests.unit.plugins.modules.utils import ExitJson, FailJson, patch_module, run_main

DEFAULT = "system_u:object_r:var_t:s0"


class FakeHost(object):
    def __init__(self):
        self.rules = {}
        self.xattrs = {}
        self.calls = []
        self.missing = set()

    # policy: the most specific matching local rule wins, else the base policy's default
    def policy_label(self, path):
        best = None
        for regex, context in self.rules.items():
            if re.fullmatch(regex, path) and (best is None or len(regex) > len(best[0])):
                best = (regex, context)
        return best[1] if best else DEFAULT

    def label(self, path):
        value = self.xattrs.get(path)
        return value.rstrip(b"\0").decode() if value else None

    def tree(self, path, recurse):
        yield path
        if recurse and os.path.isdir(path) and not os.path.islink(path):
            for dirpath, dirnames, filenames in os.walk(path):
                for name in dirnames + filenames:
                    yield os.path.join(dirpath, name)

    def relabel(self, prog, args, path):
        dry = "-n" in args
        recurse = prog == "setfiles" or "-R" in args
        lines = []
        for item in self.tree(path, recurse):
            want = self.policy_label(item)
            have = self.label(item)
            if have != want:
                lines.append("%s %s from %s to %s" % ("Would relabel" if dry else "Relabeled", item,
                                                      have or "<no context>", want))
                if not dry:
                    self.xattrs[item] = want.encode() + b"\0"
        return 0, "\n".join(lines) + ("\n" if lines else ""), ""

    def run_command(self, args, **kwargs):
        self.calls.append(list(args))
        prog = os.path.basename(args[0])
        if prog == "semanage":
            return self.semanage(args[1:])
        if prog in ("restorecon", "setfiles"):
            return self.relabel(prog, args, args[-1])
        if prog == "matchpathcon":
            return 0, self.policy_label(args[-1]) + "\n", ""
        raise AssertionError("unexpected command %r" % (args,))

    def semanage(self, args):
        assert args[0] == "fcontext"
        if args[1:] == ["-l", "-C"]:
            lines = ["SELinux fcontext                                   type               Context", ""]
            for regex, context in self.rules.items():
                lines.append("%-50s %-18s %s " % (regex, "all files", context))
            return 0, "\n".join(lines) + "\n" if self.rules else "", ""
        action, regex = args[1], args[-1]
        if action == "-d":
            if regex not in self.rules:
                return 1, "", "ValueError: File context for %s is not defined" % regex
            del self.rules[regex]
            return 0, "", ""
        setype, level = args[args.index("-t") + 1], args[args.index("-r") + 1]
        if action == "-a" and regex in self.rules:
            return 1, "", "already defined"
        if action == "-m" and regex not in self.rules:
            return 1, "", "ValueError: File context for %s is not defined" % regex
        self.rules[regex] = "system_u:object_r:%s:%s" % (setype, level)
        return 0, "", ""


@pytest.fixture
def host(monkeypatch, tmp_path):
    fake = FakeHost()

    def getxattr(path, name, follow_symlinks=True):
        assert name == "security.selinux" and follow_symlinks is False
        if not os.path.lexists(path):
            raise OSError(errno.ENOENT, "missing", path)
        if path not in fake.xattrs:
            raise OSError(errno.ENODATA, "No data available", path)
        return fake.xattrs[path]

    def setxattr(path, name, value, follow_symlinks=True):
        assert name == "security.selinux" and follow_symlinks is False
        assert value.endswith(b"\0")
        fake.xattrs[path] = value

    monkeypatch.setattr(mod.os, "getxattr", getxattr)
    monkeypatch.setattr(mod.os, "setxattr", setxattr)
    patch_module(monkeypatch)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, args, **kw: fake.run_command(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, *a, **kw: None if name in fake.missing else "/usr/sbin/" + name)
    monkeypatch.setattr(mod, "SELINUXFS_ENFORCE", str(tmp_path / "selinuxfs-enforce"))
    config = tmp_path / "selinux-config"
    config.write_text("SELINUX=permissive\nSELINUXTYPE=default\n")
    monkeypatch.setattr(mod, "SELINUX_CONFIG", str(config))
    fake.tmp = tmp_path
    fake.registry = str(tmp_path / "state" / "levels.json")

    def enable(enforcing):
        (tmp_path / "selinuxfs-enforce").write_text("1" if enforcing else "0")

    fake.enable = enable
    return fake


def run(host, check_mode=False, diff=False, expect=ExitJson, **args):
    args.setdefault("registry", host.registry)
    return run_main(mod.main, args, check_mode, diff, expect)


def fail(host, **args):
    return run(host, expect=FailJson, **args)["msg"]


def make_volume(host, name):
    path = host.tmp / name
    (path / "sub").mkdir(parents=True)
    (path / "sub" / "file").write_text("x")
    (path / "top").write_text("y")
    os.symlink("top", str(path / "link"))
    return str(path)


def labels(host, path):
    return dict((p, host.label(p)) for p in host.tree(path, True))


def test_private_volume_recorded_on_disabled_host_and_idempotent(host):
    vol = make_volume(host, "web")
    result = run(host, paths=[vol], owner="web")
    level = derive_level("web")
    context = "system_u:object_r:container_file_t:" + level
    assert result["changed"] is True
    assert result["level"] == level and result["context"] == context
    assert result["selinux_enabled"] is False and result["enforced"] is False
    assert result["labelled"] == 5  # dir, sub, sub/file, top, link
    assert result["changed_paths"] == [vol] and result["rules"] == [vol + "(/.*)?"]
    assert host.rules == {vol + "(/.*)?": context}
    assert set(labels(host, vol).values()) == {context}
    assert json.loads(open(host.registry).read()) == {"owners": {"web": level}}
    # disabled host: no restorecon (it does nothing there), labels written directly
    assert not [c for c in host.calls if c[0].endswith("restorecon")]

    again = run(host, paths=[vol], owner="web")
    assert again["changed"] is False and again["labelled"] == 0 and again["changed_paths"] == []
    assert again["level"] == level


def test_check_mode_changes_nothing_and_predicts(host):
    vol = make_volume(host, "web")
    result = run(host, check_mode=True, diff=True, paths=[vol], owner="web")
    assert result["changed"] is True and result["labelled"] == 5 and result["registered"] is True
    assert host.rules == {} and host.xattrs == {} and not os.path.exists(host.registry)
    assert "fcontext %s(/.*)? (none)" % vol in result["diff"]["before"]
    assert "fcontext %s(/.*)? system_u:object_r:container_file_t:%s" % (vol, derive_level("web")) in result["diff"]["after"]
    assert "owner web (unregistered)" in result["diff"]["before"]
    assert [c for c in host.calls if c[1:3] != ["fcontext", "-l"]] == []


def test_new_file_on_disabled_host_is_labelled_on_next_run(host):
    vol = make_volume(host, "web")
    run(host, paths=[vol], owner="web")
    (host.tmp / "web" / "new").write_text("z")
    result = run(host, paths=[vol], owner="web")
    assert result["changed"] is True and result["labelled"] == 1


def test_two_owners_get_different_levels_and_keep_them(host):
    web, db = make_volume(host, "web"), make_volume(host, "db")
    first = run(host, paths=[web], owner="web")["level"]
    second = run(host, paths=[db], owner="db")["level"]
    assert first != second
    assert host.rules[web + "(/.*)?"].endswith(first) and host.rules[db + "(/.*)?"].endswith(second)
    # a volume added later for web gets web's level
    extra = make_volume(host, "web2")
    assert run(host, paths=[extra], owner="web")["level"] == first


def test_collision_with_registered_owner_is_avoided(host):
    vol = make_volume(host, "web")
    os.makedirs(os.path.dirname(host.registry))
    with open(host.registry, "w") as handle:
        json.dump({"owners": {"db": derive_level("web")}}, handle)
    result = run(host, paths=[vol], owner="web")
    assert result["level"] == derive_level("web", taken={derive_level("web")})
    assert json.loads(open(host.registry).read())["owners"]["db"] == derive_level("web")


def test_collision_with_unregistered_rule_is_avoided(host):
    vol = make_volume(host, "web")
    host.rules["/srv/foreign(/.*)?"] = "system_u:object_r:container_file_t:" + derive_level("web")
    assert run(host, paths=[vol], owner="web")["level"] != derive_level("web")


def test_explicit_categories_and_conflict(host):
    vol, other = make_volume(host, "db"), make_volume(host, "cache")
    result = run(host, paths=[vol], owner="db", categories=["c345", "c12"])
    assert result["level"] == "s0:c12,c345"
    msg = fail(host, paths=[other], owner="cache", categories="c12,c345")
    assert "already used by owner 'db'" in msg


def test_shared_volume(host):
    vol = make_volume(host, "shared")
    result = run(host, paths=[vol], mode="shared")
    assert result["level"] == "s0" and host.rules[vol + "(/.*)?"] == "system_u:object_r:container_file_t:s0"
    assert result["registered"] is False and not os.path.exists(host.registry)
    assert "only valid with mode=private" in fail(host, paths=[vol], mode="shared", categories="c1,c2")


def test_existing_rule_with_other_level_is_modified(host):
    vol = make_volume(host, "web")
    host.rules[vol + "(/.*)?"] = "system_u:object_r:container_file_t:s0"
    run(host, paths=[vol], owner="web")
    assert ["/usr/sbin/semanage", "fcontext", "-m", "-t", "container_file_t", "-r", derive_level("web"),
            vol + "(/.*)?"] in host.calls


def test_nested_managed_volume_is_left_to_its_own_rule(host):
    outer = make_volume(host, "outer")
    inner = os.path.join(outer, "sub")
    run(host, paths=[outer], owner="a")
    run(host, paths=[inner], owner="b")
    again = run(host, paths=[outer], owner="a")
    assert again["changed"] is False
    assert host.label(os.path.join(inner, "file")).endswith(derive_level("b"))


def test_enabled_host_uses_restorecon(host):
    host.enable(enforcing=True)
    vol = make_volume(host, "web")
    result = run(host, paths=[vol], owner="web")
    assert result["selinux_enabled"] is True and result["enforced"] is True
    assert ["/usr/sbin/restorecon", "-F", "-R", vol] in host.calls
    assert set(labels(host, vol).values()) == {"system_u:object_r:container_file_t:" + derive_level("web")}
    assert run(host, paths=[vol], owner="web")["changed"] is False


def test_permissive_host_is_not_enforced(host):
    host.enable(enforcing=False)
    result = run(host, paths=[make_volume(host, "web")], owner="web")
    assert result["selinux_enabled"] is True and result["enforced"] is False


def test_non_recursive(host):
    vol = make_volume(host, "web")
    result = run(host, paths=[vol], owner="web", recurse=False)
    assert result["labelled"] == 1 and list(host.rules) == [vol]
    assert host.label(os.path.join(vol, "top")) is None


def test_when_disabled_fail_and_skip(host):
    vol = make_volume(host, "web")
    assert "SELinux is disabled on this host and when_disabled=fail" in fail(host, paths=[vol], owner="web", when_disabled="fail")
    result = run(host, paths=[vol], owner="web", when_disabled="skip")
    assert result["changed"] is False and result["level"] == derive_level("web")
    assert "when_disabled=skip" in result["warnings"][0]
    assert host.calls == [] and host.xattrs == {}


def test_missing_tools(host):
    vol = make_volume(host, "web")
    host.missing = {"semanage"}
    assert "needs the policy tools, missing: semanage" in fail(host, paths=[vol], owner="web")
    host.enable(enforcing=True)
    assert "SELinux is enabled but the policy tools are missing: semanage" in fail(host, paths=[vol], owner="web")


@pytest.mark.parametrize("path,words", [
    ("/", "podman refuses to relabel"),
    ("/etc", "SELinux relabeling of /etc is not allowed"),
    ("/home", "podman refuses to relabel"),
    ("/usr/local/vol", "below /usr"),
    ("/var/lib", "podman refuses to relabel"),
    ("/tmp", "podman refuses to relabel"),
    ("/root", "podman refuses to relabel"),
    ("relative", "not absolute"),
])
def test_refused_paths(host, path, words):
    assert words in fail(host, paths=[path], owner="web")
    assert host.rules == {}


def test_home_directory_refused(host, monkeypatch):
    home = str(host.tmp / "home-of-someone")
    os.mkdir(home)
    monkeypatch.setenv("HOME", home)
    assert "home directory" in fail(host, paths=[home], owner="web")


def test_symlinked_path_refused(host):
    vol = make_volume(host, "real")
    link = str(host.tmp / "alias")
    os.symlink(vol, link)
    assert "resolves to %s through a symlink" % vol in fail(host, paths=[link], owner="web")


def test_missing_path_and_create(host):
    vol = str(host.tmp / "new" / "vol")
    assert "does not exist (set create: true" in fail(host, paths=[vol], owner="web")
    result = run(host, check_mode=True, paths=[vol], owner="web", create=True)
    assert result["changed"] is True and not os.path.exists(vol)
    result = run(host, paths=[vol], owner="web", create=True)
    assert os.path.isdir(vol) and host.label(vol).endswith(derive_level("web"))
    assert run(host, paths=[vol], owner="web", create=True)["changed"] is False


def test_reserve_owner_without_paths(host):
    result = run(host, paths=[], owner="web")
    assert result["changed"] is True and result["level"] == derive_level("web")
    assert run(host, paths=[], owner="web")["changed"] is False
    assert "needs owner" in fail(host, paths=[])


def test_absent_removes_rule_and_restores_defaults_disabled(host):
    vol = make_volume(host, "web")
    run(host, paths=[vol], owner="web")
    result = run(host, check_mode=True, paths=[vol], state="absent")
    assert result["changed"] is True and result["labelled"] == 5 and host.rules
    result = run(host, paths=[vol], state="absent")
    assert result["changed"] is True and result["level"] == derive_level("web")
    assert host.rules == {}
    assert set(labels(host, vol).values()) == {DEFAULT}
    assert [c for c in host.calls if c[0].endswith("setfiles")][-1] == [
        "/usr/sbin/setfiles", "-F", "-v", "/etc/selinux/default/contexts/files/file_contexts", vol]
    again = run(host, paths=[vol], state="absent")
    assert again["changed"] is False and again["labelled"] == 0
    # the owner stays registered (its level stays reserved) until released explicitly
    assert "web" in json.loads(open(host.registry).read())["owners"]
    preview = run(host, check_mode=True, diff=True, paths=[], owner="web", state="absent")
    # registered: the registry changes (the owner is released), as documented
    assert preview["registered"] is True and preview["level"] == derive_level("web")
    assert preview["diff"]["before"] == "owner web %s\n" % derive_level("web")
    assert preview["diff"]["after"] == "owner web (unregistered)\n"
    release = run(host, paths=[], owner="web", state="absent")
    assert release["changed"] is True and json.loads(open(host.registry).read())["owners"] == {}
    assert run(host, paths=[], owner="web", state="absent")["changed"] is False


def test_absent_enabled_uses_restorecon(host):
    host.enable(enforcing=True)
    vol = make_volume(host, "web")
    run(host, paths=[vol], owner="web")
    run(host, paths=[vol], state="absent")
    assert ["/usr/sbin/restorecon", "-F", "-v", "-R", vol] in host.calls
    assert set(labels(host, vol).values()) == {DEFAULT}


def test_absent_non_recursive_disabled_uses_matchpathcon(host):
    vol = make_volume(host, "web")
    run(host, paths=[vol], owner="web", recurse=False)
    run(host, paths=[vol], state="absent", recurse=False)
    assert host.label(vol) == DEFAULT and host.rules == {}
    assert run(host, paths=[vol], state="absent", recurse=False)["changed"] is False


def break_semanage(host, action, error, regex_prefix=""):
    """Make ``semanage fcontext ACTION`` fail with ``error`` for regexes starting with ``regex_prefix``."""
    original = host.semanage

    def broken(args):
        if args[1] == action and args[-1].startswith(regex_prefix):
            return 1, "", error
        return original(args)

    host.semanage = broken
    return original


def test_semanage_error_is_reported(host):
    vol = make_volume(host, "web")
    host.rules[vol + "(/.*)?"] = "system_u:object_r:container_file_t:s0"
    break_semanage(host, "-m", "ValueError: Type container_file_t is invalid, must be a file or device type")
    msg = fail(host, paths=[vol], owner="web")
    assert "semanage fcontext -m %s(/.*)? failed (rc=1): ValueError: Type container_file_t is invalid" % vol in msg


def test_corrupt_registry_is_reported(host):
    os.makedirs(os.path.dirname(host.registry))
    with open(host.registry, "w") as handle:
        handle.write("{broken")
    assert "levels.json: owner registry is not valid JSON" in fail(host, paths=[], owner="web")


# ------------------------------------------------------------------ issue 16: dangerous targets


@pytest.mark.parametrize("path, words", [
    ("/var/lib/containers/storage", "below /var/lib/containers/storage"),
    ("/var/lib/containers", "holds /var/lib/containers/storage"),
    ("/etc/ssh", "below /etc"),
    ("/etc/systemd", "below /etc"),
    ("/root/.ssh", "below /root"),
    ("/var/log/journal", "below /var/log"),
    ("/run/podman", "below /run/podman"),
    ("/run/user/1000/containers", "below /run/user"),
])
def test_system_trees_are_refused(host, path, words):
    assert words in fail(host, paths=[path], owner="web")
    assert host.rules == {} and host.calls == [] and not os.path.exists(host.registry)


def test_per_user_container_storage_and_credentials_are_refused(host, monkeypatch):
    home = str(host.tmp / "home-of-alice")
    monkeypatch.setenv("HOME", home)
    for sub, words in ((".local/share/containers/storage", "below %s/.local/share/containers" % home),
                       (".ssh", "below %s/.ssh" % home), (".local", "holds %s/.local/share/containers" % home)):
        os.makedirs(os.path.join(home, sub), exist_ok=True)
        assert words in fail(host, paths=[os.path.join(home, sub)], owner="web")
    # control: a volume directory of its own in the same home is labelled
    os.makedirs(os.path.join(home, "vol"))
    assert run(host, paths=[os.path.join(home, "vol")], owner="web")["changed"] is True


def test_a_symlink_to_a_forbidden_tree_is_refused_with_the_reason(host):
    link = str(host.tmp / "innocent")
    os.symlink("/etc/ssh", link)
    msg = fail(host, paths=[link], owner="web")
    assert "resolves to /etc/ssh: path /etc/ssh is below /etc" in msg
    assert host.rules == {} and host.xattrs == {}


def test_bogus_setype_is_refused_before_anything_happens(host):
    vol = make_volume(host, "web")
    assert "setype 'no such type' is not an SELinux file type name" in fail(
        host, paths=[vol], owner="web", setype="no such type")
    assert host.rules == {} and host.xattrs == {} and not os.path.exists(host.registry)


def test_owner_is_registered_only_after_the_labels_are_in_place(host):
    vol = make_volume(host, "web")
    original = break_semanage(host, "-a", "ValueError: Type bogus_t is invalid, must be a file or device type")
    msg = fail(host, paths=[vol], owner="web", setype="bogus_t")
    assert "Type bogus_t is invalid" in msg
    assert not os.path.exists(host.registry) and host.rules == {} and host.xattrs == {}
    # control: with the type known, the same call registers the owner
    host.semanage = original
    assert run(host, paths=[vol], owner="web")["registered"] is True
    assert "web" in json.loads(open(host.registry).read())["owners"]


def test_a_failure_on_the_second_path_undoes_the_first(host):
    first, second = make_volume(host, "one"), make_volume(host, "two")
    break_semanage(host, "-a", "ValueError: boom", regex_prefix=second)
    msg = fail(host, paths=[first, second], owner="web")
    assert "boom" in msg and "undone: the rule(s) %s(/.*)?" % first in msg
    assert host.rules == {} and not os.path.exists(host.registry)
    assert set(labels(host, first).values()) == {DEFAULT}


def strict_syslog(priority, message):
    """syslog as the test hosts' Python has it: a NUL is refused ("embedded null character")."""
    if "\x00" in message:
        raise ValueError("embedded null character")


@pytest.mark.parametrize("args, field", [
    ({"paths": ["/srv/vol\x00"]}, "paths[0]"),
    ({"setype": "container_file_t\x00"}, "setype"),
    ({"owner": "web\n"}, "owner"),
    ({"paths": ["/srv/" + "v" * 300]}, "paths[0]"),
])
def test_malformed_values_name_the_field(host, monkeypatch, args, field):
    monkeypatch.setattr(basic, "has_journal", False)
    monkeypatch.setattr(basic.syslog, "syslog", strict_syslog)
    args = dict({"paths": [make_volume(host, "web")], "owner": "web"}, **args)
    msg = fail(host, **args)
    assert msg.startswith(field + ":") and "Failed to log" not in msg
    assert host.rules == {} and host.xattrs == {}


def test_control_a_nul_is_not_loggable_by_ansiblemodule(host, monkeypatch):
    # what PodsecModule.log protects from: AnsibleModule logs the invocation before the module runs
    monkeypatch.setattr(basic, "has_journal", False)
    monkeypatch.setattr(basic.syslog, "syslog", strict_syslog)
    monkeypatch.setattr(mod.PodsecModule, "log", basic.AnsibleModule.log)
    msg = fail(host, paths=[make_volume(host, "web")], owner="web", setype="container_file_t\x00")
    assert "Failed to log to syslog" in msg


def test_rules_only_on_a_disabled_host_is_idempotent_whatever_containers_write(host):
    vol = make_volume(host, "web")
    first = run(host, paths=[vol], owner="web", when_disabled="rules")
    assert first["changed"] is True and first["registered"] is True and first["labelled"] == 0
    assert host.rules == {vol + "(/.*)?": "system_u:object_r:container_file_t:" + derive_level("web")}
    assert host.xattrs == {}
    (host.tmp / "web" / "written-by-a-container").write_text("z")
    again = run(host, paths=[vol], owner="web", when_disabled="rules")
    assert again["changed"] is False and again["changed_paths"] == []
    host.missing = {"setfiles", "matchpathcon", "restorecon"}
    assert run(host, paths=[vol], owner="web", when_disabled="rules")["changed"] is False
    gone = run(host, paths=[vol], state="absent", when_disabled="rules")
    assert gone["changed"] is True and host.rules == {}


def test_create_mode_and_owner_apply_to_the_created_directory_only(host):
    """Private volumes (issue 17): the role creates them 0700 for the owner; parents stay 0755, existing ones alone."""
    import pwd
    me = pwd.getpwuid(os.getuid())
    vol = str(host.tmp / "srv-new" / "vol")
    result = run(host, paths=[vol], owner="web", create=True, create_mode="0700", create_owner=me.pw_name)
    assert result["changed"] is True
    assert os.stat(vol).st_mode & 0o7777 == 0o700 and os.stat(vol).st_uid == me.pw_uid
    assert os.stat(os.path.dirname(vol)).st_mode & 0o7777 == 0o755
    os.chmod(vol, 0o750)
    assert run(host, paths=[vol], owner="web", create=True, create_mode="0700")["changed"] is False
    assert os.stat(vol).st_mode & 0o7777 == 0o750
    assert "create_mode: must be an octal mode" in fail(host, paths=[vol], owner="web", create=True, create_mode="rwx")
    assert "create_owner: user 'no-such-user-h17'" in fail(host, paths=[vol], owner="web", create=True,
                                                           create_owner="no-such-user-h17")
