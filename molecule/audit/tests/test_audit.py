# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What an operator would check after the audit role ran on this machine (real kernel audit).

Runs on the local backend: the scenario's only host is this machine.
"""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest
import yaml

testinfra_hosts = ["local://"]

with open(os.path.join(os.path.dirname(__file__), "..", "vars", "main.yml"), encoding="utf-8") as _handle:
    VARS = yaml.safe_load(_handle)

ROOT = VARS["podsec_test_root"]
LOGINUID = VARS["podsec_test_loginuid"]
PODMAN_ARGS = " ".join(VARS["podsec_test_podman_args"])


def live_rules(host):
    return host.check_output("auditctl -l").splitlines()


def find_event(host, key, marker, since=0, timeout=20):
    """Poll the audit log for an event of ``key`` that mentions ``marker`` and is not older than ``since``."""
    deadline = time.time() + timeout
    while True:
        result = host.run("ausearch --input-logs -k %s" % key)
        for event in result.stdout.split("\n----\n"):
            stamp = re.search(r"msg=audit\((\d+)\.\d+:\d+\)", event)
            if marker in event and stamp and int(stamp.group(1)) >= int(since):
                return event
        if time.time() > deadline:
            return None
        time.sleep(1)


def test_watches_are_loaded_in_the_kernel(host):
    rules = live_rules(host)
    for expected in VARS["podsec_test_expected_rules"]:
        assert expected in rules
    # Nothing else with a test key, and loaded in the file's order (more specific paths first).
    assert [line for line in rules if "podsec_t_" in line] == VARS["podsec_test_expected_rules"]


def test_missing_path_is_skipped(host):
    assert not host.file(ROOT + "/usr/bin/runc").exists
    assert not [line for line in live_rules(host) if "/usr/bin/runc" in line]


def test_rules_file_is_persisted(host):
    rules_file = host.file(VARS["podsec_test_rules_file"])
    assert rules_file.exists and rules_file.user == "root" and rules_file.mode == 0o640
    lines = rules_file.content_string.splitlines()
    assert lines[0].startswith("# Ansible managed")
    assert [line for line in lines if not line.startswith("#")] == VARS["podsec_test_expected_rules"]


def test_audit_is_enabled_and_never_immutable(host):
    status = host.check_output("auditctl -s").splitlines()
    assert "enabled 1" in status
    assert not host.file(VARS["podsec_test_finalize_file"]).exists


def test_loginuid_can_be_set_here(host):
    # Precondition of the auid tests below: a fresh process may set its own login UID once.
    assert host.check_output("sh -c 'echo %d > /proc/self/loginuid; cat /proc/self/loginuid'" % LOGINUID) == str(LOGINUID)


def test_write_is_recorded_with_the_login_uid(host):
    marker = "probe-%s" % uuid.uuid4().hex
    unwatched = "%s/unwatched/%s" % (ROOT, marker)
    watched = "%s/data/%s" % (ROOT, marker)
    host.run_test("sh -c 'echo %d > /proc/self/loginuid; echo x > %s; echo x > %s'" % (LOGINUID, unwatched, watched))
    event = find_event(host, "podsec_t_data", watched)
    assert event is not None, "no podsec_t_data event for %s" % watched
    assert " auid=%d " % LOGINUID in event
    assert 'key="podsec_t_data"' in event
    # The file outside the watched tree produced no event at all (same process, written first).
    assert unwatched not in host.run("ausearch --input-logs -f %s" % unwatched).stdout


def test_write_through_a_container_keeps_the_login_uid(host):
    marker = "podman-probe-%s" % uuid.uuid4().hex
    inner = "echo x > /data/%s; cat /proc/self/loginuid" % marker
    command = "sh -c 'echo %d > /proc/self/loginuid; exec podman run --rm %s -v %s/data:/data %s /bin/sh -c \"%s\"'" % (
        LOGINUID,
        PODMAN_ARGS,
        ROOT,
        VARS["podsec_test_image"],
        inner,
    )
    result = host.run(command)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == str(LOGINUID)  # the container process itself carries the login UID
    assert host.file("%s/data/%s" % (ROOT, marker)).exists
    event = find_event(host, "podsec_t_data", marker)
    assert event is not None, "no podsec_t_data event for the container write %s" % marker
    assert " auid=%d " % LOGINUID in event
    # Written by busybox inside the container, not by a host tool.
    assert 'exe="/bin/busybox"' in event
    assert 'name="/data/%s"' % marker in event


@pytest.mark.parametrize("path, key", [(ROOT + "/etc/passwd", "podsec_t_identity"), (ROOT + "/etc/containers/policy.json", "podsec_t_trust")])
def test_attribute_change_is_recorded(host, path, key):
    since = time.time() - 1
    host.run_test("sh -c 'echo %d > /proc/self/loginuid; chmod 0640 %s; chmod 0644 %s'" % (LOGINUID, path, path))
    event = find_event(host, key, 'name="%s"' % path, since=since)
    assert event is not None
    assert " auid=%d " % LOGINUID in event
