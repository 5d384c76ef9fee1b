"""The kernel-level controls on a kernel of the test bed's own (QEMU VM: cgroup v2, real audit).

What this proves, on the VM's kernel after converge, the audit role's second run and one reboot:

- hardened_container's DEFAULT limits (no memory or pids_limit in the scenario) are in the
  containers' own cgroup files, rootful and rootless (the rootless user manager has the memory and
  pids controllers delegated); a memory hog in such a container is OOM-killed by the kernel inside
  the container's cgroup (memory.events oom_kill, the kernel log's CONSTRAINT_MEMCG line naming that
  cgroup) while the other containers and the SSH login carry on; a fork bomb stops at pids.max
  (pids.events max). Controls: the same hog and bomb in a container that opts out (``unlimited``)
  allocate and fork beyond the default limits, so the limits are what stops them.
- The audit role's DEFAULT watch sets are live: ``auditctl -l`` equals the rules file and holds every
  default watch whose path exists; ``enabled 2`` (immutable); a write to a watched podman configuration
  file by a container that an SSH login started with ``podman run`` is logged with the login's auid and
  session (control: the same write started by systemd, outside any login, carries no auid).
- The second run (side_effect.yml, one watch more on the immutable kernel) reported reboot_required,
  did not fail and left the kernel's rules unchanged; after the reboot the new watch is live. The third
  run's changed=0 is molecule's idempotence step after side_effect.
"""

import importlib
import json
import os
import re
import shlex
import sys
import uuid

import pytest
import yaml

testinfra_hosts = ["ansible://selinux_hosts"]

IMAGE = "localhost/podsec/busybox:latest"
MIB = 1024 * 1024
COLLECTION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../..")
# Just over the default memory limit, small enough for the VM (3 GiB) to give the control container.
HOG_BYTES = 300 * MIB
# More processes than the default pids limit.
BOMB_FORKS = 320
# The nproc ulimit the scenario gives every container instead of the default 256 (which equals the
# default pids limit and would stop the bomb first): above the bomb, so only the pids cgroup stops it.
NPROC = 1024
ROOTFUL = {"limited": "hog", "bystander": "bystander", "unlimited": "unlimited"}
ROOTLESS = {"limited": "hog-rootless", "unlimited": "unlimited-rootless"}
USER = "podsec"

# Touches HOG_BYTES in one process: dd's one block of that size, filled by the kernel from /dev/zero
# (no copying in user space, which under TCG took minutes with a pipe). It prints "1+0 records out"
# only when the whole block was read.
HOG = "dd if=/dev/zero of=/dev/null bs=%d count=1 iflag=fullblock 2>&1" % HOG_BYTES
HOG_DONE = "1+0 records out"
# Forks sleepers in a subshell until fork fails (ash then ends the subshell) or BOMB_FORKS run. The
# outer shell then uses builtins only (no fork while at the limit): it ends the sleepers and prints how
# many ran, how many errors there were and the first error.
BOMB = (": > /tmp/bomb.pids; "
        "( i=0; while [ $i -lt %d ]; do sleep 300 & echo $! >> /tmp/bomb.pids; i=$((i+1)); done ) 2>/tmp/bomb.err; "
        "n=0; while read p; do n=$((n+1)); kill $p; done < /tmp/bomb.pids; echo forked=$n; "
        "e=0; while read l; do e=$((e+1)); [ $e = 1 ] && echo \"$l\"; done < /tmp/bomb.err; echo errors=$e"
        % BOMB_FORKS)


def podman(host, args, user=None):
    """podman as a user would start it: through systemd for root (a root SSH shell is unconfined_t,
    which has no transition into podman's domain), through a login shell for the rootless user."""
    if user is None:
        return host.run("systemd-run --wait --pipe --collect --quiet podman %s" % args)
    return host.run("su -l %s -c %s" % (user, shlex.quote("podman " + args)))


class Ran(object):
    """What a command in a container printed and how it ended, like testinfra's CommandResult."""

    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


def in_container(host, name, command, user=None):
    if user is None:
        return podman(host, "exec %s sh -c %s" % (name, shlex.quote(command)), user)
    # A rootless `podman exec` through `su -l` on this VM returns rc 0 and no output at all (cause not found),
    # although the command runs (the hog is OOM-killed). So the command writes its output and its exit status
    # into the container's /tmp, and root reads that file through /proc/PID/root.
    out = "/tmp/podsec-exec-%s.out" % uuid.uuid4().hex  # never a file an earlier call left
    wrapped = "(%s) > %s 2>&1; echo \"rc=$?\" >> %s" % (command, out, out)
    ran = podman(host, "exec %s sh -c %s" % (name, shlex.quote(wrapped)), user)
    pid = podman(host, "inspect --format '{{.State.Pid}}' %s" % name, user).stdout.strip()
    text = host.file("/proc/%s/root%s" % (pid, out)).content_string if pid.isdigit() else ""
    lines = text.splitlines()
    if not lines or not lines[-1].startswith("rc="):
        return Ran(ran.rc or 1, text, ran.stderr)
    return Ran(int(lines[-1][3:]), "".join(line + "\n" for line in lines[:-1]), ran.stderr)


def container_cgroup(host, name, user=None):
    """The container's cgroup directory, from the /proc/PID/cgroup of its main process."""
    out = podman(host, "inspect --format '{{.State.Pid}}' %s" % name, user)
    assert out.rc == 0, out.stderr
    pid = int(out.stdout.strip())
    line = host.file("/proc/%d/cgroup" % pid).content_string.strip()
    assert line.startswith("0::/"), line
    return "/sys/fs/cgroup" + line[3:]


def keyed(host, path):
    return dict(line.split() for line in host.file(path).content_string.splitlines())


def role_default(role, name):
    with open(os.path.join(COLLECTION, "roles", role, "defaults/main.yml")) as handle:
        return yaml.safe_load(handle)[name]


def schema_default(name):
    """A container option's default, from the collection's schema (the scenario sets neither limit)."""
    sys.path.insert(0, os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0])
    schema = importlib.import_module("ansible_collections.podsec.hardening.plugins.module_utils._container_schema")
    return schema.CONTAINER_OPTIONS[name]["default"]


def size_in_bytes(text):
    units = {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}
    match = re.match(r"^(\d+)([kmg]?)$", text.lower())
    return int(match.group(1)) * units[match.group(2)]


DEFAULT_MEMORY = size_in_bytes(schema_default("memory"))
DEFAULT_PIDS = int(schema_default("pids_limit"))


def test_the_hog_and_the_bomb_go_beyond_the_default_limits():
    assert DEFAULT_MEMORY < HOG_BYTES < 2 * DEFAULT_MEMORY and DEFAULT_PIDS < BOMB_FORKS


@pytest.mark.parametrize("names, user", [(ROOTFUL, None), (ROOTLESS, USER)], ids=["rootful", "rootless"])
def test_default_limits_are_in_the_container_cgroups(host, names, user):
    limited = container_cgroup(host, names["limited"], user)
    assert host.file(limited + "/memory.max").content_string.strip() == str(DEFAULT_MEMORY)
    assert host.file(limited + "/pids.max").content_string.strip() == str(DEFAULT_PIDS)
    unlimited = container_cgroup(host, names["unlimited"], user)
    assert host.file(unlimited + "/memory.max").content_string.strip() == "max"
    # pids_limit: unlimited leaves podman's own default (containers.conf pids_limit, 2048 on Debian 13
    # rootful): still far above the role's default and the bomb below.
    pids = host.file(unlimited + "/pids.max").content_string.strip()
    assert pids == "max" or int(pids) > BOMB_FORKS, pids


def test_the_rootless_user_manager_has_memory_and_pids_delegated(host):
    uid = host.user(USER).uid
    manager = "/sys/fs/cgroup/user.slice/user-%d.slice/user@%d.service" % (uid, uid)
    controllers = host.file(manager + "/cgroup.controllers").content_string.split()
    assert "memory" in controllers and "pids" in controllers, controllers
    assert container_cgroup(host, ROOTLESS["limited"], USER).startswith(manager + "/")


def oom_lines(host, cgroup):
    """The kernel log's oom-kill lines for a task of the cgroup (path below /sys/fs/cgroup)."""
    memcg = cgroup[len("/sys/fs/cgroup"):]
    log = host.check_output("journalctl -k -o cat --no-pager")
    return [line for line in log.splitlines() if "oom-kill:" in line and "task_memcg=%s," % memcg in line]


def oom_memcg(line):
    return "/sys/fs/cgroup" + re.search(r"oom_memcg=([^,]+),", line).group(1)


@pytest.mark.parametrize("names, user", [(ROOTFUL, None), (ROOTLESS, USER)], ids=["rootful", "rootless"])
def test_a_memory_hog_is_oom_killed_inside_its_container_only(host, names, user):
    cgroup = container_cgroup(host, names["limited"], user)
    before = keyed(host, cgroup + "/memory.events")["oom_kill"]
    hog = in_container(host, names["limited"], HOG, user)
    assert hog.rc != 0 and HOG_DONE not in hog.stdout, (hog.rc, hog.stdout, hog.stderr)
    assert int(keyed(host, cgroup + "/memory.events")["oom_kill"]) > int(before)
    lines = oom_lines(host, cgroup)
    assert lines and all("constraint=CONSTRAINT_MEMCG" in line for line in lines), lines
    # The limit that struck is the container's: the cgroup named oom_memcg is the container's own or
    # the scope podman made for it (rootless podman puts the process one level below), with the default.
    for line in lines:
        struck = oom_memcg(line)
        assert cgroup == struck or cgroup.startswith(struck + "/"), (cgroup, line)
        assert host.file(struck + "/memory.max").content_string.strip() == str(DEFAULT_MEMORY), line
    # The container, its neighbours and this SSH login carry on.
    for name in names.values():
        alive = in_container(host, name, "echo alive", user)
        assert alive.rc == 0 and alive.stdout == "alive\n", (name, alive.stderr)
    assert host.check_output("systemctl is-system-running || true") in ("running", "degraded")


@pytest.mark.parametrize("names, user", [(ROOTFUL, None), (ROOTLESS, USER)], ids=["rootful", "rootless"])
def test_control_the_same_hog_runs_without_the_limit(host, names, user):
    cgroup = container_cgroup(host, names["unlimited"], user)
    hog = in_container(host, names["unlimited"], HOG, user)
    assert hog.rc == 0 and HOG_DONE in hog.stdout, (hog.rc, hog.stdout, hog.stderr)
    assert int(host.file(cgroup + "/memory.peak").content_string) > HOG_BYTES
    assert keyed(host, cgroup + "/memory.events")["oom_kill"] == "0"
    assert not oom_lines(host, cgroup)


def bomb(host, name, user):
    out = in_container(host, name, BOMB, user)
    assert out.rc == 0, out.stderr
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if re.match(r"^(forked|errors)=", line)), out


@pytest.mark.parametrize("names, user", [(ROOTFUL, None), (ROOTLESS, USER)], ids=["rootful", "rootless"])
def test_a_fork_bomb_stops_at_the_pids_limit(host, names, user):
    cgroup = container_cgroup(host, names["limited"], user)
    before = int(keyed(host, cgroup + "/pids.events")["max"])
    counts, out = bomb(host, names["limited"], user)
    assert 0 < int(counts["forked"]) < DEFAULT_PIDS and int(counts["errors"]) >= 1, out.stdout
    assert "can't fork" in out.stdout, out.stdout
    assert int(keyed(host, cgroup + "/pids.events")["max"]) > before
    # Not the per-uid process limit: the container's nproc ulimit is above the bomb.
    limits = in_container(host, names["limited"], "grep '^Max processes' /proc/self/limits", user)
    assert limits.stdout.split()[2:4] == [str(NPROC), str(NPROC)] and NPROC > BOMB_FORKS, limits.stdout
    alive = in_container(host, names["limited"], "echo alive", user)
    assert alive.rc == 0 and alive.stdout == "alive\n", alive.stderr


@pytest.mark.parametrize("names, user", [(ROOTFUL, None), (ROOTLESS, USER)], ids=["rootful", "rootless"])
def test_control_the_same_bomb_forks_beyond_the_default_without_the_limit(host, names, user):
    cgroup = container_cgroup(host, names["unlimited"], user)
    counts, out = bomb(host, names["unlimited"], user)
    assert int(counts["forked"]) == BOMB_FORKS > DEFAULT_PIDS and counts["errors"] == "0", out.stdout
    assert keyed(host, cgroup + "/pids.events")["max"] == "0"


# ---------------------------------------------------------------------------------------------
# audit
# ---------------------------------------------------------------------------------------------

RULES_FILE = "/etc/audit/rules.d/podsec-hardening.rules"
CHANGED = "-w /usr/bin/catatonit -p wxa -k podsec_changed_watch"


def rule_lines(text):
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_audit_is_immutable(host):
    status = host.check_output("auditctl -s")
    assert "enabled 2" in status.splitlines(), status


def test_the_live_rules_equal_the_rules_file_and_hold_the_default_watches(host):
    live = rule_lines(host.check_output("auditctl -l"))
    persisted = rule_lines(host.file(RULES_FILE).content_string)
    assert sorted(live) == sorted(persisted)
    defaults = role_default("audit", "audit_container_watches") + role_default("audit", "audit_identity_watches")
    expected = ["-w %s -p %s -k %s" % (w["path"], "".join(c for c in "rwxa" if c in w["permissions"]), w["key"])
                for w in defaults if host.file(w["path"]).exists]
    assert len(expected) >= 15
    assert sorted(set(live) - {CHANGED}) == sorted(expected)


def test_the_second_run_on_the_immutable_kernel_asked_for_a_reboot(host):
    second = json.loads(host.file("/root/podsec-audit-second-run.json").content_string)
    result = second["result"]
    assert result["reboot_required"] is True and result["immutable"] is True
    assert not result.get("failed") and result["added"] == [CHANGED] and result["removed"] == []
    assert "enabled 2" in second["status_before"].splitlines()
    # The kernel refused nothing because nothing was asked of it: its rules did not change.
    assert CHANGED not in second["live_before"] and second["live_after"] == second["live_before"]
    assert CHANGED in rule_lines(host.file(RULES_FILE).content_string)


def test_after_the_reboot_the_changed_watch_is_live(host):
    assert CHANGED in rule_lines(host.check_output("auditctl -l"))
    assert "audit=1" in host.file("/proc/cmdline").content_string.split()


def conf_records(host, session):
    """The SYSCALL records of one login session under the policy.json watch, from auditd's log.

    Read from /var/log/audit/audit.log: on the VM ausearch -k found none of the records that are there.
    """
    out = host.run("grep -a '^type=SYSCALL.* ses=%s .*key=\"podsec_image_trust\"' /var/log/audit/audit.log" % session)
    return out.stdout.splitlines()


def write_probe(host):
    """An SSH login starts a container with podman run; the container opens the bind-mounted
    /etc/containers/policy.json for appending (a write access, content unchanged). Returns the login's
    loginuid and session id, the records of that session under the policy.json watch before the
    container ran, and the container's exit status."""
    run = ("podman run --rm --network none --user 0 --security-opt label=disable "
           "-v /etc/containers/policy.json:/probe.json %s sh -c ': >> /probe.json'"
           " </dev/null >/dev/null 2>&1" % IMAGE)
    # No pipe of the test's command reaches the container: the container's domain may not use file
    # descriptors that the Ansible module (unconfined_t) created (exit 126).
    out = host.run("cat /proc/self/loginuid; echo; cat /proc/self/sessionid; echo; "
                   "echo before=$(grep -ac \"^type=SYSCALL.* ses=$(cat /proc/self/sessionid) .*key=.podsec_image_trust.\" "
                   "/var/log/audit/audit.log); %s; echo rc=$?" % run)
    lines = out.stdout.split()
    return lines[0], lines[1], lines[2], lines[-1]


@pytest.fixture
def policy_json(host):
    before = host.file("/etc/containers/policy.json").content_string
    yield
    assert host.file("/etc/containers/policy.json").content_string == before


def test_a_write_through_podman_run_is_logged_with_the_logins_auid(host, policy_json):
    loginuid, session, before, rc = write_probe(host)
    assert rc == "rc=0" and loginuid == "0" and session.isdigit(), (loginuid, session, rc)
    records = conf_records(host, session)
    # Control: the write added the session's record (the count before the container ran was lower).
    assert len(records) > int(before.split("=")[1]), (before, records)
    assert any(" auid=%s " % loginuid in r and " ses=%s " % session in r and " success=yes " in r for r in records), \
        "no successful podsec_image_trust write of session %s: %s" % (session, records)
