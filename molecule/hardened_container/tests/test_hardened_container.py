"""hardened_container on a booted host: what podman and /proc show, attacks from inside, and re-runs.

Two running rootful containers (web1, web2) and two rootless ones of the user podsec (web3, web4), each
an httpd from busybox with a secret and a published port; a "limits" unit per owner keeps the default
memory and pids limits (installed, not started: see test_limits_*). Tests run in file order: the last
ones change the deployment (one parameter, then removal: prune for root, state absent for podsec).
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import SCENARIO_DIR, SCENARIO_VARS, Podman, adhoc, converge, host_rootdir, podsec_checks

testinfra_hosts = ["ansible://hardened-container-h1"]

CONTAINERS = [
    # name, rootless, secret name, host port
    ("web1", False, "db_password", 18081),
    ("web2", False, "api_token", 18082),
    ("web3", True, "db_password", 18083),
    ("web4", True, "api_token", 18084),
]
SECRETS = SCENARIO_VARS["hc_secret_values"]
CONTAINER_USER = 10001


def podman_for(host, rootless):
    return Podman(host, rootless)


def task_results(output, title):
    """The status (ok, changed, skipping, ...) of each run of the role task ``title`` in ansible-playbook output."""
    chunks = output.split("TASK [podsec.hardening.hardened_container : %s]" % title)[1:]
    status = re.compile(r"^\s*(ok|changed|skipping|fatal|failed): \[")
    return [next(status.match(line).group(1) for line in chunk.splitlines() if status.match(line)) for chunk in chunks]


def all_started_at(host):
    return {name: podman_for(host, rootless).started_at(name) for name, rootless, _s, _p in CONTAINERS}


APPLY_TASK = "Install the Quadlet units and bring the services to the declared state"


def host_time(host):
    return host.check_output("date +%s.%N")


def reloads_since(host, mark):
    """daemon-reloads since ``mark`` by the host's systemd managers: PID 1 and the users' (rootless) ones."""
    out = host.run("journalctl _COMM=systemd --since @%s -o cat --no-pager | grep -c '^Reloading finished'" % mark)
    return int(out.stdout.strip() or 0)


# ---------------------------------------------------------------- re-run first: nothing changes


STATE = {}


def test_rerun_reports_no_change_and_restarts_nothing(host):
    """The idempotence step only checks changed=0; here the containers' start times are compared too."""
    before = all_started_at(host)
    mark = host_time(host)
    output, changed = converge("initial", "-vvv")
    STATE["vvv_output"] = output
    assert changed == 0
    assert all_started_at(host) == before
    # Rootful and rootless: one call each, which reloads nothing, restarts nothing and starts nothing.
    assert task_results(output, APPLY_TASK) == ["ok"] * 2
    assert reloads_since(host, mark) == 0
    STATE["started_at"] = before


# ---------------------------------------------------------------- what podman and /proc show


@pytest.mark.parametrize("name, rootless, secret, port", CONTAINERS)
def test_podman_inspect_shows_the_hardening(host, name, rootless, secret, port):
    podman = podman_for(host, rootless)
    data = podman.inspect(name)
    hostconfig = data["HostConfig"]
    assert data["State"]["Running"] is True
    assert hostconfig["ReadonlyRootfs"] is True
    assert "no-new-privileges" in hostconfig["SecurityOpt"]
    assert not data.get("EffectiveCaps"), data.get("EffectiveCaps")
    assert hostconfig["Privileged"] is False
    assert data["Config"]["User"] == str(CONTAINER_USER)
    assert list(hostconfig["Tmpfs"]) == ["/tmp"]
    assert {"rw", "noexec", "nosuid", "nodev", "size=64m", "mode=1777"} <= set(hostconfig["Tmpfs"]["/tmp"].split(","))
    bindings = hostconfig["PortBindings"]["8080/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert hostconfig["NetworkMode"] != "host" and hostconfig["PidMode"] != "host" and hostconfig["IpcMode"] != "host"


@pytest.mark.parametrize("name, rootless, secret, port", CONTAINERS)
def test_the_shipped_checks_pass_on_the_roles_containers(host, name, rootless, secret, port):
    """What a consumer's verify asserts (tests/verify/podsec_checks.py); tests/test_shipped_checks.py has the controls."""
    podsec_checks.assert_hardened(host, name, user="podsec" if rootless else None, secrets=[secret])


@pytest.mark.parametrize("name, rootless, secret, port", CONTAINERS)
def test_own_user_namespace_maps_the_user_to_an_unprivileged_host_uid(host, name, rootless, secret, port):
    """UserNS=auto: container uid 10001 is neither host root nor (rootless) the owner's own uid."""
    podman = podman_for(host, rootless)
    users = podman.check("podman top %s uid huid" % name).split("\n")[1].split()
    assert users[0] == str(CONTAINER_USER)
    host_uid = int(users[1])
    assert host_uid not in (0, CONTAINER_USER, 1001), users
    uid_map = podman.exec(name, "cat /proc/self/uid_map").stdout.split()
    assert uid_map[:2] != ["0", "0"], uid_map


@pytest.mark.parametrize("name, rootless, secret, port", CONTAINERS)
def test_proc_inside_shows_no_privileges_and_hardened_mounts(host, name, rootless, secret, port):
    podman = podman_for(host, rootless)
    status = podman.exec(name, "cat /proc/1/status").stdout
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["NoNewPrivs"].strip() == "1"
    for cap in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"):
        assert int(fields[cap].strip(), 16) == 0, (cap, fields[cap])
    assert fields["Uid"].split()[:4] == [str(CONTAINER_USER)] * 4
    # RunInit: PID 1 is podman's init (catatonit), which forwards SIGTERM to the workload.
    assert podman.exec(name, "cat /proc/1/cmdline").stdout.split("\0")[0] == "/run/podman-init"
    mounts = [line.split() for line in podman.exec(name, "cat /proc/mounts").stdout.splitlines()]
    by_target = {m[1]: m for m in mounts}
    assert "ro" in by_target["/"][3].split(",")
    tmp = by_target["/tmp"]
    assert tmp[2] == "tmpfs"
    assert {"rw", "noexec", "nosuid", "nodev", "size=65536k"} <= set(tmp[3].split(","))
    # ReadOnlyTmpfs=false: no writable /run or /var/tmp without noexec next to the declared tmpfs.
    assert "/run" not in by_target and "/var/tmp" not in by_target


@pytest.mark.parametrize("name, rootless, secret, port", CONTAINERS)
def test_secret_is_a_file_and_nowhere_in_environment_or_inspect(host, name, rootless, secret, port):
    podman = podman_for(host, rootless)
    value = SECRETS[name]
    assert podman.exec(name, "cat /run/secrets/%s" % secret).stdout == value
    environ = podman.exec(name, "cat /proc/1/environ; env").stdout
    assert "PATH=" in environ
    assert value not in environ
    inspect_text = podman.check("podman inspect %s" % name)
    assert "/run/secrets/%s" % secret in inspect_text
    assert value not in inspect_text


# ---------------------------------------------------------------- attacks from inside


@pytest.mark.parametrize("name, rootless, secret, port", CONTAINERS)
def test_attack_writing_the_root_file_system_fails(host, name, rootless, secret, port):
    podman = podman_for(host, rootless)
    for path in ("/pwned", "/etc/pwned", "/bin/pwned"):
        result = podman.exec(name, "echo x > %s" % path)
        assert result.rc != 0
        assert "Read-only file system" in result.stderr
    # Even the container's root user cannot: the mount is read-only, not just permissions.
    assert "Read-only file system" in podman.exec(name, "touch /pwned", user="0").stderr
    assert podman.exec(name, "echo ok > /tmp/allowed && cat /tmp/allowed").stdout == "ok\n"


@pytest.mark.parametrize("name, rootless, secret, port", CONTAINERS)
def test_attack_setuid_escalation_fails(host, name, rootless, secret, port):
    podman = podman_for(host, rootless)
    # The container's root plants a setuid-root copy of busybox where it can write: only the tmpfs.
    plant = podman.exec(name, "cp /bin/busybox /tmp/suid-bb && chown 0:0 /tmp/suid-bb && chmod 4755 /tmp/suid-bb "
                              "&& ls -ln /tmp/suid-bb", user="0")
    assert plant.rc == 0, plant.stderr
    assert plant.stdout.startswith("-rwsr-xr-x")
    # The application user cannot run it at all (noexec), so it cannot become root through it ...
    escalate = podman.exec(name, "/tmp/suid-bb id -u")
    assert escalate.rc != 0
    assert "Permission denied" in escalate.stderr
    # ... and su (not setuid, no capabilities, NoNewPrivs) does not make it root either.
    su = podman.exec(name, "busybox su -c 'id -u' root </dev/null")
    assert su.rc != 0 and "0" != su.stdout.strip()
    assert podman.exec(name, "id -u").stdout.strip() == str(CONTAINER_USER)
    podman.exec(name, "rm -f /tmp/suid-bb", user="0")


@pytest.mark.parametrize("name, rootless, other, other_secret", [
    ("web1", False, "web2", "api_token"),
    ("web2", False, "web1", "db_password"),
    ("web3", True, "web4", "api_token"),
    ("web4", True, "web3", "db_password"),
])
def test_attack_reading_another_containers_secret_fails(host, name, rootless, other, other_secret):
    podman = podman_for(host, rootless)
    assert podman.exec(other, "test -r /run/secrets/%s" % other_secret).rc == 0
    attempt = podman.exec(name, "cat /run/secrets/%s" % other_secret)
    assert attempt.rc != 0 and SECRETS[other] not in attempt.stdout
    store = "/run/podsec-secrets-%s" % ("podsec" if rootless else "root")
    assert podman.exec(name, "ls %s" % store).rc != 0


@pytest.mark.parametrize("name, rootless, secret, port", CONTAINERS)
def test_attack_reaching_the_port_from_a_non_loopback_address_fails(host, name, rootless, secret, port):
    address = re.search(r"inet (10\.231\.\d+\.\d+)/", host.run("ip -4 -o addr show host0").stdout).group(1)
    local = host.run("busybox wget -T 5 -q -O- http://127.0.0.1:%d/passwd" % port)
    assert local.rc == 0 and "app" in local.stdout, local.stderr
    remote = host.run("busybox wget -T 5 -q -O- http://%s:%d/passwd" % (address, port))
    assert remote.rc != 0
    assert remote.stdout == ""
    listeners = host.run("ss -Hltn sport = :%d" % port).stdout
    assert "127.0.0.1:%d" % port in listeners and "0.0.0.0:%d" % port not in listeners


# ---------------------------------------------------------------- volumes and SELinux levels


def unit_keys(host, name, rootless):
    unit_dir = "/home/podsec/.config/containers/systemd" if rootless else "/etc/containers/systemd"
    text = host.file("%s/%s.container" % (unit_dir, name)).content_string
    return [tuple(line.split("=", 1)) for line in text.splitlines() if "=" in line and not line.startswith("#")]


def file_label(host, path):
    cmd = "python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], \"security.selinux\").rstrip(b\"\\0\").decode())' %s"
    return host.check_output(cmd % path)


def test_private_volumes_get_their_own_level_in_the_unit_and_on_the_files(host):
    """SELinux is disabled on the test hosts: the label is recorded (policy store, xattr), not enforced."""
    levels = {}
    for name, rootless, source in (("web1", False, "/srv/hc/web1"), ("web3", True, "/srv/hc/web3")):
        level = dict(unit_keys(host, name, rootless))["SecurityLabelLevel"]
        assert re.match(r"^s0:c\d+,c\d+$", level), level
        assert file_label(host, source) == "system_u:object_r:container_file_t:" + level
        assert level in host.check_output("semanage fcontext -l -C | grep -F %s" % source)
        levels[name] = level
    assert levels["web1"] != levels["web3"]
    assert "SecurityLabelLevel" not in dict(unit_keys(host, "web2", False))
    assert file_label(host, "/srv/hc/shared") == "system_u:object_r:container_file_t:s0"


@pytest.mark.parametrize("name, rootless", [("web1", False), ("web2", False), ("web3", True)])
def test_volumes_are_mounted_read_only(host, name, rootless):
    """Even the user a private volume belongs to (issue 17; the container's root may not even enter it)."""
    podman = podman_for(host, rootless)
    assert podman.exec(name, "test -d /data").rc == 0
    assert "Read-only file system" in podman.exec(name, "touch /data/x").stderr
    assert podman.exec(name, "touch /data/x", user="0").rc != 0


# ---------------------------------------------------------------- generated units


@pytest.mark.parametrize("rootless", [False, True])
def test_units_start_with_the_managed_header(host, rootless):
    unit_dir = "/home/podsec/.config/containers/systemd" if rootless else "/etc/containers/systemd"
    for name in ("web3", "web4", "limits") if rootless else ("web1", "web2", "limits"):
        lines = host.file("%s/%s.container" % (unit_dir, name)).content_string.splitlines()
        assert lines[0] == "# Ansible managed"
        assert lines[1].startswith("# podsec.hardening.hardened_container:")


def podman_version(host):
    return tuple(int(part) for part in host.check_output("podman --version").split()[-1].split(".")[:2])


@pytest.mark.parametrize("rootless", [False, True])
def test_limits_are_in_the_generated_service(host, rootless):
    """Default limits reach podman; the running web containers opted out (memory/pids_limit: unlimited).

    The test hosts' cgroups have no delegated controllers (this machine is cgroup v1, the nspawn hosts
    see an empty cgroup2 tree; containers.conf has pids_limit=0), so limits are checked in the generated
    unit and not enforced; test_limits_reach_the_runtime shows crun receives and tries to apply them.
    """
    podman = podman_for(host, rootless)
    service = podman.systemctl("cat limits.service").stdout
    exec_start = [line for line in service.splitlines() if line.startswith("ExecStart=")][0]
    # podman before 5.5 gets PodmanArgs=--memory=256m, 5.5 and later the native Memory= (--memory 256m).
    assert ("--memory 256m" if podman_version(host) >= (5, 5) else "--memory=256m") in exec_start
    assert "--pids-limit 256" in exec_start
    assert "--read-only" in exec_start and "--cap-drop all" in exec_start and "--userns auto" in exec_start
    web = podman.systemctl("cat %s.service" % ("web3" if rootless else "web1")).stdout
    assert "--memory" not in web and "--pids-limit" not in web


@pytest.mark.parametrize("rootless", [False, True])
def test_a_unit_the_generator_rejects_is_not_installed_and_the_key_is_named(host, rootless):
    # A key this module allows with a value only the generator checks (a port number).
    args = {"name": "rejected", "image": "localhost/podsec/busybox:latest",
            "extra_keys": {"Container": {"ExposeHostPort": "abc"}}}
    if rootless:
        args["rootless_user"] = "podsec"
    rc, output = adhoc("podsec.hardening.quadlet_container", args)
    assert rc != 0
    assert "the Quadlet generator rejected rejected.container" in output
    assert "invalid port format 'abc'" in output
    unit_dir = "/home/podsec/.config/containers/systemd" if rootless else "/etc/containers/systemd"
    assert not host.file("%s/rejected.container" % unit_dir).exists
    # The same module installs the unit once the key is gone (the failure was the key, nothing else).
    del args["extra_keys"]
    rc, output = adhoc("podsec.hardening.quadlet_container", args, "--check")
    assert rc == 0 and "CHANGED" in output, output


def test_check_mode_for_a_rootless_user_without_lingering_changes_nothing(host):
    """apply in check mode for a user with no lingering and no session: there is no /run/user/UID yet, so the
    module runs none of the user's podman (it would create its storage and a runtime directory under /tmp) and
    enables nothing; it reports what the run would do."""
    user = "podsec-nolinger"
    assert host.run("useradd --create-home --shell /bin/sh %s" % user).rc == 0
    uid = int(host.check_output("id -u %s" % user))
    try:
        home = "/home/%s" % user
        before = host.check_output("ls -A %s" % home)
        args = {"rootless_user": user, "containers": [{"name": "probe", "image": "localhost/podsec/busybox:latest"}],
                "apply": {}}
        rc, output = adhoc("podsec.hardening.quadlet_container", args, "--check")
        assert rc == 0 and "CHANGED" in output, output
        assert '"linger_enabled": true' in output and '"pulled": true' in output, output
        assert not host.file("/var/lib/systemd/linger/%s" % user).exists
        assert not host.file("/run/user/%d" % uid).exists
        assert host.check_output("ls -A %s" % home) == before
        assert host.run("ls -d /tmp/*-%d" % uid).stdout == ""
        # Control: the same call without --check enables lingering and runs the user's podman, whose storage
        # appears in the home directory (the pull itself fails: no registry answers for localhost).
        rc, output = adhoc("podsec.hardening.quadlet_container", args)
        assert rc != 0 and "lingering for %s was enabled for the pull and stays on" % user in output, output
        assert host.file("/var/lib/systemd/linger/%s" % user).exists
        assert host.file("%s/.local/share/containers" % home).is_directory
    finally:
        host.run("loginctl disable-linger {0}; systemctl stop user@{1}.service; userdel --force --remove {0}".format(
            user, uid))
        assert host.run("id %s" % user).rc != 0


def test_limits_reach_the_runtime(host):
    root = podman_for(host, False)
    start = root.systemctl("start limits.service")
    try:
        assert start.rc != 0
        journal = host.run("journalctl -u limits.service --no-pager -o cat").stdout
        assert re.search(r"memory\.max|controller `pids` is not available", journal), journal[-2000:]
    finally:
        root.systemctl("stop limits.service")
        root.systemctl("reset-failed limits.service")


# ---------------------------------------------------------------- secrets in output and on disk


def test_secret_values_are_not_in_ansible_output_even_at_vvv():
    output = STATE["vvv_output"]
    assert SCENARIO_VARS["hc_greeting"] in output  # control: -vvv shows module arguments
    # The secrets were stored in this run too (tmpfs_secret ran for both owners and changed no file).
    assert task_results(output, APPLY_TASK) == ["ok"] * 2
    chunks = output.split("TASK [podsec.hardening.hardened_container : %s]" % APPLY_TASK)[1:]
    assert len(chunks) == 2 and all('"changed_secrets": []' in chunk for chunk in chunks)
    for value in SECRETS.values():
        assert value not in output


def test_secret_values_are_not_on_the_persistent_disk(host):
    control = "hc-disk-control-5b1e9d"
    patterns = [control] + list(SECRETS.values())
    argv = ["grep", "-raoF", "-D", "skip", "--no-messages"]
    for pattern in patterns:
        argv += ["-e", pattern]
    found = subprocess.run(argv + [host_rootdir()], stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
    matches = [line.rsplit(":", 1)[1] for line in found.splitlines()]
    assert control in matches, found  # the search finds what is planted on disk
    for value in SECRETS.values():
        assert value not in matches, found
    # ... while the values are in memory, on the tmpfs of each owner.
    assert host.file("/run/podsec-secrets-root/web1.db_password").content_string == SECRETS["web1"]
    mount = host.run("findmnt -n -o FSTYPE,OPTIONS /run/podsec-secrets-root").stdout
    assert mount.startswith("tmpfs") and "noswap" in mount


# ---------------------------------------------------------------- change one, then remove one


def test_check_mode_predicts_a_change_without_making_it(host):
    before = all_started_at(host)
    unit = host.file("/etc/containers/systemd/web2.container").content_string
    mark = host_time(host)
    output, changed = converge("changed", "--check", "--diff")
    assert changed > 0
    assert "+Environment=GREETING=changed" in output and "-Environment=GREETING=hello" in output
    assert host.file("/etc/containers/systemd/web2.container").content_string == unit
    assert all_started_at(host) == before
    assert reloads_since(host, mark) == 0


def test_changing_one_parameter_restarts_exactly_that_container(host):
    before = all_started_at(host)
    assert before == STATE["started_at"]
    mark = host_time(host)
    output, changed = converge("changed")
    assert changed > 0
    after = all_started_at(host)
    assert after["web1"] == before["web1"] and after["web3"] == before["web3"]
    assert after["web2"] != before["web2"] and after["web4"] != before["web4"]
    assert "GREETING=changed" in podman_for(host, False).exec("web2", "env").stdout
    assert "GREETING=changed" in podman_for(host, True).exec("web4", "env").stdout
    # One daemon-reload per owner for the run (PID 1's and the user manager's), not one per unit; an
    # unchanged run makes none (see the first test). One call per owner did all of it.
    assert reloads_since(host, mark) == 2
    assert task_results(output, APPLY_TASK) == ["changed"] * 2
    STATE["started_at"] = after


@pytest.mark.parametrize("gone, kept, rootless", [("web2", "web1", False), ("web4", "web3", True)])
def test_removing_a_container_from_the_list_removes_its_unit_and_container(host, gone, kept, rootless):
    """Rootful web2 is dropped from the list (prune); rootless web4 is declared with state: absent."""
    if "removed" not in STATE:
        STATE["removed"] = converge("removed")
    podman = podman_for(host, rootless)
    unit_dir = "/home/podsec/.config/containers/systemd" if rootless else "/etc/containers/systemd"
    assert not host.file("%s/%s.container" % (unit_dir, gone)).exists
    assert host.file("%s/%s.container" % (unit_dir, kept)).exists
    assert podman.run("podman container exists %s" % gone).rc == 1
    assert podman.systemctl("is-active %s.service" % gone).stdout.strip() != "active"
    assert podman.started_at(kept) == STATE["started_at"][kept]
    assert json.loads(podman.check("podman inspect %s" % kept))[0]["State"]["Running"] is True


# ---------------------------------------------------------------- a unit that does not come up


def run_playbook(name, *extra):
    """ansible-playbook on a playbook of the scenario; (rc, output) whatever the outcome."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
            os.path.join(SCENARIO_DIR, name)] + list(extra)
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=900, check=False)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("rootless", [False, True])
def test_a_container_that_exits_fails_the_run_with_its_journal_lines(host, rootless):
    owner = "podsec" if rootless else "root"
    crash = json.dumps({"hc_owner": owner, "hc_crash": True})
    rc, output = run_playbook("start_failure.yml", "-e", crash)
    try:
        assert rc != 0, output[-3000:]
        # The task's message names the service and carries its last journal lines: the command's own output.
        assert "did not come up (%s manager)" % ("user podsec" if rootless else "system") in output, output[-3000:]
        assert "crasher.service: " in output and "hc-crash-marker-4e1f" in output, output[-3000:]
        podman = podman_for(host, rootless)
        # Between two automatic restarts the crashing service is briefly active; it settles in failed once
        # systemd's start limit stops the restarts.
        deadline = time.monotonic() + 60
        while podman.systemctl("is-active crasher.service").stdout.strip() != "failed":
            assert time.monotonic() < deadline, "crasher.service never settled in failed"
            time.sleep(1)
        # Control: the same container with a command that keeps running passes, and runs.
        rc, output = run_playbook("start_failure.yml", "-e", json.dumps({"hc_owner": owner, "hc_crash": False}))
        assert rc == 0, output[-3000:]
        assert "did not come up" not in output
        assert json.loads(podman.check("podman inspect crasher"))[0]["State"]["Running"] is True
        assert podman.systemctl("is-active crasher.service").stdout.strip() == "active"
    finally:
        rc, output = run_playbook("start_failure.yml", "-e", json.dumps(
            {"hc_owner": owner, "hc_crash": False, "hc_crash_state": "absent"}))
        assert rc == 0, output[-3000:]
