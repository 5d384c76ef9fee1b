# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_posture module: commands it runs (at the run_command boundary) and the facts it returns."""

from __future__ import annotations

import json
import os
import pwd
import socket

import pytest

from ansible.module_utils import basic

from ansible_collections.podsec.hardening.plugins.modules import container_posture
from ansible_collections.podsec.hardening.tests.unit.plugins.module_utils.test_posture import (
    DEBIAN_POLICY, HARDENED, INSECURE, SECRET_VALUE,
)


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
def run(monkeypatch, tmp_path, module_runner):
    policy = tmp_path / "policy.json"
    policy.write_text(DEBIAN_POLICY)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return "/usr/bin/" + name

    # This machine's own sockets and users stay out of it, unless a test sets them up.
    monkeypatch.setattr(container_posture._posture, "ENGINE_SOCKET_PATHS", ())
    monkeypatch.setattr(container_posture, "SOCKET_GLOBS", ())
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)

    def runner(recorder, **args):
        def run_command(self, args, **kwargs):
            return recorder(self, args, **kwargs)

        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        args.setdefault("policy_path", str(policy))
        args.setdefault("socket_path", str(tmp_path / "missing.sock"))
        args.setdefault("discover_users", False)
        return module_runner(container_posture.main, args)

    return runner


def test_one_inspect_for_all_containers_and_no_secret_value(run):
    recorder = Recorder(ps="%s\n%s\n" % (HARDENED["Id"], INSECURE["Id"]), inspect=json.dumps([HARDENED, INSECURE]))
    result = run(recorder)
    assert result["changed"] is False
    posture = result["ansible_facts"]["podsec_posture"]
    # Every container whatever its state (-a), one inspect for all of them.
    assert ["/usr/bin/podman", "ps", "-a", "-q", "--no-trunc"] in recorder.calls
    inspects = [c for c in recorder.calls if "inspect" in c]
    assert inspects == [["/usr/bin/podman", "container", "inspect", HARDENED["Id"], INSECURE["Id"]]]
    assert [c["name"] for c in posture["containers"]] == ["systemd-web", "legacy-db"]
    assert posture["containers"][0]["findings"] == 0
    targets = set(f["target"] for f in posture["findings"] if f["severity"] != "info")
    assert targets == {"legacy-db", "host"}
    host_ids = sorted(f["id"] for f in posture["findings"] if f["target"] == "host")
    assert host_ids == ["host_audit_unavailable", "host_trust_accept_anything"]
    # Neither was deployed by the collection (no Quadlet file with the role's marker here).
    assert [c["managed"] for c in posture["containers"]] == ["systemd", "unmanaged"]
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


def _unix_socket(path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    return server


def test_socket_reached_by_hard_link_or_symlinked_directory(run, monkeypatch, tmp_path):
    # A real socket, a hard link to it under a neutral name and a symbolic link to its directory.
    api_dir = tmp_path / "run-podman"
    api_dir.mkdir()
    server = _unix_socket(api_dir / "podman.sock")
    try:
        os.link(str(api_dir / "podman.sock"), str(tmp_path / "legacy-api"))
        os.symlink(str(api_dir), str(tmp_path / "engine"))
        (tmp_path / "data").mkdir()
        monkeypatch.setattr(container_posture._posture, "ENGINE_SOCKET_PATHS", (str(api_dir / "podman.sock"),))
        info = json.loads(json.dumps(HARDENED))
        info["Mounts"] = [
            {"Type": "bind", "Source": str(tmp_path / "legacy-api"), "Destination": "/var/api", "RW": True},
            {"Type": "bind", "Source": str(tmp_path / "engine"), "Destination": "/engine", "RW": True},
            {"Type": "bind", "Source": str(tmp_path / "data"), "Destination": "/data", "RW": True},
        ]
        posture = run(Recorder(ps="x\n", inspect=json.dumps([info])), check_audit=False)["ansible_facts"]["podsec_posture"]
    finally:
        server.close()
    sockets = [f for f in posture["findings"] if f["id"] == "container_engine_socket"]
    assert sorted(f["details"]["source"] for f in sockets) == [str(tmp_path / "engine"), str(tmp_path / "legacy-api")]
    assert all(f["severity"] == "critical" for f in sockets)
    messages = " ".join(f["message"] for f in sockets)
    assert "through the hard link %s" % (tmp_path / "legacy-api") in messages
    assert "through the directory %s (resolves to %s)" % (tmp_path / "engine", api_dir) in messages
    # The control: the plain data directory next to them is not an engine socket.
    assert str(tmp_path / "data") not in json.dumps(sockets)


def test_rootless_users_discovered_by_linger_storage_or_units(run, monkeypatch, tmp_path):
    linger = tmp_path / "linger"
    linger.mkdir()
    (linger / "lingerer").write_text("")
    homes = {}
    for name in ("lingerer", "stored", "quadlet", "plain"):
        homes[name] = tmp_path / name
        homes[name].mkdir()
    (homes["stored"] / ".local" / "share" / "containers" / "storage").mkdir(parents=True)
    (homes["quadlet"] / ".config" / "containers" / "systemd").mkdir(parents=True)
    (homes["quadlet"] / ".config" / "containers" / "systemd" / "app.container").write_text("[Container]\n")
    (homes["stored"] / ".config" / "containers").mkdir(parents=True)
    (homes["stored"] / ".config" / "containers" / "policy.json").write_text('{"default": [], "defualt": []}')
    entries = [pwd.struct_passwd((name, "x", 2000 + index, 2000 + index, "", str(home), "/bin/sh"))
               for index, (name, home) in enumerate(sorted(homes.items()))]
    entries.append(pwd.struct_passwd(("root", "x", 0, 0, "", str(tmp_path), "/bin/sh")))
    monkeypatch.setattr(container_posture, "LINGER_DIR", str(linger))
    monkeypatch.setattr(container_posture.pwd, "getpwall", lambda: entries)
    monkeypatch.setattr(container_posture.pwd, "getpwnam", lambda name: [e for e in entries if e.pw_name == name][0])
    recorder = Recorder()
    posture = run(recorder, rootful=False, discover_users=True, check_audit=False)["ansible_facts"]["podsec_posture"]
    # Only "stored" has a storage to list containers from; all three are discovered, "plain" is not.
    assert posture["checked"] == ["stored"]
    runs_as = [c[2] for c in recorder.calls if c[0].endswith("runuser")]
    assert runs_as == ["stored"]
    invalid = [f for f in posture["findings"] if f["id"] == "host_trust_policy_invalid"]
    assert [(f["target"], f["severity"]) for f in invalid] == [("user stored", "critical")]
    assert container_posture.PostureBackend.discover_users() == ["lingerer", "quadlet", "stored"]


class ImageRecorder(Recorder):
    """Also answers `podman image inspect` and the image scan (a setuid-root /usr/bin/tool)."""

    def __call__(self, module, args, **kwargs):
        if "unshare" in args or "-c" in args:
            self.calls.append(list(args))
            return 0, json.dumps({"files": [["/usr/bin/tool", 0o104755, 0, 0, False]]}) + "\n", ""
        if args[-3:-1] == ["image", "inspect"]:
            self.calls.append(list(args))
            return 0, json.dumps([{"Id": args[-1], "Config": {"User": "app"}}]), ""
        return Recorder.__call__(self, module, args, **kwargs)


@pytest.mark.parametrize("owner", ["root", "stored"])
def test_inspect_images_scans_the_images_of_every_owner_as_that_owner(run, monkeypatch, tmp_path, owner):
    home = tmp_path / "stored"
    (home / ".local" / "share" / "containers" / "storage").mkdir(parents=True)
    entry = pwd.struct_passwd(("stored", "x", 2000, 2000, "", str(home), "/bin/sh"))
    monkeypatch.setattr(container_posture.pwd, "getpwnam", lambda name: entry)
    info = dict(INSECURE, Image="f" * 64, ImageName="localhost/podsec/setuid:latest")
    recorder = ImageRecorder(ps=INSECURE["Id"] + "\n", inspect=json.dumps([info]))
    args = dict(rootful=True, check_audit=False, inspect_images=True) if owner == "root" else dict(
        rootful=False, users=["stored"], check_audit=False, inspect_images=True)
    posture = run(recorder, **args)["ansible_facts"]["podsec_posture"]
    scans = [call for call in recorder.calls if "-c" in call]
    assert len(scans) == 1 and scans[0][-2:] == ["/usr/bin/podman", "f" * 64]
    setuid = [item for item in posture["findings"] if item["id"] == "image_setuid_root"]
    assert [item["details"]["paths"] for item in setuid] == [["/usr/bin/tool"]]
    if owner == "root":
        # Root's podman mounts directly (it refuses `podman unshare`); the target is the image alone.
        assert scans[0][4:7] == ["/usr/bin/python3", "-I", "-c"] and scans[0][0] == "/usr/bin/timeout"
        assert setuid[0]["target"] == "image localhost/podsec/setuid:latest"
    else:
        # As the user (runuser), inside the user's namespace (podman unshare), where rootless podman can mount.
        assert scans[0][:3] == ["/usr/bin/runuser", "-u", "stored"]
        assert scans[0][scans[0].index("/usr/bin/podman"):][:2] == ["/usr/bin/podman", "unshare"]
        assert setuid[0]["target"] == "image localhost/podsec/setuid:latest of user stored"
