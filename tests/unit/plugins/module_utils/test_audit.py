# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure logic of audit watches: parse, validate, render, diff."""

from __future__ import annotations

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _audit
from ansible_collections.podsec.hardening.plugins.module_utils._audit import AuditError, Watch


def watch(path, permissions="wa", *keys):
    return Watch(path=path, permissions=permissions, keys=tuple(keys))


# Lines marked "seen" were printed by auditctl -l (audit 3.0.9, kernel 6.18) on the development machine
# for the rule given in the comment; the others are rules-file syntax accepted by auditctl -R.
PARSE_TABLE = [
    # seen: auditctl -w /tmp/audprobe/f -p wa -k probe_t
    ("-w /tmp/audprobe/f -p wa -k probe_t", watch("/tmp/audprobe/f", "wa", "probe_t")),
    # seen: auditctl -w /tmp/audprobe/f  (no -p means all four)
    ("-w /tmp/audprobe/f -p rwxa", watch("/tmp/audprobe/f", "rwxa")),
    # seen: auditctl -a exit,always -F dir=/tmp/audprobe -F perm=wa -F key=probe_x
    ("-w /tmp/audprobe -p wa -k probe_x", watch("/tmp/audprobe", "wa", "probe_x")),
    # seen: auditctl -w /tmp/audprobe/f -p x -k k1 -k k2
    ("-w /tmp/audprobe/f -p x -k k1 -k k2", watch("/tmp/audprobe/f", "x", "k1", "k2")),
    # seen: auditctl -w "/tmp/aud probe" -p wa -k sp (auditctl -l prints the path verbatim)
    ("-w /tmp/aud probe -p wa -k sp", watch("/tmp/aud probe", "wa", "sp")),
    # audit-userspace auditctl-listing.c prints a directory watch as "-w DIR/"
    ("-w /etc/containers/ -p wa -k c", watch("/etc/containers", "wa", "c")),
    # rules-file forms
    ("-w /etc/passwd -k identity -p aw", watch("/etc/passwd", "wa", "identity")),
    ("-w /etc/passwd", watch("/etc/passwd", "rwxa")),
    ("-a always,exit -F path=/run/podman -F perm=war -F key=podman", watch("/run/podman", "rwa", "podman")),
    ("-a exit,always -F path=/run/podman -F perm=war", watch("/run/podman", "rwa")),
    ("-a always,exit -S all -F dir=/etc/containers -F perm=wa -k c", watch("/etc/containers", "wa", "c")),
    ("   -w /usr/bin/podman -p xa -k podman   ", watch("/usr/bin/podman", "xa", "podman")),
]


@pytest.mark.parametrize("line, expected", PARSE_TABLE)
def test_parse_watch_lines(line, expected):
    rule = _audit.parse_rule_line(line)
    assert rule.watch == expected


NOT_A_WATCH = [
    # seen: auditctl -a exit,always -F arch=b64 -S all -F path=/tmp/audprobe/f -F perm=war -F key=probe_a
    ("-a always,exit -F arch=b64 -S all -F path=/tmp/audprobe/f -F perm=rwa -F key=probe_a", "/tmp/audprobe/f"),
    # seen: auditctl -a always,exit -F arch=b64 -S openat -F path=/tmp/audprobe/f -F key=probe_z
    ("-a always,exit -F arch=b64 -S openat -F path=/tmp/audprobe/f -F key=probe_z", "/tmp/audprobe/f"),
    ("-a always,exit -F path=/f -F key=z", "/f"),  # no perm field: a syscall rule
    ("-a always,exit -F path=/f -F perm=wa -F auid>=1000 -k z", "/f"),
    ("-a never,exit -F path=/f -F perm=wa", "/f"),
    ("-W /etc/passwd -p wa -k identity", "/etc/passwd"),
    ("-w /f -p wq -k z", "/f"),
]


@pytest.mark.parametrize("line, path", NOT_A_WATCH)
def test_rules_with_more_fields_are_not_plain_watches(line, path):
    rule = _audit.parse_rule_line(line)
    assert rule.watch is None
    assert rule.path == path
    assert not rule.control


@pytest.mark.parametrize("line", ["-e 2", "-D", "-b 8192", "--loginuid-immutable", "--backlog_wait_time 60000", "-f 1"])
def test_control_lines(line):
    rule = _audit.parse_rule_line(line)
    assert rule.control and rule.watch is None


@pytest.mark.parametrize("text", ["No rules\n", "", "# only a comment\n\n", None])
def test_empty_listing(text):
    assert _audit.parse_rules(text) == []


def test_parse_full_listing_keeps_order():
    text = "-w /a -p wa -k one\n-a always,exit -F arch=b64 -S execve -k exec\n-w /b -p rwxa -k two\n"
    rules = _audit.parse_rules(text)
    assert [rule.line for rule in rules] == text.splitlines()
    assert _audit.plain_watches(rules) == [watch("/a", "wa", "one"), watch("/b", "rwxa", "two")]


@pytest.mark.parametrize(
    "given, expected",
    [("wa", "wa"), ("aw", "wa"), ("awxr", "rwxa"), ("xx", "x"), ("rwxa", "rwxa"), ("ar", "ra")],
)
def test_normalize_permissions(given, expected):
    assert _audit.normalize_permissions(given) == expected


@pytest.mark.parametrize("given", ["", "rwq", "WA", "w a", None, 7])
def test_normalize_permissions_refuses(given):
    with pytest.raises(AuditError):
        _audit.normalize_permissions(given)


VALIDATION_TABLE = [
    ({"path": "relative/file", "key": "k"}, "not absolute"),
    ({"path": "/", "key": "k"}, "root directory"),
    ({"path": "//", "key": "k"}, "root directory"),
    ({"path": "/etc/*.conf", "key": "k"}, "wildcard"),
    ({"path": "/etc/pass?d", "key": "k"}, "wildcard"),
    ({"path": "/etc/[ab]", "key": "k"}, "wildcard"),
    ({"path": "/etc/my file", "key": "k"}, "whitespace"),
    ({"path": "/etc/x\ny", "key": "k"}, "whitespace"),
    ({"path": "/etc/../shadow", "key": "k"}, "'..'"),
    ({"path": "", "key": "k"}, "non-empty"),
    ({"path": "/etc/passwd", "key": "a" * 32}, "at most 31"),
    ({"path": "/etc/passwd", "key": "has space"}, "letters, digits"),
    ({"path": "/etc/passwd", "key": "key\nnext"}, "letters, digits"),
    ({"path": "/etc/passwd", "key": "a.b"}, "letters, digits"),
    ({"path": "/etc/passwd", "key": ""}, "non-empty"),
    ({"path": "/etc/passwd", "key": None}, "non-empty"),
    ({"path": "/etc/passwd", "key": "k", "permissions": "rwz"}, "unknown letter"),
    ({"path": "/etc/passwd", "key": "k", "state": "gone"}, "present or absent"),
]


@pytest.mark.parametrize("item, message", VALIDATION_TABLE)
def test_validation_refuses(item, message):
    with pytest.raises(AuditError) as exc:
        _audit.validate_watches([{"path": "/ok", "key": "fine"}, item])
    assert message in str(exc.value)
    assert str(exc.value).startswith("watch #2 (")


def test_validation_accepts_and_normalises():
    present, absent = _audit.validate_watches(
        [
            {"path": "/etc/containers/", "key": "podsec_containers", "permissions": "aw"},
            {"path": "/usr/bin/podman", "key": "A-z_0-9" + "x" * 24},
            {"path": "/etc/shadow", "key": "identity", "state": "absent"},
            {"path": "/etc/containers", "key": "podsec_containers", "permissions": "wa"},  # same item again
        ]
    )
    assert present == [watch("/etc/containers", "wa", "podsec_containers"), watch("/usr/bin/podman", "wa", "A-z_0-9" + "x" * 24)]
    assert absent == [("/etc/shadow", ("identity",))]


def test_validation_refuses_conflicting_duplicates():
    with pytest.raises(AuditError, match="more than once"):
        _audit.validate_watches([{"path": "/a", "key": "k"}, {"path": "/a", "key": "k", "state": "absent"}])
    with pytest.raises(AuditError, match="more than once"):
        _audit.validate_watches([{"path": "/a", "key": "k"}, {"path": "/a", "key": "k", "permissions": "r"}])


# Parsing-boundary tests for immutable detection: the module only ever sees auditctl -s output.
# These samples are what auditctl prints; immutable mode itself is never enabled on a test machine.
STATUS_AUDIT3_IMMUTABLE = """enabled 2
failure 1
pid 812
rate_limit 0
backlog_limit 8192
lost 0
backlog 0
backlog_wait_time 60000
backlog_wait_time_actual 0
loginuid_immutable 1 locked
"""
# seen on the development machine (audit 3.0.9, auditd not running)
STATUS_AUDIT3_DISABLED = """enabled 0
failure 1
pid 0
rate_limit 0
backlog_limit 64
lost 0
backlog 0
backlog_wait_time 15000
backlog_wait_time_actual 0
loginuid_immutable 0 unlocked
"""
# old one-line form (audit-userspace auditctl-listing.c, AUDIT_GET reply)
STATUS_OLD_IMMUTABLE = "AUDIT_STATUS: enabled=2 flag=1 pid=812 rate_limit=0 backlog_limit=320 lost=0 backlog=0\n"
STATUS_OLD_ENABLED = "AUDIT_STATUS: enabled=1 flag=1 pid=812 rate_limit=0 backlog_limit=320 lost=0 backlog=0\n"


@pytest.mark.parametrize(
    "text, enabled, immutable",
    [
        (STATUS_AUDIT3_IMMUTABLE, 2, True),
        (STATUS_AUDIT3_DISABLED, 0, False),
        (STATUS_AUDIT3_DISABLED.replace("enabled 0", "enabled 1"), 1, False),
        (STATUS_OLD_IMMUTABLE, 2, True),
        (STATUS_OLD_ENABLED, 1, False),
        ("", None, False),
    ],
)
def test_parsing_boundary_immutable_status(text, enabled, immutable):
    status = _audit.parse_status(text)
    assert status.get("enabled") == enabled
    assert _audit.is_immutable_status(status) is immutable


def test_parse_status_fields():
    status = _audit.parse_status(STATUS_AUDIT3_IMMUTABLE)
    assert status["pid"] == 812 and status["backlog_limit"] == 8192 and status["loginuid_immutable"] is True
    assert _audit.parse_status(STATUS_AUDIT3_DISABLED)["loginuid_immutable"] is False
    assert _audit.parse_status(STATUS_OLD_ENABLED)["failure"] == 1


@pytest.mark.parametrize(
    "text, flag",
    [
        ("-D\n-b 8192\n-e 2\n", 2),
        ("-e 1\n# -e 2\n", 1),
        ("-w /etc/passwd -p wa -k identity\n", None),
        ("-e 2\n-e 1\n", 1),
        ("  -e   2  # lock\n", 2),
    ],
)
def test_enable_flag(text, flag):
    assert _audit.enable_flag(text) == flag


def test_persisted_flag_follows_augenrules_order():
    # ls -v order: 10-base before 99-finalize, 9 before 10; only *.rules files count.
    files = {"99-finalize.rules": "-e 2\n", "10-base.rules": "-e 1\n", "9-x.rules": "-e 1\n"}
    assert _audit.persisted_enable_flag(files) == 2
    files = {"99-finalize.rules": "-e 2\n", "100-late.rules": "-e 1\n"}
    assert _audit.persisted_enable_flag(files) == 1
    assert _audit.persisted_enable_flag({"99-finalize.rules.bak": "-e 2\n"}) is None


def test_rules_dir_files_order(tmp_path):
    for name in ("100-z.rules", "9-a.rules", "10-b.rules", "notes.txt"):
        (tmp_path / name).write_text("")
    assert _audit.rules_dir_files(str(tmp_path)) == ["9-a.rules", "10-b.rules", "100-z.rules"]
    assert _audit.rules_dir_files(str(tmp_path / "missing")) == []


def test_render_rules_file_is_sorted_with_header():
    text = _audit.render_rules_file(
        [watch("/usr/bin/podman", "wxa", "p"), watch("/etc/containers", "wa", "c"), watch("/etc/containers", "wa", "c")],
        preserved_lines=["-a always,exit -F arch=b64 -S execve -k exec"],
    )
    lines = text.splitlines()
    assert lines[0].startswith("# Ansible managed")
    assert lines[2:] == [
        "-w /etc/containers -p wa -k c",
        "-w /usr/bin/podman -p wxa -k p",
        "-a always,exit -F arch=b64 -S execve -k exec",
    ]
    # What we render parses back to the same watches.
    assert _audit.plain_watches(_audit.parse_rules(text)) == [watch("/etc/containers", "wa", "c"), watch("/usr/bin/podman", "wxa", "p")]


def test_more_specific_paths_load_first():
    # The kernel records an event under the first matching rule: a file watch inside a watched
    # directory must be loaded before the directory watch for its own key to show.
    parent = watch("/etc/containers", "wa", "conf")
    child = watch("/etc/containers/policy.json", "wa", "trust")
    sibling = watch("/etc/containers-old", "wa", "old")
    other = watch("/etc/passwd", "wa", "identity")
    assert _audit.sort_watches([other, parent, sibling, child]) == [child, parent, sibling, other]
    text = _audit.render_rules_file([parent, child])
    assert text.splitlines()[2:] == ["-w /etc/containers/policy.json -p wa -k trust", "-w /etc/containers -p wa -k conf"]
    assert _audit.plan_changes([parent, child], [], [], []).live_add == [child, parent]


def test_auditctl_args():
    assert _audit.auditctl_args(watch("/f", "wa", "k")) == ["-w", "/f", "-p", "wa", "-k", "k"]
    assert _audit.auditctl_args(watch("/f", "r", "k"), remove=True) == ["-W", "/f", "-p", "r", "-k", "k"]


A = watch("/a", "wa", "k")
B = watch("/b", "wa", "k")
B_RWXA = watch("/b", "rwxa", "k")
C = watch("/c", "wa", "k")
FOREIGN = watch("/a", "wa", "other")


@pytest.mark.parametrize(
    "present, absent, owned, live, exclusive, expected",
    [
        # nothing loaded yet: add everything, file gets both
        ([A, B], [], [], [], False, ([A, B], [], [A, B], [A, B], [])),
        # idempotent: all there
        ([A, B], [], [A, B], [A, B], False, ([], [], [A, B], [], [])),
        # live already has it (loaded by someone else): adopt into the file, no live change
        ([A], [], [], [A], False, ([], [], [A], [A], [])),
        # permissions changed: the owned old rule is replaced live and in the file
        ([B_RWXA], [], [B], [B], False, ([B_RWXA], [B], [B_RWXA], [B_RWXA], [B])),
        # a live rule with the same path and another key is not ours and stays
        ([A], [], [], [FOREIGN], False, ([A], [], [A], [A], [])),
        # not exclusive: owned rules not listed stay
        ([A], [], [A, C], [A, C], False, ([], [], [A, C], [], [])),
        # exclusive: owned rules not listed go, foreign live rules stay
        ([A], [], [A, C], [A, C, FOREIGN], True, ([], [C], [A], [], [C])),
        # exclusive: an owned rule that is no longer live is only dropped from the file
        ([], [], [C], [], True, ([], [], [], [], [C])),
        # absent: removed live (any permissions) and from the file
        ([], [("/b", ("k",))], [B], [B_RWXA, B], False, ([], [B, B_RWXA], [], [], [B])),
        # absent for something never there: nothing to do
        ([], [("/z", ("k",))], [A], [A], False, ([], [], [A], [], [])),
    ],
)
def test_plan_changes(present, absent, owned, live, exclusive, expected):
    plan = _audit.plan_changes(present, absent, owned, live, exclusive=exclusive)
    live_add, live_remove, file_rules, file_added, file_removed = expected
    assert plan.live_add == live_add
    assert plan.live_remove == live_remove
    assert plan.file_rules == file_rules
    assert plan.file_added == file_added
    assert plan.file_removed == file_removed


def test_live_lines_after():
    live_lines = ["-w /b -p wa -k k", "-a always,exit -F arch=b64 -S execve -k exec"]
    plan = _audit.plan_changes([B_RWXA], [], [B], [B])
    assert _audit.live_lines_after(live_lines, plan) == [
        "-a always,exit -F arch=b64 -S execve -k exec",
        "-w /b -p rwxa -k k",
    ]


@pytest.mark.parametrize(
    "cmdline, expected",
    [
        ("BOOT_IMAGE=/vmlinuz root=/dev/vda ro quiet", None),
        ("root=/dev/vda audit=0", False),
        ("root=/dev/vda audit=off", False),
        ("root=/dev/vda audit=1 audit_backlog_limit=8192", True),
        ("audit=0 audit=1", True),
        ("audit=1 audit=0\n", False),
        ("audit_backlog_limit=0 noaudit=0", None),
        ("", None),
    ],
)
def test_boot_parameter(cmdline, expected):
    assert _audit.boot_parameter(cmdline) is expected


@pytest.mark.parametrize(
    "cmdline, flag, count, words",
    [
        ("root=/dev/vda audit=1", 1, 0, []),
        ("root=/dev/vda", None, 0, []),
        ("root=/dev/vda", 2, 0, []),
        ("root=/dev/vda audit=0", 1, 1, ["audit=0", "kernel command line"]),
        ("root=/dev/vda", 0, 1, ["-e 0", "rules directory"]),
        ("audit=0", 0, 2, ["audit=0", "-e 0"]),
    ],
)
def test_disabled_at_boot(cmdline, flag, count, words):
    reasons = _audit.disabled_at_boot(cmdline, flag)
    assert len(reasons) == count
    for word in words:
        assert any(word in reason for reason in reasons), reasons


def test_disabled_at_boot_follows_the_augenrules_order():
    """A distribution's -e 0 is overridden by a later file's -e 1 or -e 2, and the other way round."""
    later_enables = {"10-no-audit.rules": "-D\n-e 0\n", "99-podsec-finalize.rules": "-e 2\n"}
    assert _audit.disabled_at_boot("", _audit.persisted_enable_flag(later_enables)) == []
    later_disables = {"10-base.rules": "-e 1\n", "99-zz-off.rules": "-e 0\n"}
    assert _audit.disabled_at_boot("", _audit.persisted_enable_flag(later_disables))


def test_split_missing_keeps_the_order_and_names_each_missing_path_once():
    watches = [Watch(path=path, permissions="wa", keys=(key,))
               for path, key in (("/b", "k1"), ("/a", "k1"), ("/b", "k2"), ("/c", "k1"))]
    watched, skipped = _audit.split_missing(watches, lambda path: path != "/b")
    assert [watch.path for watch in watched] == ["/a", "/c"]
    assert skipped == ["/b"]
