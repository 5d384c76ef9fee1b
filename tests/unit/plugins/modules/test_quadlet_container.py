# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""quadlet_container module: dry run before install, atomic write, check and diff mode, absent, rootless."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import socket

import pytest

from ansible.module_utils import basic

from ansible_collections.podsec.hardening.plugins.module_utils import _quadlet, _quadlet_host, _seccomp_profile
from ansible_collections.podsec.hardening.plugins.modules import quadlet_container
from ansible_collections.podsec.hardening.tests.unit.plugins.modules.utils import ExitJson, FailJson, patch_module, run_main

IMAGE = "localhost/podsec/busybox:latest"
# The /run/user/UID paths that exist in a test (the env fixture answers os.path.isdir/exists for them from here).
RUNTIME_DIRS = set()


class Host(object):
    """Answers `podman --version`, the generator's dry run and `systemctl is-active` like podman 5.4 and systemd do."""

    def __init__(self, version="podman version 5.4.2", reject=None, active=None, stored=None, refused=None):
        self.version = version
        self.reject = reject
        self.active = active or {}
        # Images in the owner's storage (None: every image) and images the trust policy refuses: {image: error}.
        self.stored = stored
        self.refused = refused or {}
        self.ids = {}  # image -> ID in the owner's storage (default "a" * 64)
        self.registry = {}  # image -> ID a pull brings (default: the stored one)
        self.running = {}  # container name -> the ID of the image it runs
        self.setuid = {}  # image -> paths of its setuid-root files
        self.calls = []
        self.environments = []
        self.candidates = []
        self.runs = []
        self.uids = {"runner": 4321}
        self.runtime_dirs = RUNTIME_DIRS

    def __call__(self, args, environ_update=None, **kwargs):
        self.calls.append(list(args))
        self.environments.append(environ_update)
        if args[0].endswith("/loginctl"):
            # Lingering starts the user's systemd instance, which creates the runtime directory and its socket.
            runtime = "/run/user/%d" % self.uids[args[-1]]
            self.runtime_dirs.update([runtime, runtime + "/systemd/private"])
            return 0, "", ""
        if args[-1] == "--version":
            return 0, self.version + "\n", ""
        if "-c" in args:
            # The image scan (_image_inspect.SCAN_SCRIPT): the image's setuid-root files, if any.
            files = [[path, 0o104755, 0, 0, False] for path in self.setuid.get(args[-1], [])]
            return 0, json.dumps({"files": files}) + "\n", ""
        if "inspect" in args:
            # Like podman: the entries of the stored images, an error (rc 125) for each missing one.
            images = args[args.index("inspect") + 1:]
            missing = [image for image in images if self.stored is not None and image not in self.stored]
            found = [{"Id": self.ids.get(image, "a" * 64), "Config": {"User": "10001"}} for image in images
                     if image not in missing]
            return (125 if missing else 0), json.dumps(found), "".join(
                "Error: %s: image not known\n" % image for image in missing)
        if "pull" in args:
            image = args[-1]
            if image in self.refused:
                return 125, "", self.refused[image]
            self.stored = (self.stored or set()) | {image}
            self.ids[image] = self.registry.get(image, self.ids.get(image, "a" * 64))
            return 0, self.ids[image] + "\n", ""
        if "ps" in args:
            return 0, "".join("%s\t%s\n" % (name, image_id[:12]) for name, image_id in self.running.items()), ""
        if "is-active" in args:
            services = args[args.index("is-active") + 1:]
            states = [self.active.get(service, "inactive") for service in services]
            return (0 if "active" in states else 3), "".join(state + "\n" for state in states), ""
        if any(arg.endswith("/systemctl") for arg in args):
            # daemon-reload, reset-failed and restart succeed; show reports every service running.
            if "show" not in args:
                return 0, "", ""
            services = [arg for arg in args if arg.endswith(".service")]
            return 0, "".join("Id=%s\nLoadState=loaded\nActiveState=active\nSubState=running\nResult=success\n"
                              "NRestarts=0\n\n" % service for service in services), ""
        unit_dir = environ_update["QUADLET_UNIT_DIRS"]
        names = sorted(os.listdir(unit_dir))
        self.runs.append(names)
        out, log = "", ""
        for file_name in names:
            with open(os.path.join(unit_dir, file_name)) as handle:
                text = handle.read()
            self.candidates.append(text)
            name, kind = file_name.rsplit(".", 1)
            log += "quadlet-generator[7]: Loading source unit file %s/%s\n" % (unit_dir, file_name)
            if self.reject and self.reject + "=" in text:
                return 1, "", log + "quadlet-generator[7]: converting \"%s\": unsupported key '%s' in group " \
                                    "'Container' in %s/%s\n" % (file_name, self.reject, unit_dir, file_name)
            service = name + ".service" if kind == "container" else "%s-%s.service" % (name, kind)
            out += "---%s---\n[Service]\nExecStart=/usr/bin/podman run --name %s --read-only\n" % (service, name)
        return 0, out, log


@pytest.fixture
def env(monkeypatch, tmp_path):
    unit_dir = tmp_path / "etc-containers-systemd"
    generator = tmp_path / "quadlet"
    generator.write_text("")
    monkeypatch.setattr(_quadlet_host, "ROOTFUL_UNIT_DIR", str(unit_dir))
    seccomp = tmp_path / "etc-containers-podsec" / "seccomp.json"
    monkeypatch.setattr(_quadlet_host, "SECCOMP_PROFILE_FILE", str(seccomp))
    home = tmp_path / "home-podsec"
    home.mkdir()
    subids = (tmp_path / "subuid", tmp_path / "subgid")
    monkeypatch.setattr(_quadlet_host, "SUBID_FILES", tuple(str(path) for path in subids))
    linger = tmp_path / "linger"
    linger.mkdir()
    monkeypatch.setattr(_quadlet_host, "LINGER_DIR", str(linger))
    real_getpwnam = pwd.getpwnam
    users = {"containers": True}  # the system user that owns the UserNS=auto ranges

    def getpwnam(name):
        me = pwd.getpwuid(os.getuid())
        if name == "podsec":
            return pwd.struct_passwd(("podsec", "x", me.pw_uid, me.pw_gid, "", str(home), "/bin/sh"))
        if name == "runner":
            return pwd.struct_passwd(("runner", "x", 4321, 4321, "", str(tmp_path / "home-runner"), "/bin/sh"))
        if name == "containers":
            if not users["containers"]:
                raise KeyError(name)
            return pwd.struct_passwd(("containers", "x", 999, 999, "", "/nonexistent", "/usr/sbin/nologin"))
        return real_getpwnam(name)

    monkeypatch.setattr(quadlet_container.pwd, "getpwnam", getpwnam)
    RUNTIME_DIRS.clear()
    for name in ("isdir", "exists"):
        real = getattr(os.path, name)
        monkeypatch.setattr(os.path, name, lambda path, real=real: (
            path in RUNTIME_DIRS if str(path).startswith("/run/user/") else real(path)))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, **kwargs: "/usr/bin/" + name)
    patch_module(monkeypatch)
    # The real _runas.owner_rights switches to the user's ids (tested in test_runas.py against real files): here
    # the users are fictitious, so the module's use of it is recorded instead.
    rights = []

    @contextlib.contextmanager
    def recorded_rights(entry):
        rights.append(entry.pw_name if entry else None)
        yield

    monkeypatch.setattr(_quadlet_host, "owner_rights", recorded_rights)

    class Env(object):
        root = unit_dir
        owner_rights = rights
        user_home = home
        subuid, subgid = subids
        linger_dir = linger
        seccomp_profile = seccomp
        system_users = users
        runtime_dirs = RUNTIME_DIRS

        @staticmethod
        def run(host=None, expect=ExitJson, **args):
            host = host or Host()
            monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kw: host(argv, **kw))
            args.setdefault("generator", str(generator))
            return run_main(quadlet_container.main, args, expect=expect)

    return Env


def test_install_validates_then_writes(env):
    host = Host()
    result = env.run(host, name="web", image=IMAGE, ports=["8080:8080"], header=["Ansible managed"])
    path = env.root / "web.container"
    assert result["changed"] is True
    assert result["path"] == str(path)
    assert result["service_name"] == "web.service"
    assert result["podman_version"] == "5.4"
    assert "ExecStart=/usr/bin/podman run --name web" in result["service"]
    content = path.read_text()
    assert content == result["content"] == host.candidates[0]
    assert content.startswith("# Ansible managed\n")
    assert "PublishPort=127.0.0.1:8080:8080\n" in content
    assert "PodmanArgs=--memory=256m\n" in content and "\nMemory=" not in content
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [call[1:] for call in host.calls] == [["--version"], ["-dryrun"]]

    again = env.run(name="web", image=IMAGE, ports=["8080:8080"], header=["Ansible managed"])
    assert again["changed"] is False
    assert path.read_text() == content


def test_memory_key_on_podman_5_5(env):
    result = env.run(Host("podman version 5.5.0"), name="web", image=IMAGE)
    assert "\nMemory=256m\n" in result["content"] and "PodmanArgs" not in result["content"]


def test_generator_rejection_installs_nothing_and_names_the_key(env):
    host = Host(reject="Sysctl")
    error = env.run(host, expect=FailJson, name="web", image=IMAGE, extra_keys={"Container": {"Sysctl": "a=b"}})
    assert "rejected web.container (key Sysctl)" in error["msg"]
    assert "unsupported key 'Sysctl'" in error["msg"]
    assert not (env.root / "web.container").exists()


def test_refusal_is_reported_before_anything_runs(env):
    host = Host()
    error = env.run(host, expect=FailJson, name="web", image=IMAGE, podman_args=["--privileged"])
    assert error["msg"].startswith("web: podman_args: --privileged is refused")
    assert host.candidates == []
    assert not env.root.exists()


def test_check_mode_and_diff_change_nothing(env):
    result = env.run(name="web", image=IMAGE, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True
    assert not (env.root / "web.container").exists()
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == result["content"]
    assert result["diff"]["after_header"] == str(env.root / "web.container")


def test_changed_parameter_shows_in_diff(env):
    env.run(name="web", image=IMAGE)
    result = env.run(name="web", image=IMAGE, memory="512m", _ansible_diff=True)
    assert result["changed"] is True
    assert "--memory=256m" in result["diff"]["before"] and "--memory=512m" in result["diff"]["after"]
    assert "--memory=512m" in (env.root / "web.container").read_text()


def test_absent_removes_the_unit(env):
    env.run(name="web", image=IMAGE)
    check = env.run(name="web", state="absent", _ansible_check_mode=True)
    assert check["changed"] is True and (env.root / "web.container").exists()
    result = env.run(name="web", state="absent", _ansible_diff=True)
    assert result["changed"] is True and not (env.root / "web.container").exists()
    assert result["diff"]["after"] == ""
    assert env.run(name="web", state="absent")["changed"] is False


def test_a_rootless_users_unit_directory_linked_elsewhere_is_refused_before_anything_is_read(env):
    """~/.config/containers/systemd made a link to root's unit directory: the task fails naming the link and
    writes nothing there (root's Quadlet would run a unit the user can edit)."""
    config = env.user_home / ".config" / "containers"
    config.mkdir(parents=True)
    env.root.mkdir()
    (config / "systemd").symlink_to(env.root)
    host = Host()
    error = env.run(host, expect=FailJson, name="web", image=IMAGE, rootless_user="podsec")
    assert "refusing to manage the units of user podsec" in error["msg"]
    assert "%s is a symbolic link to %s" % (config / "systemd", env.root) in error["msg"]
    assert list(env.root.iterdir()) == [] and host.calls == []
    # Control: a directory of the user's own is used as before.
    (config / "systemd").unlink()
    assert env.run(Host(), name="web", image=IMAGE, rootless_user="podsec")["changed"] is True
    assert (config / "systemd" / "web.container").exists()


def test_rootless_unit_goes_to_the_users_config_and_validates_with_user_flag(env):
    host = Host()
    result = env.run(host, name="web", image=IMAGE, rootless_user="podsec")
    path = env.user_home / ".config" / "containers" / "systemd" / "web.container"
    assert result["path"] == str(path) and path.exists()
    assert result["rootless"] is True
    assert host.calls[-1][1:] == ["-dryrun", "-user"]
    assert result["content"].endswith("WantedBy=default.target\n")
    assert oct((env.user_home / ".config").stat().st_mode & 0o777) == "0o700"


def test_missing_generator_fails(env, tmp_path):
    error = env.run(expect=FailJson, name="web", image=IMAGE, generator=str(tmp_path / "nope"))
    assert "does not exist" in error["msg"]


def test_unknown_rootless_user_fails(env):
    error = env.run(expect=FailJson, name="web", image=IMAGE, rootless_user="no-such-user-podsec")
    assert "no-such-user-podsec" in error["msg"]


def test_absent_refuses_a_name_that_is_a_path(env, tmp_path):
    victim = tmp_path / "victim.container"
    victim.write_text("keep me")
    for name in ("../victim", "web\n", ".hidden"):
        error = env.run(expect=FailJson, name=name, state="absent")
        assert "not a valid unit name" in error["msg"]
    assert victim.read_text() == "keep me"


def test_list_validates_only_changed_units(env):
    host = Host()
    units = [dict(name="web", image=IMAGE, ports=["8080:8080"]), dict(name="worker", image=IMAGE, command=["sleep", "1d"])]
    result = env.run(host, containers=units, header=["Ansible managed"])
    assert result["changed"] is True and result["changed_units"] == ["web", "worker"]
    # One dry run for all units together (they may refer to each other); web publishes a port, so as a rootful
    # container it gets a network of its own, written and validated in the same call.
    assert [call[1:] for call in host.calls] == [["--version"], ["-dryrun"]]
    assert host.runs == [["web.container", "web.network", "worker.container"]]
    web = (env.root / "web.container").read_text()
    assert web == result["units"][0]["content"] == host.candidates[0]
    assert "PublishPort=127.0.0.1:8080:8080\n" in web and web.startswith("# Ansible managed\n")
    assert "Network=web.network\n" in web and "Network=none\n" in (env.root / "worker.container").read_text()
    assert "Options=isolate=strict\n" in (env.root / "web.network").read_text()
    assert result["changed_other_units"] == ["web.network"]
    assert "Exec=sleep 1d" in (env.root / "worker.container").read_text()
    assert "ExecStart=/usr/bin/podman run --name worker" in result["units"][1]["service"]

    host = Host()
    again = env.run(host, containers=units, header=["Ansible managed"])
    assert again["changed"] is False and again["changed_units"] == []
    assert [call[1:] for call in host.calls] == [["--version"]]
    assert "service" not in again["units"][0]

    host = Host()
    units[1]["memory"] = "512m"
    third = env.run(host, containers=units, header=["Ansible managed"], _ansible_diff=True)
    assert third["changed_units"] == ["worker"]
    assert third["units"][1]["content"] in host.candidates and len(host.runs) == 1
    assert len(third["diff"]) == 1 and "--memory=512m" in third["diff"][0]["after"]
    assert third["diff"][0]["after_header"] == str(env.root / "worker.container")
    assert (env.root / "web.container").read_text() == web


def test_list_rejected_unit_installs_nothing(env):
    units = [dict(name="web", image=IMAGE), dict(name="bad", image=IMAGE, extra_keys={"Container": {"Sysctl": "a=b"}})]
    error = env.run(Host(reject="Sysctl"), expect=FailJson, containers=units)
    assert "rejected bad.container (key Sysctl)" in error["msg"]
    assert not env.root.exists()


def test_list_check_mode_changes_nothing(env):
    result = env.run(containers=[dict(name="web", image=IMAGE)], _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed_units"] == ["web"]
    assert result["diff"][0]["before"] == "" and result["diff"][0]["after"] == result["units"][0]["content"]
    assert not env.root.exists()


def test_list_absent_removes_only_existing_units(env):
    env.run(containers=[dict(name="web", image=IMAGE)])
    host = Host()
    result = env.run(host, state="absent", containers=[dict(name="web"), dict(name="gone")])
    assert result["changed_units"] == ["web"]
    assert not (env.root / "web.container").exists()
    assert host.calls == []


def test_list_rootless(env):
    host = Host()
    result = env.run(host, rootless_user="podsec", containers=[dict(name="web", image=IMAGE)])
    assert result["rootless"] is True
    assert (env.user_home / ".config" / "containers" / "systemd" / "web.container").is_file()
    assert host.calls[-1][1:] == ["-dryrun", "-user"]


@pytest.mark.parametrize("args, message", [
    (dict(containers=[dict(name="web", image=IMAGE)], memory="1g"), "memory cannot be combined with containers"),
    (dict(containers=[dict(name="web")]), "containers[web]: state is present but all of the following are missing: image"),
    (dict(containers=[dict(name="web", image=IMAGE, bogus=1)]), "containers[web]: unsupported option bogus"),
    (dict(containers=[dict(image=IMAGE, state="absent")]), "containers[#0]: unsupported option state"),
    (dict(containers=[dict(name="web", image=IMAGE), dict(name="web", image=IMAGE)]), "duplicate name web"),
    (dict(containers=[dict(name="web", image=IMAGE, podman_args=["--privileged"])]), "web: podman_args: --privileged"),
    (dict(containers=[dict(name="../web", image=IMAGE)]), "../web"),
])
def test_list_refusals_name_the_element(env, args, message):
    host = Host()
    error = env.run(host, expect=FailJson, **args)
    assert message in error["msg"]
    assert host.candidates == []
    assert not env.root.exists()


def test_list_reports_the_units_carrying_the_marker_as_they_were(env):
    env.root.mkdir()
    (env.root / "foreign.container").write_text("# Ansible managed\n[Container]\n# mine\nImage=x\n")
    (env.root / "notes.txt").write_text("# mine\n")
    (env.root / ".hidden.container").write_text("# mine\n")
    (env.root / "dir.container").mkdir()
    (env.root / "link.container").symlink_to(env.root / ".hidden.container")
    env.run(containers=[dict(name="old", image=IMAGE)], header=["Ansible managed", "mine"])
    result = env.run(containers=[dict(name="web", image=IMAGE)], header=["Ansible managed", "mine"], managed_marker="mine")
    assert result["managed_units"] == ["old"]
    again = env.run(containers=[], header=["Ansible managed", "mine"], managed_marker="mine")
    assert again["managed_units"] == ["old", "web"] and again["changed"] is False


def test_list_reports_missing_subid_ranges_for_rootful_auto_userns(env):
    env.subuid.write_text("containers:2147483647:2147483648\n")
    result = env.run(containers=[dict(name="web", image=IMAGE)])
    assert result["missing_subid_ranges"] == [str(env.subgid)]
    env.subgid.write_text("podsec:100000:65536\ncontainers:2147483647:2147483648\n")
    assert env.run(containers=[dict(name="web", image=IMAGE)])["missing_subid_ranges"] == []
    assert "missing_subid_ranges" not in env.run(containers=[dict(name="web", image=IMAGE, userns="keep-id",
                                                                  allow_host_userns=True)])
    assert "missing_subid_ranges" not in env.run(rootless_user="podsec", containers=[dict(name="web", image=IMAGE)])


def test_list_reports_both_subid_files_when_no_containers_user_exists(env):
    # shadow 4.20's libsubid (podman 5.8, Debian sid) finds the ranges of existing users only.
    env.subuid.write_text("containers:2147483647:2147483648\n")
    env.subgid.write_text("containers:2147483647:2147483648\n")
    assert env.run(containers=[dict(name="web", image=IMAGE)])["missing_subid_ranges"] == []
    env.system_users["containers"] = False
    result = env.run(containers=[dict(name="web", image=IMAGE)])
    assert result["missing_subid_ranges"] == [str(env.subuid), str(env.subgid)]


def test_list_reports_active_states_with_one_systemctl_call_also_in_check_mode(env):
    host = Host(active={"web.service": "active", "db.service": "activating"})
    units = [dict(name="web", image=IMAGE), dict(name="db", image=IMAGE), dict(name="job", image=IMAGE)]
    result = env.run(host, containers=units, report_active_state=True, _ansible_check_mode=True)
    assert [unit["active_state"] for unit in result["units"]] == ["active", "activating", "inactive"]
    assert host.calls[-1] == ["/usr/bin/systemctl", "is-active", "web.service", "db.service", "job.service"]
    assert [call for call in host.calls if "is-active" in call] == [host.calls[-1]]
    assert not env.root.exists()


RUNNER_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=%s", "USER=runner",
              "LOGNAME=runner", "LC_ALL=C"]


def as_runner(env, runtime_dir=True):
    """The _runas.as_user prefix for the test's user runner: runuser, env -i and the user's own environment."""
    home = str(env.root.parent / "home-runner")
    return (["/usr/bin/runuser", "-u", "runner", "--", "/usr/bin/env", "-i"]
            + [item.replace("%s", home) for item in RUNNER_ENV]
            + (["XDG_RUNTIME_DIR=/run/user/4321"] if runtime_dir else []))


@pytest.mark.parametrize("euid, runtime_dir", [(0, True), (0, False), (4321, True)])
def test_list_asks_the_rootless_users_manager(env, monkeypatch, euid, runtime_dir):
    """As root through runuser with the user's own environment (its runtime directory only when it exists); as
    the user itself in its own environment."""
    monkeypatch.setattr(_quadlet_host.os, "geteuid", lambda: euid)
    if runtime_dir:
        env.runtime_dirs.add("/run/user/4321")
    host = Host()
    result = env.run(host, rootless_user="runner", containers=[dict(name="web", image=IMAGE)], report_active_state=True,
                     _ansible_check_mode=True)
    systemctl = ["/usr/bin/systemctl", "--user", "is-active", "web.service"]
    if euid == 0:
        assert host.calls[-1] == as_runner(env, runtime_dir) + systemctl
        assert host.environments[-1] == {}
    else:
        assert host.calls[-1] == systemctl
        assert host.environments[-1] == {"XDG_RUNTIME_DIR": "/run/user/4321"}
    assert result["units"][0]["active_state"] == "inactive"


def test_list_active_state_of_another_rootless_user_needs_root_and_fails_before_writing(env, monkeypatch):
    monkeypatch.setattr(_quadlet_host.os, "geteuid", lambda: 999)
    home = env.root.parent / "home-runner"
    home.mkdir()
    error = env.run(expect=FailJson, rootless_user="runner", containers=[dict(name="web", image=IMAGE)],
                    report_active_state=True)
    assert error["msg"] == "report_active_state and apply for rootless_user runner need to run as root or as runner"
    assert list(home.iterdir()) == []


def test_list_active_state_unknown_when_systemd_cannot_answer(env):
    host = Host()
    host.active = None  # any lookup fails like a missing user manager would

    def no_bus(args, environ_update=None, **kwargs):
        if "is-active" in args:
            return 1, "", "Failed to connect to bus: No medium found\n"
        return Host.__call__(host, args, environ_update=environ_update, **kwargs)

    result = env.run(no_bus, containers=[dict(name="web", image=IMAGE)], report_active_state=True)
    assert result["units"][0]["active_state"] == "unknown"
    assert result["warnings"] == ["systemctl is-active did not answer for each service (rc=1: Failed to connect to bus: "
                                  "No medium found); every service counts as not running"]


def test_list_no_warning_when_a_rootless_user_without_lingering_has_no_manager(env):
    def no_bus(args, environ_update=None, **kwargs):
        if "is-active" in args:
            return 1, "", "Failed to connect to bus: No medium found\n"
        return Host()(args, environ_update=environ_update, **kwargs)

    result = env.run(no_bus, rootless_user="podsec", containers=[dict(name="web", image=IMAGE)],
                     report_active_state=True, _ansible_check_mode=True)
    assert result["units"][0]["active_state"] == "unknown" and result["linger"] is False
    assert result["warnings"] == []


@pytest.mark.parametrize("option", [dict(managed_marker="mine"), dict(report_active_state=True)])
def test_reporting_options_need_the_list_form(env, option):
    error = env.run(expect=FailJson, name="web", image=IMAGE, **option)
    assert error["msg"] == "managed_marker, report_active_state and apply need containers"


def test_list_reports_the_rootless_users_uid_and_lingering(env):
    result = env.run(rootless_user="runner", containers=[dict(name="web", image=IMAGE)], _ansible_check_mode=True)
    assert result["rootless_uid"] == 4321 and result["linger"] is False
    (env.linger_dir / "runner").write_text("")
    assert env.run(rootless_user="runner", containers=[], _ansible_check_mode=True)["linger"] is True
    assert "linger" not in env.run(containers=[dict(name="web", image=IMAGE)], _ansible_check_mode=True)


@pytest.fixture
def data_root(monkeypatch, tmp_path):
    """A data root of the test's own, so that volumes can point at real files and symlinks."""
    monkeypatch.setattr(_quadlet, "_DATA_ROOTS", (str(tmp_path),))
    return tmp_path


@pytest.mark.parametrize("target, message", [
    ("/", "allow_engine_socket"),
    ("/etc", "/etc is not below"),
    ("/proc/self", "is not below"),
])
def test_volume_symlinks_are_followed_on_the_target(env, data_root, target, message):
    link = data_root / "innocent"
    link.symlink_to(target)
    error = env.run(Host(), expect=FailJson, name="web", image=IMAGE,
                    volumes=[{"source": str(link), "target": "/data"}])
    assert "volumes[0].source" in error["msg"] and message in error["msg"]
    assert not env.root.exists()


def test_a_socket_is_refused_whatever_its_name(env, data_root):
    path = str(data_root / "innocent-name")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    try:
        error = env.run(Host(), expect=FailJson, name="web", image=IMAGE, volumes=[{"source": path, "target": "/s"}])
        assert "exposes a socket" in error["msg"]
        # Control: the same path as a plain file mounts.
        os.unlink(path)
        open(path, "w").close()
        assert env.run(Host(), name="web", image=IMAGE, volumes=[{"source": path, "target": "/s"}])["changed"]
    finally:
        server.close()


# ---------------------------------------------------------------- network, volume and pod units


def test_networks_and_volumes_are_installed_and_validated_with_the_containers(env):
    host = Host()
    args = dict(containers=[dict(name="a", image=IMAGE, network="backend.network",
                                 volumes=[dict(source="data.volume", target="/data")])],
                network_units=[dict(name="backend")], volume_units=[dict(name="data")],
                header=["Ansible managed", "mine"], managed_marker="mine")
    result = env.run(host, **args)
    assert host.runs == [["a.container", "backend.network", "data.volume"]]
    assert result["changed_other_units"] == ["backend.network", "data.volume"]
    assert [entry["service_name"] for entry in result["other_units"]] == ["backend-network.service", "data-volume.service"]
    assert "Internal=true\n" in (env.root / "backend.network").read_text()
    again = env.run(Host(), **args)
    assert again["changed"] is False and again["managed_unit_files"] == ["a.container", "backend.network", "data.volume"]
    gone = env.run(Host(), containers=[], network_units=[dict(name="backend")], state="absent")
    assert gone["changed_other_units"] == ["backend.network"] and not (env.root / "backend.network").exists()


def test_a_container_refers_to_an_installed_network_in_its_dry_run(env):
    env.run(Host(), containers=[], network_units=[dict(name="backend")])
    host = Host()
    env.run(host, containers=[dict(name="a", image=IMAGE, network="backend.network")])
    assert host.runs == [["a.container", "backend.network"]]


def test_a_unit_kind_needs_the_list_form_and_names_collide_across_own_networks(env):
    error = env.run(expect=FailJson, name="a", image=IMAGE, network_units=[dict(name="n")])
    assert error["msg"] == "network_units needs containers (an empty list when there are none)"
    error = env.run(expect=FailJson, containers=[dict(name="web", image=IMAGE, ports=["8080"])],
                    network_units=[dict(name="web")])
    assert "duplicate name web.network" in error["msg"]


def test_the_single_form_warns_that_a_published_rootful_container_stays_on_the_default_network(env):
    result = env.run(name="web", image=IMAGE, ports=["8080"])
    assert any("podman's default network" in warning for warning in result["warnings"])


def test_the_module_refuses_ports_on_an_internal_network_of_the_call(env):
    error = env.run(expect=FailJson, containers=[dict(name="web", image=IMAGE, ports=["8080"], network="b.network")],
                    network_units=[dict(name="b")])
    assert "ports: b.network is internal" in error["msg"] and not env.root.exists()


def test_list_installs_the_tightened_seccomp_profile_once_and_restarts_its_users_when_it_changes(env):
    """Issue 17: the profile the units name is written in the same call, before the units, only when it differs."""
    units = [dict(name="web", image=IMAGE), dict(name="own", image=IMAGE, tightened_seccomp=False)]
    checked = env.run(containers=units, _ansible_check_mode=True)
    assert checked["seccomp_profile"] == {"path": "/etc/containers/podsec/seccomp.json", "changed": True}
    assert not env.seccomp_profile.exists()
    first = env.run(containers=units)
    assert first["seccomp_profile"]["changed"] is True
    assert env.seccomp_profile.read_text() == _seccomp_profile.profile_text()
    assert env.seccomp_profile.stat().st_mode & 0o7777 == 0o644
    assert "SeccompProfile=/etc/containers/podsec/seccomp.json\n" in (env.root / "web.container").read_text()
    assert "SeccompProfile" not in (env.root / "own.container").read_text()
    again = env.run(containers=units)
    assert again["changed"] is False and again["seccomp_profile"]["changed"] is False and again["changed_units"] == []
    # A profile changed on the host (or by an update of the collection) is put back; its users must restart.
    env.seccomp_profile.write_text("{}")
    fixed = env.run(containers=units)
    assert fixed["changed"] is True and fixed["changed_units"] == ["web"]
    assert env.seccomp_profile.read_text() == _seccomp_profile.profile_text()
    os.chmod(str(env.seccomp_profile), 0o666)
    assert env.run(containers=units)["changed"] is True
    assert env.seccomp_profile.stat().st_mode & 0o7777 == 0o644


def test_no_profile_without_a_unit_that_uses_it(env):
    result = env.run(containers=[dict(name="own", image=IMAGE, seccomp_profile="/etc/containers/own.json")])
    assert "seccomp_profile" not in result and not env.seccomp_profile.exists()
    single = env.run(name="web", image=IMAGE)
    assert single["seccomp_profile"]["changed"] is True and env.seccomp_profile.exists()
    assert env.run(name="web", image=IMAGE)["changed"] is False


def test_apply_restarts_the_users_of_a_changed_seccomp_profile_although_their_unit_is_unchanged(env):
    units = [dict(name="web", image=IMAGE), dict(name="own", image=IMAGE, tightened_seccomp=False)]
    env.run(containers=units)
    for path in (env.subuid, env.subgid):
        path.write_text("containers:2147483647:2147483648\n")
    running = Host(active={"web.service": "active", "own.service": "active"})
    # control: nothing changed, nothing restarted
    steady = env.run(running, containers=units, apply={}, _ansible_check_mode=True)
    assert steady["apply"]["restarted"] == [] and steady["changed"] is False
    env.seccomp_profile.write_text("{}")
    result = env.run(running, containers=units, apply={}, _ansible_check_mode=True)
    assert result["apply"]["restarted"] == ["web"] and result["apply"]["reloaded"] is False
    assert [unit["action"] for unit in result["units"]] == ["restarted", "none"]


@pytest.mark.parametrize("form", ["single", "list"])
def test_podman_without_quadlet_is_refused_by_version_before_anything_is_written(env, form):
    host = Host("podman version 4.3.1")
    args = {"name": "web", "image": IMAGE} if form == "single" else {"containers": [{"name": "web", "image": IMAGE}]}
    error = env.run(host, expect=FailJson, **args)
    assert error["msg"] == "podman 4.3.1 (podman) has no Quadlet: podsec.hardening needs podman 4.4 or later"
    assert [call[1:] for call in host.calls] == [["--version"]]  # no dry run, nothing written
    assert not env.root.exists()
    # Control: the oldest podman with Quadlet passes the same gate (and renders the 4.4 fallbacks).
    assert env.run(Host("podman version 4.4.0"), **args)["changed"] is True


SIGNED = "localhost:5000/trusted/sigstore:latest"
UNSIGNED = "localhost:5000/trusted/sigstore:unsigned"
POLICY_ERROR = ("Error: copying system image from manifest list: Source image rejected: A signature was required, "
                "but no signature exists\n")


def pulls(host):
    return [call for call in host.calls if "pull" in call]


def systemctl_calls(host):
    return [call for call in host.calls if any(arg.endswith("/systemctl") for arg in call) and "is-active" not in call]


def test_apply_pulls_a_refused_image_before_writing_and_fails_with_podmans_policy_error(env):
    host = Host(stored=set(), refused={UNSIGNED: POLICY_ERROR})
    units = [dict(name="web", image=SIGNED), dict(name="app", image=UNSIGNED), dict(name="job", image=UNSIGNED)]
    error = env.run(host, expect=FailJson, containers=units, apply={})
    assert error["msg"] == (
        "podman could not pull %s for app, job (system scope: its storage and trust policy): Error: copying system "
        "image from manifest list: Source image rejected: A signature was required, but no signature exists -- "
        "no unit was installed, removed or restarted" % UNSIGNED)
    # Both images were looked up in one call, then once each (one is missing); the permitted one pulled first; no
    # unit written, systemd never told.
    assert [call[3:] for call in host.calls if call[1:3] == ["image", "inspect"]] == [[SIGNED, UNSIGNED], [SIGNED],
                                                                                      [UNSIGNED]]
    assert [call[-1] for call in pulls(host)] == [SIGNED, UNSIGNED]
    assert not env.root.exists() or list(env.root.iterdir()) == []
    assert systemctl_calls(host) == []
    assert not env.seccomp_profile.exists()


def test_apply_control_a_permitted_image_is_pulled_then_the_units_installed_and_started(env):
    host = Host(stored=set())
    result = env.run(host, containers=[dict(name="web", image=SIGNED)], apply={})
    assert result["images"] == [dict(image=SIGNED, containers=["web"], pulled=True, id="a" * 64, updated=True,
                                     findings=[], setuid_root_files=[])]
    assert (env.root / "web.container").exists()
    assert pulls(host)[0][-4:] == ["pull", "--quiet", "--", SIGNED]
    # The pull came before the first systemctl call; the new unit is (re)started.
    assert host.calls.index(pulls(host)[0]) < host.calls.index(systemctl_calls(host)[0])
    assert result["apply"]["restarted"] == ["web"] and result["apply"]["failed"] == []


SETUID = "localhost/podsec/setuid:latest"


def test_apply_refuses_an_image_with_setuid_root_files_before_any_unit_naming_the_paths_and_the_option(env):
    host = Host(stored=set())
    host.setuid = {SETUID: ["/usr/local/bin/tool"]}
    units = [dict(name="web", image=SIGNED), dict(name="app", image=SETUID)]
    error = env.run(host, expect=FailJson, containers=units, apply={})
    assert error["msg"].startswith("image %s (containers app) has setuid-root files: /usr/local/bin/tool." % SETUID)
    assert "set setuid_root_ok: true on the container" in error["msg"]
    # Looked at after the pull, as the owner; no unit written, systemd never told.
    scans = [call for call in host.calls if "-c" in call]
    assert [call[-1] for call in scans] == [SIGNED, SETUID]
    assert host.calls.index(pulls(host)[-1]) < host.calls.index(scans[0])
    assert not env.root.exists() or list(env.root.iterdir()) == []
    assert systemctl_calls(host) == []
    found = dict((entry["image"], entry) for entry in error["images"])
    assert found[SETUID]["setuid_root_files"] == ["/usr/local/bin/tool"]
    assert [item["id"] for item in found[SETUID]["findings"]] == ["image_setuid_root"]


def test_control_setuid_root_ok_deploys_the_image_and_reports_its_files(env):
    host = Host(stored=set())
    host.setuid = {SETUID: ["/usr/local/bin/tool"]}
    result = env.run(host, containers=[dict(name="app", image=SETUID, setuid_root_ok=True)], apply={})
    assert (env.root / "app.container").exists()
    # The choice is in the unit's header, a comment: nothing in the unit's sections changes.
    text = (env.root / "app.container").read_text()
    assert "# setuid_root_ok: true" in text and "setuid_root_ok" not in text.split("[Unit]", 1)[1]
    assert result["images"][0]["setuid_root_files"] == ["/usr/local/bin/tool"]
    # The reader is told: a warning names the image and the path (the plain image of the test above warns nothing).
    assert result["warnings"] == ["%s (used by app) has setuid-root files: /usr/local/bin/tool" % SETUID]


def test_file_names_from_the_image_reach_the_console_escaped(env):
    """An image author names its files: a newline or an escape sequence in a name would forge or erase console
    lines of the warning and of the refusal."""
    name = "/usr/bin/x\n[WARNING]: all images are clean\x1b[2K"
    host = Host(stored={SETUID})
    host.setuid = {SETUID: [name]}
    result = env.run(host, containers=[dict(name="app", image=SETUID, setuid_root_ok=True)], apply={})
    assert result["warnings"] == [
        "%s (used by app) has setuid-root files: /usr/bin/x\\x0a[WARNING]: all images are clean\\x1b[2K" % SETUID]
    # Control: the finding itself keeps the name as the image has it (JSON carries it escaped).
    assert result["images"][0]["setuid_root_files"] == [name]
    # The refusal (a container that does not allow it) carries the name escaped too.
    error = env.run(host, expect=FailJson, containers=[dict(name="app2", image=SETUID)], apply={})
    assert "\n" not in error["msg"] and "\x1b" not in error["msg"] and "x\\x0a[WARNING]" in error["msg"]


def app_runs_the_setuid_image():
    """A host whose service app is active and runs SETUID, an image with a setuid-root file."""
    host = Host(stored={SETUID}, active={"app.service": "active"})
    host.setuid = {SETUID: ["/usr/local/bin/tool"]}
    host.running = {"app": "a" * 64}
    return host


def test_turning_setuid_root_ok_off_refuses_the_running_image(env):
    """The option is part of the unit: turning it off changes the unit, and the redeploy looks inside the image
    that the running container has, and refuses it before the unit is written."""
    units = [dict(name="app", image=SETUID, setuid_root_ok=True)]
    host = Host(stored={SETUID})
    host.setuid = {SETUID: ["/usr/local/bin/tool"]}
    env.run(host, containers=units, apply={})
    allowed = (env.root / "app.container").read_text()
    host = app_runs_the_setuid_image()
    error = env.run(host, expect=FailJson, containers=[dict(name="app", image=SETUID)], apply={})
    assert "has setuid-root files: /usr/local/bin/tool" in error["msg"]
    assert (env.root / "app.container").read_text() == allowed
    assert [call for call in systemctl_calls(host) if "restart" in call] == []
    # Control: kept on, the same re-run looks inside nothing and changes nothing.
    host = app_runs_the_setuid_image()
    result = env.run(host, containers=units, apply={})
    assert result["changed"] is False and [call for call in host.calls if "-c" in call] == []


def test_a_rerun_does_not_look_inside_an_image_its_containers_already_run(env):
    """The image was looked at when its containers were deployed: a re-run that changes nothing mounts nothing."""
    env.run(Host(stored={SETUID}), containers=[dict(name="app", image=SETUID, setuid_root_ok=True)], apply={})
    host = app_runs_the_setuid_image()
    result = env.run(host, containers=[dict(name="app", image=SETUID, setuid_root_ok=True)], apply={})
    assert [call for call in host.calls if "-c" in call] == []
    assert "findings" not in result["images"][0]
    # Control: a container of the image that does not run it yet (a new one) makes it looked at, and refused.
    error = env.run(host, expect=FailJson, apply={}, containers=[
        dict(name="app", image=SETUID, setuid_root_ok=True), dict(name="new", image=SETUID)])
    assert "(containers new) has setuid-root files: /usr/local/bin/tool" in error["msg"]


def test_check_mode_judges_a_stored_image_and_skips_one_that_would_be_pulled(env):
    host = Host(stored={SETUID})
    host.setuid = {SETUID: ["/usr/local/bin/tool"]}
    error = env.run(host, expect=FailJson, containers=[dict(name="app", image=SETUID)], apply={},
                    _ansible_check_mode=True)
    assert "/usr/local/bin/tool" in error["msg"]
    host = Host(stored=set())
    result = env.run(host, containers=[dict(name="app", image=SETUID)], apply={}, _ansible_check_mode=True)
    assert [call for call in host.calls if "-c" in call] == []
    assert "setuid_root_files" not in result["images"][0]


def test_apply_pulls_nothing_when_the_images_are_stored_and_asks_once_per_image(env):
    units = [dict(name="web", image=SIGNED), dict(name="app", image=SIGNED)]
    env.run(containers=units)
    for path in (env.subuid, env.subgid):
        path.write_text("containers:2147483647:2147483648\n")
    host = Host(active={"web.service": "active", "app.service": "active"})
    result = env.run(host, containers=units, apply={})
    assert pulls(host) == [] and result["changed"] is False
    # One image inspect, whose entry also serves the look inside the image: podman is not asked twice.
    assert [call for call in host.calls if "inspect" in call] == [["podman", "image", "inspect", SIGNED]]
    assert result["images"] == [dict(image=SIGNED, containers=["web", "app"], pulled=False, id="a" * 64,
                                     updated=False, findings=[], setuid_root_files=[])]
    assert result["warnings"] == []


def test_apply_in_check_mode_reports_the_pull_without_pulling(env):
    host = Host(stored=set(), refused={UNSIGNED: POLICY_ERROR})
    result = env.run(host, containers=[dict(name="app", image=UNSIGNED)], apply={}, _ansible_check_mode=True)
    assert pulls(host) == [] and result["changed"] is True
    assert result["images"] == [dict(image=UNSIGNED, containers=["app"], pulled=True, id=None, updated=True)]


def test_apply_pulls_as_the_rootless_user(env, monkeypatch, tmp_path):
    monkeypatch.setattr(_quadlet_host.os, "geteuid", lambda: 0)
    monkeypatch.setattr(_quadlet_host.os, "chown", lambda *args: None)
    monkeypatch.setattr(_quadlet_host, "write_file_atomic", lambda *args, **kwargs: None)
    (tmp_path / "home-runner").mkdir()
    (env.linger_dir / "runner").write_text("")  # its systemd instance runs: podman has its runtime directory
    env.runtime_dirs.add("/run/user/4321")
    host = Host(stored=set(), refused={UNSIGNED: POLICY_ERROR})
    error = env.run(host, expect=FailJson, rootless_user="runner", containers=[dict(name="app", image=UNSIGNED)],
                    apply={})
    assert "(user runner scope: its storage and trust policy)" in error["msg"]
    assert pulls(host) == [as_runner(env) + ["podman", "pull", "--quiet", "--", UNSIGNED]]
    assert host.environments[host.calls.index(pulls(host)[0])] == {}
    assert [call for call in host.calls if call[0].endswith("/loginctl")] == []


def rootless_apply(env, monkeypatch, tmp_path):
    monkeypatch.setattr(_quadlet_host.os, "geteuid", lambda: 0)
    monkeypatch.setattr(_quadlet_host.os, "chown", lambda *args: None)
    (tmp_path / "home-runner").mkdir()
    return dict(rootless_user="runner", containers=[dict(name="app", image=SIGNED)], apply={})


def test_apply_enables_lingering_before_it_builds_the_rootless_users_commands(env, monkeypatch, tmp_path):
    """Without lingering there is no /run/user/UID yet: the commands are built after loginctl created it, so the
    pull, the image queries and systemctl --user all get the user's XDG_RUNTIME_DIR."""
    monkeypatch.setattr(_quadlet_host, "write_file_atomic", lambda *args, **kwargs: None)
    host = Host(stored=set())
    result = env.run(host, **rootless_apply(env, monkeypatch, tmp_path))
    linger = [index for index, call in enumerate(host.calls) if call[0].endswith("/loginctl")]
    as_user = [index for index, call in enumerate(host.calls) if call[0] == "/usr/bin/runuser"]
    assert len(linger) == 1 and as_user and linger[0] < as_user[0]
    assert all(host.calls[index][:len(as_runner(env))] == as_runner(env) for index in as_user)
    assert pulls(host) == [as_runner(env) + ["podman", "pull", "--quiet", "--", SIGNED]]
    assert ["/usr/bin/systemctl", "--user", "restart", "app.service"] == host.calls[as_user[-2]][len(as_runner(env)):]
    assert result["apply"]["linger_enabled"] is True and result["apply"]["restarted"] == ["app"]


def test_check_mode_for_a_rootless_user_without_lingering_asks_no_podman_and_changes_nothing(
        env, monkeypatch, tmp_path):
    """No runtime directory yet: podman is not run as the user at all (it would create its state elsewhere); the
    result says what the run would do: enable lingering, pull every image, start the container."""
    host = Host(stored=set())
    args = rootless_apply(env, monkeypatch, tmp_path)
    result = env.run(host, _ansible_check_mode=True, **args)
    assert result["changed"] is True and result["linger"] is False
    assert result["images"] == [dict(image=SIGNED, containers=["app"], pulled=True, id=None, updated=True)]
    assert result["apply"]["linger_enabled"] is True and result["apply"]["started"] == []
    assert result["apply"]["restarted"] == ["app"] and result["units"][0]["action"] == "restarted"
    # podman --version runs as root (the module's own podman); nothing else of podman, no loginctl.
    assert [call for call in host.calls if "podman" in call and call != ["podman", "--version"]
            or call[0].endswith("/loginctl")] == []
    assert list((tmp_path / "home-runner").iterdir()) == [] and RUNTIME_DIRS == set()
    # Control: once the user has a runtime directory (a session), check mode asks its podman, read-only.
    env.runtime_dirs.add("/run/user/4321")
    host = Host(stored=set())
    result = env.run(host, _ansible_check_mode=True, **args)
    asked = [call[len(as_runner(env)):] for call in host.calls if "podman" in call and call[0] == "/usr/bin/runuser"]
    assert asked == [["podman", "image", "inspect", SIGNED]]
    assert pulls(host) == [] and list((tmp_path / "home-runner").iterdir()) == []


def steady_host(units, **kwargs):
    host = Host(active=dict(("%s.service" % unit["name"], "active") for unit in units), **kwargs)
    host.ids = {SIGNED: "1" * 64, IMAGE: "2" * 64}
    host.running = dict((unit["name"], host.ids[unit["image"]]) for unit in units)
    return host


def installed(env, units):
    env.run(containers=units)
    for path in (env.subuid, env.subgid):
        path.write_text("containers:2147483647:2147483648\n")


def test_a_tag_with_a_new_digest_restarts_exactly_the_containers_that_use_it(env):
    units = [dict(name="web", image=SIGNED), dict(name="api", image=SIGNED), dict(name="db", image=IMAGE)]
    installed(env, units)
    # Control: pull newer with no new digest in the registry restarts nothing and changes nothing.
    host = steady_host(units)
    result = env.run(host, containers=units, apply=dict(pull="newer"))
    assert result["apply"]["restarted"] == [] and result["changed"] is False
    assert [call[-1] for call in pulls(host)] == [SIGNED, IMAGE]
    # The registry has a new digest behind SIGNED: its two containers restart, db does not.
    host = steady_host(units)
    host.registry = {SIGNED: "3" * 64}
    result = env.run(host, containers=units, apply=dict(pull="newer"))
    assert result["apply"]["restarted"] == ["web", "api"] and result["changed"] is True
    assert result["images"][0] == dict(image=SIGNED, containers=["web", "api"], pulled=True, id="3" * 64, updated=True,
                                       findings=[], setuid_root_files=[])
    restart = [call for call in systemctl_calls(host) if "restart" in call]
    assert restart == [["/usr/bin/systemctl", "restart", "web.service", "api.service"]]
    # What was inspected before the pull describes the old image: the new one is inspected again before its scan.
    assert [call[3:] for call in host.calls if call[1:3] == ["image", "inspect"]] == [[SIGNED, IMAGE], [SIGNED]]


def test_a_first_converge_asks_podman_once_about_the_images_and_not_which_containers_run(env):
    """No declared service is active: none of their containers runs, so `podman ps` is not asked; the one image
    inspect serves the pull decision and the look inside the image."""
    units = [dict(name="web", image=SIGNED), dict(name="db", image=IMAGE)]
    host = Host()
    result = env.run(host, containers=units, apply={})
    podman = [call[1:3] for call in host.calls if call[0] == "podman"]
    assert podman == [["--version"], ["image", "inspect"]]
    assert [call[-1] for call in host.calls if "-c" in call] == [SIGNED, IMAGE]  # both looked inside
    assert result["apply"]["restarted"] == ["web", "db"]
    # Control: with one of them active podman is asked what runs (a moved tag would restart it).
    host = Host(active={"db.service": "active"})
    env.run(host, containers=units, apply={})
    assert ["podman", "ps", "--format", "{{.Names}}\t{{.ImageID}}"] in host.calls


def test_a_new_digest_pulled_by_hand_restarts_its_container_without_a_registry_query_also_in_check_mode(env):
    units = [dict(name="web", image=SIGNED), dict(name="db", image=IMAGE)]
    installed(env, units)
    host = steady_host(units)
    host.ids[SIGNED] = "4" * 64  # what the tag names in storage now; web still runs "1" * 64
    result = env.run(host, containers=units, apply={}, _ansible_check_mode=True)
    assert pulls(host) == [] and result["apply"]["restarted"] == ["web"]
    result = env.run(host, containers=units, apply={})
    assert pulls(host) == [] and result["apply"]["restarted"] == ["web"]


def test_a_refused_new_digest_fails_and_restarts_nothing(env):
    units = [dict(name="web", image=SIGNED)]
    installed(env, units)
    host = steady_host(units, refused={SIGNED: POLICY_ERROR})
    error = env.run(host, expect=FailJson, containers=units, apply=dict(pull="newer"))
    assert "podman could not pull %s for web" % SIGNED in error["msg"] and POLICY_ERROR.strip() in error["msg"]
    assert [call for call in systemctl_calls(host) if "restart" in call] == []


def test_auto_update_writes_the_key_and_apply_enables_the_owners_timer_once(env):
    units = [dict(name="web", image=SIGNED, auto_update=True), dict(name="db", image=IMAGE)]
    installed(env, units)
    assert "AutoUpdate=registry\n" in (env.root / "web.container").read_text()
    assert "AutoUpdate" not in (env.root / "db.container").read_text()
    host = steady_host(units)
    result = env.run(host, containers=units, apply={})
    assert result["apply"]["auto_update_timer_enabled"] is True and result["changed"] is True
    assert ["/usr/bin/systemctl", "enable", "--now", "podman-auto-update.timer"] in host.calls
    # Control: with the timer enabled and running nothing changes; without auto_update it is never asked about.
    host = steady_host(units)
    host.active["podman-auto-update.timer"] = "active"
    enabled = Host.__call__

    def timer_enabled(args, environ_update=None, **kwargs):
        if "is-enabled" in args:
            return 0, "enabled\n", ""
        return enabled(host, args, environ_update=environ_update, **kwargs)

    result = env.run(timer_enabled, containers=units, apply={})
    assert result["apply"]["auto_update_timer_enabled"] is False and result["changed"] is False
    plain = [dict(units[0], auto_update=False), units[1]]
    host = steady_host(plain)
    env.run(host, containers=plain, apply={})
    assert not any("podman-auto-update.timer" in call for call in host.calls)


def test_auto_update_before_podman_4_6_is_the_label_podman_auto_update_reads(env):
    result = env.run(Host("podman version 4.5.1"), containers=[dict(name="web", image=SIGNED, auto_update=True)])
    content = (env.root / "web.container").read_text()
    assert "AutoUpdate=" not in content and "--label=io.containers.autoupdate=registry" in content
    assert result["changed"] is True


def test_a_rootless_users_unit_files_are_read_written_and_removed_with_the_users_rights(env, monkeypatch, tmp_path):
    """Every file operation in the user's home goes through _runas.owner_rights (what it stops: test_runas.py);
    root's own units do not."""
    monkeypatch.setattr(_quadlet_host, "write_file_atomic", lambda *args, **kwargs: None)
    env.run(Host(stored=set()), **rootless_apply(env, monkeypatch, tmp_path))
    assert env.owner_rights and set(env.owner_rights) == {"runner"}
    del env.owner_rights[:]
    env.run(Host(stored=set()), containers=[dict(name="web", image=SIGNED)], apply={})
    assert set(env.owner_rights) == {None}
