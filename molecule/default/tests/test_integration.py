"""A hardened container reading a tmpfs secret from a labelled volume, under a default-reject trust policy.

What is checked is what a user would check on the host: the policy file and a pull podman refuses,
the container's real flags from /proc and `podman inspect`, the secret file inside the container,
the SELinux label on the volume. SELinux is disabled on this kernel: the volume's label is written
and read back (extended attribute + policy store rule), not enforced; enforcement is the
selinux_enforcing scenario's job.
"""

import hashlib
import json
import os
import re
import subprocess

import pytest

testinfra_hosts = ["ansible://podman_hosts"]

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCENARIO = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
TESTBED = os.path.join(SCENARIO, "..", "..", "tests", "testbed", "testbed.py")
CONTAINER = "integ-app"


@pytest.fixture(scope="module")
def secret():
    with open(os.path.join(EPHEMERAL, "app_token")) as handle:
        value = handle.read().split()[0]
    if len(value) != 64:
        raise AssertionError("the scenario's secret must be the 64-character random value")
    return value


def must_not_contain(haystack, value, where):
    # A plain raise: pytest's assertion rewriting would print the value on failure.
    if value.encode() in haystack:
        raise AssertionError("the secret value was found in " + where)


def in_container(host, command):
    return host.run("podman exec %s sh -c %s" % (CONTAINER, json.dumps(command)))


def test_trust_policy_rejects_by_default_and_podman_refuses_an_unlisted_source(host):
    policy = json.loads(host.file("/etc/containers/policy.json").content_string)
    assert policy["default"] == [{"type": "reject"}]
    assert policy["transports"]["docker"]["localhost/podsec"] == [{"type": "insecureAcceptAnything"}]
    refused = host.run("podman pull docker-archive:/usr/local/share/podsec-testbed/busybox.tar")
    assert refused.rc != 0
    assert "rejected by policy" in refused.stderr


def test_container_runs_hardened(host):
    status = in_container(host, "grep -E '^(NoNewPrivs|CapEff|Uid)' /proc/self/status").stdout
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M)
    assert re.search(r"^CapEff:\s+0+$", status, re.M)
    assert re.search(r"^Uid:\s+10001\s", status, re.M)
    write_root = in_container(host, "touch /written-to-root")
    assert write_root.rc != 0 and "Read-only file system" in write_root.stderr
    inspect = json.loads(host.check_output("podman inspect %s" % CONTAINER))[0]
    assert inspect["HostConfig"]["ReadonlyRootfs"] is True
    assert [p["HostIp"] for p in inspect["HostConfig"]["PortBindings"]["8080/tcp"]] == ["127.0.0.1"]


def test_container_reads_the_secret_file_which_is_on_a_noswap_tmpfs(host, secret):
    digest = in_container(host, "sha256sum /run/secrets/app_token").stdout.split()[0]
    assert digest == hashlib.sha256(secret.encode()).hexdigest()
    mounts = host.file("/proc/mounts").content_string
    tmpfs = [line for line in mounts.splitlines() if line.split()[1] == "/run/podsec-secrets-root"]
    assert tmpfs and tmpfs[0].split()[2] == "tmpfs" and "noswap" in tmpfs[0].split()[3].split(","), tmpfs


def test_secret_is_neither_in_the_environment_nor_in_inspect(host, secret):
    must_not_contain(in_container(host, "cat /proc/1/environ").stdout.encode(), secret, "the container environment")
    must_not_contain(host.check_output("podman inspect %s" % CONTAINER).encode(), secret, "podman inspect")


def test_volume_is_labelled_with_the_level_of_the_container_unit(host):
    unit = host.file("/etc/containers/systemd/%s.container" % CONTAINER).content_string
    level = re.search(r"^SecurityLabelLevel=(\S+)$", unit, re.M).group(1)
    assert re.fullmatch(r"s0:c\d+,c\d+", level)
    label = host.check_output("python3 -c \"import os; print(os.getxattr('/srv/integ/data/hello.txt', "
                              "'security.selinux').decode().rstrip(chr(0)))\"")
    assert label == "system_u:object_r:container_file_t:" + level
    rules = host.check_output("semanage fcontext -l -C")
    assert re.search(r"^/srv/integ/data\(/\.\*\)\?\s+all files\s+system_u:object_r:container_file_t:%s\s*$"
                     % re.escape(level), rules, re.M), rules
    assert in_container(host, "cat /data/hello.txt").stdout == "hello from the labelled volume\n"


def test_verbose_rerun_changes_nothing_and_no_output_or_disk_holds_the_secret(host, secret):
    """The -vvv run, molecule's own Ansible log and the host's persistent disk never contain the value.

    Each search is first shown to find a planted value, so none can pass vacuously.
    """
    hostname = host.backend.get_hostname()
    ansible_log_path = os.path.join(EPHEMERAL, "ansible-output.log")
    env = dict(os.environ, ANSIBLE_LOG_PATH=ansible_log_path, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    run = subprocess.run(["ansible-playbook", "-vvv", "-i", INVENTORY, "--limit", hostname,
                          os.path.join(SCENARIO, "converge.yml")],
                         capture_output=True, timeout=900, check=False, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-2000:].decode(errors="replace")
    assert re.search(rb"%s\s*:\s*ok=\d+\s+changed=0\s" % hostname.encode(), output)
    assert b"ESTABLISH SSH CONNECTION" in output  # it really was verbose
    # Plant a value through the same channels (stdout at -vvv and the Ansible log file).
    canary = "planted-%s" % hashlib.sha256(secret.encode()).hexdigest()[:32]
    planted = subprocess.run(["ansible", "-vvv", "-i", INVENTORY, hostname, "-m", "ansible.builtin.debug",
                              "-a", "msg=" + canary], capture_output=True, timeout=120, check=True, env=env)
    output += planted.stdout + planted.stderr
    with open(ansible_log_path, "rb") as handle:
        ansible_log = handle.read()
    for text, where in ((output, "the -vvv output"), (ansible_log, "the Ansible log of every run")):
        assert canary.encode() in text, "the search of %s must find the planted value" % where
        must_not_contain(text, secret, where)

    root = subprocess.check_output(["python3", TESTBED, "rootdir", hostname], text=True).strip()
    host.run("mkdir -p /var/lib/podsec-canary && echo %s > /var/lib/podsec-canary/value" % canary)
    try:
        def disk_search(value):
            found = subprocess.run(["grep", "-rlaF", "--no-messages", "-e", value, root,
                                    "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev"],
                                   capture_output=True, text=True, check=False)
            return found.stdout.split()
        assert disk_search(canary), "the disk search must find a planted value"
        if disk_search(secret):
            raise AssertionError("the secret value is on the host's persistent disk: %s" % disk_search(secret))
    finally:
        host.run("rm -rf /var/lib/podsec-canary")
