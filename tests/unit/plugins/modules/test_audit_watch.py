# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""audit_watch with the real AnsibleModule; only the auditctl boundary (run_command) is faked.

FakeKernel answers auditctl the way audit 3.x does (listing format, "Rule exists", ENOENT for a
missing parent directory, EPERM under immutable mode), so the module's own logic runs unchanged.
"""

from __future__ import annotations

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.podsec.hardening.plugins.module_utils import _audit
from ansible_collections.podsec.hardening.plugins.modules import audit_watch


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


class FakeKernel(object):
    """The audit rule list of a kernel, driven through auditctl command lines."""

    def __init__(self, rules=(), enabled=1, refuse=()):
        self.rules = list(rules)
        self.enabled = enabled
        self.refuse = set(refuse)
        self.calls = []

    def run_command(self, args, **kwargs):
        assert args[0] == "/usr/sbin/auditctl"
        args = list(args[1:])
        self.calls.append(args)
        if args == ["-s"]:
            return 0, "enabled %d\nfailure 1\npid 0\nloginuid_immutable 0 unlocked\n" % self.enabled, ""
        if args == ["-l"]:
            return 0, "".join(line + "\n" for line in self.rules) or "No rules\n", ""
        if args[0] in ("-w", "-W"):
            line = _audit.render_watch(_audit.parse_rule_line(" ".join(["-w"] + args[1:])).watch)
            if self.enabled == 2:
                return 255, "", "Error sending %s rule data request (Operation not permitted)" % ("add" if args[0] == "-w" else "delete")
            if args[0] == "-w":
                if args[1] in self.refuse:
                    return 255, "", "Error sending add rule data request (No such file or directory)"
                if line in self.rules:
                    return 255, "", "Error sending add rule data request (Rule exists)"
                self.rules.append(line)
                return 0, "", ""
            if line not in self.rules:
                return 255, "", "Error sending delete rule data request (No such file or directory)"
            self.rules.remove(line)
            return 0, "", ""
        raise AssertionError("unexpected auditctl call %r" % args)

    def changes(self):
        return [call for call in self.calls if call[0] in ("-w", "-W")]


@pytest.fixture
def kernel(monkeypatch):
    kernel = FakeKernel()

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        kwargs["warnings"] = list(getattr(self, "_podsec_warnings", []))
        raise ExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise FailJson(kwargs)

    def warn(self, message):
        self.__dict__.setdefault("_podsec_warnings", []).append(message)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", warn)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, args, **kw: kernel.run_command(args, **kw))
    monkeypatch.setattr(
        basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/usr/sbin/%s" % name
    )
    return kernel


def run(args, expect=ExitJson):
    with patch_module_args(args):
        with pytest.raises(expect) as exc:
            audit_watch.main()
    return exc.value.args[0]


@pytest.fixture
def rules_file(tmp_path):
    return tmp_path / "rules.d" / "podsec-test.rules"


@pytest.fixture(autouse=True)
def rules_dir(rules_file):
    rules_file.parent.mkdir()


@pytest.fixture(autouse=True)
def cmdline(tmp_path, monkeypatch):
    """Every test reads a /proc/cmdline of its own, never the one of the machine running the tests."""
    path = tmp_path / "cmdline"
    path.write_text("BOOT_IMAGE=/vmlinuz root=/dev/vda ro quiet\n")
    monkeypatch.setattr(audit_watch, "PROC_CMDLINE", str(path))
    return path


def args(rules_file, **extra):
    base = {
        "rules_file": str(rules_file),
        "watches": [
            {"path": "/etc/containers", "key": "podsec_t_conf"},
            {"path": "/usr/bin/podman", "permissions": "awx", "key": "podsec_t_bin"},
        ],
    }
    base.update(extra)
    return base


WANTED = ["-w /etc/containers -p wa -k podsec_t_conf", "-w /usr/bin/podman -p wxa -k podsec_t_bin"]


def test_loads_live_and_persists_with_one_listing(kernel, rules_file):
    result = run(args(rules_file))
    assert result["changed"] is True
    assert kernel.rules == WANTED
    assert kernel.calls.count(["-l"]) == 1
    assert result["added"] == WANTED and result["removed"] == []
    assert result["rules"] == sorted(WANTED)
    text = rules_file.read_text()
    assert text.startswith("# Ansible managed")
    assert text.splitlines()[2:] == sorted(WANTED)
    assert oct(rules_file.stat().st_mode & 0o777) == "0o640"
    assert result["reboot_required"] is False and result["immutable"] is False


def test_second_run_changes_nothing(kernel, rules_file):
    run(args(rules_file))
    before = rules_file.read_text()
    kernel.calls = []
    result = run(args(rules_file))
    assert result["changed"] is False
    assert result["added"] == [] and result["removed"] == []
    assert kernel.changes() == []
    assert kernel.calls == [["-s"], ["-l"]]
    assert rules_file.read_text() == before


def test_live_rule_in_other_form_is_equal(kernel, rules_file):
    # A file that uses the -a always,exit form (perm letters out of order) and a live listing that
    # matches: nothing changes live, the file is rewritten in canonical form once.
    rules_file.write_text(
        "-a exit,always -F dir=/etc/containers -F perm=aw -F key=podsec_t_conf\n"
        "-a always,exit -F path=/usr/bin/podman -F perm=axw -F key=podsec_t_bin\n"
    )
    kernel.rules = list(WANTED)
    result = run(args(rules_file))
    assert kernel.changes() == []
    assert result["added"] == [] and result["removed"] == []
    assert result["changed"] is True  # the file text is normalised
    assert run(args(rules_file))["changed"] is False


def test_arch_restricted_rule_is_a_different_rule(kernel, rules_file):
    kernel.rules = ["-a always,exit -F arch=b64 -S all -F path=/etc/containers -F perm=wa -F key=podsec_t_conf"]
    result = run(args(rules_file, watches=[{"path": "/etc/containers", "key": "podsec_t_conf"}]))
    assert result["added"] == ["-w /etc/containers -p wa -k podsec_t_conf"]
    assert kernel.rules[0].startswith("-a always,exit -F arch=b64")


def test_permission_change_replaces_owned_rule(kernel, rules_file):
    run(args(rules_file))
    result = run(args(rules_file, watches=[{"path": "/etc/containers", "key": "podsec_t_conf", "permissions": "rwa"}]))
    assert result["removed"] == ["-w /etc/containers -p wa -k podsec_t_conf"]
    assert result["added"] == ["-w /etc/containers -p rwa -k podsec_t_conf"]
    assert kernel.changes()[-2:] == [
        ["-W", "/etc/containers", "-p", "wa", "-k", "podsec_t_conf"],
        ["-w", "/etc/containers", "-p", "rwa", "-k", "podsec_t_conf"],
    ]
    # not exclusive: the podman watch stays
    assert "-w /usr/bin/podman -p wxa -k podsec_t_bin" in kernel.rules


def test_absent_removes_exactly_its_rule(kernel, rules_file):
    kernel.rules = ["-w /etc/passwd -p wa -k identity", "-w /etc/containers -p wa -k other_key"]
    run(args(rules_file))
    result = run({"rules_file": str(rules_file), "path": "/etc/containers", "key": "podsec_t_conf", "state": "absent"})
    assert result["changed"] is True
    assert result["removed"] == ["-w /etc/containers -p wa -k podsec_t_conf"]
    assert kernel.rules == [
        "-w /etc/passwd -p wa -k identity",
        "-w /etc/containers -p wa -k other_key",
        "-w /usr/bin/podman -p wxa -k podsec_t_bin",
    ]
    assert rules_file.read_text().splitlines()[2:] == ["-w /usr/bin/podman -p wxa -k podsec_t_bin"]


def test_exclusive_removes_only_owned_rules(kernel, rules_file):
    kernel.rules = ["-w /etc/passwd -p wa -k identity"]
    run(args(rules_file))
    result = run(args(rules_file, exclusive=True, watches=[{"path": "/usr/bin/podman", "permissions": "wxa", "key": "podsec_t_bin"}]))
    assert result["removed"] == ["-w /etc/containers -p wa -k podsec_t_conf"]
    assert kernel.rules == ["-w /etc/passwd -p wa -k identity", "-w /usr/bin/podman -p wxa -k podsec_t_bin"]
    # everything off: the file keeps only its header, the foreign rule stays loaded
    result = run(args(rules_file, exclusive=True, watches=[]))
    assert kernel.rules == ["-w /etc/passwd -p wa -k identity"]
    assert result["rules"] == []
    assert rules_file.read_text().splitlines()[2:] == []


def test_backup_keeps_the_previous_file(kernel, rules_file):
    rules_file.write_text("# old content\n")
    result = run(args(rules_file, backup=True))
    backups = [path for path in rules_file.parent.iterdir() if path.name.startswith(rules_file.name + ".")]
    assert [str(path) for path in backups] == [result["backup_file"]]
    assert backups[0].read_text() == "# old content\n"
    assert "backup_file" not in run(args(rules_file, backup=True))


def test_foreign_lines_in_owned_file_are_kept(kernel, rules_file):
    rules_file.write_text("-a always,exit -F arch=b64 -S execve -k exec\n")
    run(args(rules_file, exclusive=True))
    assert rules_file.read_text().splitlines()[-1] == "-a always,exit -F arch=b64 -S execve -k exec"


def test_kernel_refusal_rolls_back_and_keeps_file(kernel, rules_file):
    rules_file.write_text("# old content\n")
    kernel.refuse = {"/usr/bin/podman"}
    result = run(args(rules_file), expect=FailJson)
    assert "Error sending add rule data request (No such file or directory)" in result["msg"]
    assert "-w /usr/bin/podman -p wxa -k podsec_t_bin" in result["msg"]
    assert "1 earlier change(s) of this run were rolled back" in result["msg"]
    assert kernel.rules == []
    assert kernel.changes()[-1] == ["-W", "/etc/containers", "-p", "wa", "-k", "podsec_t_conf"]
    assert rules_file.read_text() == "# old content\n"


def test_kernel_refusal_without_file_creates_none(kernel, rules_file):
    kernel.refuse = {"/etc/containers"}
    run(args(rules_file), expect=FailJson)
    assert not rules_file.exists()


def test_immutable_live_does_not_touch_kernel(kernel, rules_file):
    kernel.enabled = 2
    result = run(args(rules_file))
    assert kernel.changes() == []
    assert result["immutable"] is True and result["reboot_required"] is True
    assert result["changed"] is True
    assert result["added"] == WANTED
    assert rules_file.read_text().splitlines()[2:] == sorted(WANTED)
    assert any("immutable" in warning and "reboot" in warning for warning in result["warnings"])
    # persisted and still not live: still reboot_required, but nothing changes any more
    again = run(args(rules_file))
    assert again["changed"] is False and again["reboot_required"] is True


def test_immutable_with_kernel_in_sync_needs_no_reboot(kernel, rules_file):
    run(args(rules_file))
    kernel.enabled = 2
    result = run(args(rules_file))
    assert result == dict(result, changed=False, immutable=True, reboot_required=False)
    assert not any("immutable" in warning for warning in result["warnings"])


def test_persisted_e2_counts_as_immutable(kernel, rules_file):
    (rules_file.parent / "99-finalize.rules").write_text("## lock\n-e 2\n")
    result = run(args(rules_file))
    assert kernel.changes() == []
    assert result["immutable"] is True and result["reboot_required"] is True
    assert "-e 2 is persisted" in result["warnings"][0]


def test_persisted_e2_overridden_later_is_not_immutable(kernel, rules_file):
    (rules_file.parent / "90-lock.rules").write_text("-e 2\n")
    (rules_file.parent / "99-unlock.rules").write_text("-e 1\n")
    result = run(args(rules_file))
    assert result["immutable"] is False
    assert kernel.rules == WANTED


def test_check_mode_has_no_side_effects(kernel, rules_file):
    result = run(dict(args(rules_file), _ansible_check_mode=True))
    assert result["changed"] is True and result["added"] == WANTED
    assert kernel.changes() == [] and kernel.rules == []
    assert not rules_file.exists()


def test_diff_mode_shows_file_and_live_rules(kernel, rules_file):
    kernel.rules = ["-w /etc/passwd -p wa -k identity"]
    result = run(dict(args(rules_file), _ansible_diff=True, _ansible_check_mode=True))
    file_diff, live_diff = result["diff"]
    assert file_diff["before"] == "" and file_diff["before_header"] == str(rules_file)
    assert file_diff["after"].splitlines()[2:] == sorted(WANTED)
    assert live_diff["before"] == "-w /etc/passwd -p wa -k identity\n"
    assert live_diff["after"].splitlines() == ["-w /etc/passwd -p wa -k identity"] + WANTED


def test_disabled_audit_warns(kernel, rules_file):
    kernel.enabled = 0
    result = run(args(rules_file))
    assert result["audit_enabled"] == 0
    assert any("enabled 0" in warning for warning in result["warnings"])
    assert result["disabled_at_boot"] == []


def test_audit_off_on_the_kernel_command_line_is_reported(kernel, rules_file, cmdline):
    cmdline.write_text("BOOT_IMAGE=/vmlinuz root=/dev/vda ro audit=0 quiet\n")
    kernel.enabled = 0
    result = run(args(rules_file))
    assert len(result["disabled_at_boot"]) == 1 and "audit=0" in result["disabled_at_boot"][0]
    assert [w for w in result["warnings"] if "disabled at boot" in w and "audit=0" in w]
    # The watches are still written and loaded: they record once audit is on.
    assert rules_file.exists() and len(kernel.rules) == 2


def test_a_persisted_e_0_is_reported(kernel, rules_file, cmdline):
    (rules_file.parent / "10-distribution.rules").write_text("-D\n-e 0\n")
    result = run(args(rules_file))
    assert len(result["disabled_at_boot"]) == 1 and "-e 0" in result["disabled_at_boot"][0]
    assert [w for w in result["warnings"] if "disabled at boot" in w and "-e 0" in w]


def test_a_later_enable_overrides_a_distribution_e_0(kernel, rules_file, cmdline):
    """Control: the same -e 0 followed by a later -e 1 is not reported."""
    (rules_file.parent / "10-distribution.rules").write_text("-D\n-e 0\n")
    (rules_file.parent / "99-site.rules").write_text("-e 1\n")
    result = run(args(rules_file))
    assert result["disabled_at_boot"] == []
    assert not [w for w in result["warnings"] if "disabled at boot" in w]


def test_validation_happens_before_auditctl(kernel, rules_file):
    result = run(args(rules_file, watches=[{"path": "/etc/*", "key": "podsec_t_conf"}]), expect=FailJson)
    assert "watch #1 (/etc/*)" in result["msg"] and "wildcard" in result["msg"]
    assert kernel.calls == []


def test_key_too_long(kernel, rules_file):
    result = run({"rules_file": str(rules_file), "path": "/etc/passwd", "key": "k" * 32}, expect=FailJson)
    assert "at most 31" in result["msg"]
    assert kernel.calls == []


def test_auditctl_missing(kernel, rules_file, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: None)
    result = run(args(rules_file), expect=FailJson)
    assert "auditctl was not found" in result["msg"] and "auditd" in result["msg"]
    assert kernel.calls == []


def test_listing_failure_is_reported(kernel, rules_file, monkeypatch):
    monkeypatch.setattr(
        basic.AnsibleModule,
        "run_command",
        lambda self, args, **kw: (1, "", "You must be root to run this program.") if args[1] == "-l" else kernel.run_command(args),
    )
    result = run(args(rules_file), expect=FailJson)
    assert "auditctl -l failed" in result["msg"] and "You must be root" in result["msg"]
    assert not rules_file.exists()


def test_missing_rules_directory(kernel, tmp_path):
    result = run(args(tmp_path / "nope" / "x.rules"), expect=FailJson)
    assert "does not exist" in result["msg"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"path": "/etc/passwd"}, "watches"),  # watches and path together
        ({"watches": None, "path": "/etc/passwd"}, "key"),  # path without key
        ({"watches": None}, "one of the following is required"),
    ],
)
def test_argument_combinations(kernel, rules_file, bad, message):
    given = args(rules_file)
    given.update(bad)
    if given.get("watches") is None:
        given.pop("watches")
    result = run(given, expect=FailJson)
    assert message in result["msg"]


# ------------------------------------------------------------------ issue 16: full-match validation


@pytest.mark.parametrize("watch, fragment", [
    ({"path": "/etc/containers", "key": "podsec_t_conf\n"}, "may only contain letters"),
    ({"path": "/etc/containers\n", "key": "podsec_t_conf"}, "control characters"),
    ({"path": "/etc/contai\x85ners", "key": "podsec_t_conf"}, "control characters"),
    ({"path": "/etc/containers", "key": "podsec_t_conf", "permissions": "wa\n"}, "unknown letter"),
    ({"path": "/etc/" + "c" * 300, "key": "podsec_t_conf"}, "is 300 bytes long"),
])
def test_a_trailing_newline_or_control_character_is_refused(kernel, rules_file, watch, fragment):
    result = run(args(rules_file, watches=[watch]), expect=FailJson)
    assert "watch #1" in result["msg"] and fragment in result["msg"], result
    assert kernel.calls == [] and not rules_file.exists()


def test_control_the_same_key_without_newline_is_written_once_and_stays_unchanged(kernel, rules_file):
    watches = [{"path": "/etc/containers", "key": "podsec_t_conf"}]
    assert run(args(rules_file, watches=watches))["changed"] is True
    text = rules_file.read_text()
    assert "\n\n" not in text and text.count("-k podsec_t_conf") == 1
    assert run(args(rules_file, watches=watches))["changed"] is False


@pytest.mark.parametrize("name, fragment", [("podsec\n.rules", "rules_file: control character"),
                                            ("podsec.conf", "must end with .rules")])
def test_rules_file_is_validated(kernel, rules_file, name, fragment):
    result = run(args(rules_file.parent / name), expect=FailJson)
    assert result["msg"].startswith("rules_file:") and fragment in result["msg"]
    assert kernel.calls == []


def test_missing_paths_skip_leaves_out_what_the_target_lacks(kernel, rules_file, tmp_path):
    present = tmp_path / "present.conf"
    present.write_text("")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    gone = tmp_path / "gone.conf"
    watches = [{"path": str(path), "key": "podsec_t_conf"} for path in (present, dangling, gone)]
    result = run(args(rules_file, watches=watches, missing_paths="skip", exclusive=True))
    assert result["skipped_paths"] == [str(gone)]
    assert sorted(kernel.rules) == sorted("-w %s -p wa -k podsec_t_conf" % path for path in (present, dangling))
    assert rules_file.read_text().splitlines()[2:] == sorted(kernel.rules)
    # The path appears: the next run watches it. It goes again: exclusive mode drops its watch.
    gone.write_text("")
    result = run(args(rules_file, watches=watches, missing_paths="skip", exclusive=True))
    assert result["skipped_paths"] == [] and result["added"] == ["-w %s -p wa -k podsec_t_conf" % gone]
    gone.unlink()
    result = run(args(rules_file, watches=watches, missing_paths="skip", exclusive=True))
    assert result["skipped_paths"] == [str(gone)] and result["removed"] == ["-w %s -p wa -k podsec_t_conf" % gone]


def test_control_missing_paths_watch_passes_a_missing_path_to_the_kernel(kernel, rules_file, tmp_path):
    gone = tmp_path / "gone.conf"
    result = run(args(rules_file, watches=[{"path": str(gone), "key": "podsec_t_conf"}]))
    assert result["skipped_paths"] == [] and kernel.rules == ["-w %s -p wa -k podsec_t_conf" % gone]
