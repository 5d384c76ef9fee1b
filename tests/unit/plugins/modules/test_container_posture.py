# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_posture module: commands it runs (at the run_command boundary) and the facts it returns."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.podsec.hardening.plugins.modules import container_posture
from ansible_collections.podsec.hardening.tests.unit.plugins.module_utils.test_posture import (
    DEBIAN_POLICY, HARDENED, INSECURE, SECRET_VALUE,
)


class ExitJson(Exception):
    pass


class Recorder(object):
    """Answers the module's commands like a Podman host inside systemd-nspawn would."""

    def __init__(self, ps="", inspect="[]", inspect_rc=0):
        self.calls = []
        self.ps = ps
        self.inspect = inspect
        self.inspect_rc = inspect_rc

    def __call__(self, module, args, **kwargs):
        self.calls.append(list(args))
        name = os.path.basename(args[0])
        if "podman" in [os.path.basename(a) for a in args]:
            if "ps" in args:
                return 0, self.ps, ""
            return self.inspect_rc, self.inspect, ""
        if name == "systemctl" and "list-units" in args:
            return 0, "podman.socket loaded active listening Podman API Socket\n", ""
        if name == "systemctl":
            return 0, "Id=podman.socket\nTriggers=podman.service\nListen=/run/podman/podman.sock (Stream)\n" \
                      "ActiveState=active\nUnitFileState=enabled\n", ""
        if name == "ss":
            return 0, "", ""
        if name == "auditctl":
            return 1, "", "Cannot open netlink audit socket\n"
        raise AssertionError("unexpected command %r" % (args,))


@pytest.fixture
def run(monkeypatch, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(DEBIAN_POLICY)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return "/usr/bin/" + name

    def exit_json(self, **kwargs):
        raise ExitJson(kwargs)

    def fail_json(self, **kwargs):
        raise AssertionError("fail_json: %r" % kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def runner(recorder, **args):
        def run_command(self, args, **kwargs):
            return recorder(self, args, **kwargs)

        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        args.setdefault("policy_path", str(policy))
        args.setdefault("socket_path", str(tmp_path / "missing.sock"))
        with patch_module_args(args):
            with pytest.raises(ExitJson) as exc:
                container_posture.main()
        return exc.value.args[0]

    return runner


def test_one_inspect_for_all_containers_and_no_secret_value(run):
    recorder = Recorder(ps="%s\n%s\n" % (HARDENED["Id"], INSECURE["Id"]), inspect=json.dumps([HARDENED, INSECURE]))
    result = run(recorder)
    assert result["changed"] is False
    posture = result["ansible_facts"]["podsec_posture"]
    inspects = [c for c in recorder.calls if "inspect" in c]
    assert inspects == [["/usr/bin/podman", "container", "inspect", HARDENED["Id"], INSECURE["Id"]]]
    assert [c["name"] for c in posture["containers"]] == ["systemd-web", "legacy-db"]
    assert posture["containers"][0]["findings"] == 0
    targets = set(f["target"] for f in posture["findings"])
    assert targets == {"legacy-db", "host"}
    host_ids = sorted(f["id"] for f in posture["findings"] if f["target"] == "host")
    assert host_ids == ["host_audit_unavailable", "host_trust_accept_anything"]
    assert posture["audit_available"] is False
    assert posture["checked"] == ["root"]
    assert SECRET_VALUE not in json.dumps(result)


def test_no_containers_means_no_inspect(run):
    recorder = Recorder(ps="")
    posture = run(recorder, check_audit=False)["ansible_facts"]["podsec_posture"]
    assert not [c for c in recorder.calls if "inspect" in c]
    assert posture["containers"] == []
    assert [f["id"] for f in posture["findings"]] == ["host_trust_accept_anything"]


def test_container_gone_between_ps_and_inspect(run):
    recorder = Recorder(ps="a\nb\n", inspect=json.dumps([HARDENED]), inspect_rc=125)
    posture = run(recorder, check_audit=False)["ansible_facts"]["podsec_posture"]
    assert [c["name"] for c in posture["containers"]] == ["systemd-web"]


def test_unknown_rootless_user_is_reported(run):
    recorder = Recorder()
    posture = run(recorder, rootful=False, users=["no-such-user-podsec"], check_audit=False)["ansible_facts"]["podsec_posture"]
    assert ("host_inspect_failed", "user no-such-user-podsec") in [(f["id"], f["target"]) for f in posture["findings"]]
    assert posture["checked"] == []
    assert not [c for c in recorder.calls if "podman" in c[0]]


def test_world_accessible_socket(run, tmp_path):
    sock = tmp_path / "podman.sock"
    sock.write_text("")
    os.chmod(str(sock), 0o666)
    posture = run(Recorder(), socket_path=str(sock), check_audit=False)["ansible_facts"]["podsec_posture"]
    assert "host_podman_socket_world" in [f["id"] for f in posture["findings"]]
