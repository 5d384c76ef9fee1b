"""Private and shared volume labels on a host where SELinux ENFORCES them (QEMU VM, own kernel).

What this proves, everything ENFORCED by the kernel (not only labelled): the host runs Debian's policy
in enforcing mode from start to end; the containers alpha and beta (podsec.hardening.hardened_container)
run as container_t with the categories that podsec.hardening.selinux_volume_label returned, recorded in
their Quadlet units (SecurityLabelLevel=); each reads and writes its own private volume; each gets
EACCES on the other's volume, mounted into it unrelabelled, although the file modes allow every uid
(and the same access succeeds while SELinux is briefly permissive, so SELinux is what refuses); both
read the shared volume; a full relabel of the volume root (restorecon -RF) keeps every label and the
isolation, because the labels are rules in the policy store. The second converge (molecule
idempotence) proves selinux_volume_label's second run changed nothing.

The nspawn scenarios (selinux_label, hardened_container) run on a kernel without SELinux: there the
same labels are only WRITTEN and compared, never enforced.
"""

import json
import shlex

import pytest

testinfra_hosts = ["ansible://selinux_hosts"]

ROOT = "/srv/containers"
OWNERS = ("alpha", "beta")
OTHER = {"alpha": "beta", "beta": "alpha"}
CONTEXT = "system_u:object_r:container_file_t:"


def levels(host):
    return json.loads(host.file("/root/selinux_enforcing_levels.json").content_string)


def in_container(host, name, command):
    """A shell command inside a running container, through systemd like podman runs on a real host.

    A root SSH shell is unconfined_t, which Debian's policy gives no transition into podman's domain.
    """
    return host.run("systemd-run --wait --pipe --collect --quiet podman exec %s sh -c %s"
                    % (name, shlex.quote(command)))


def context(host, path):
    return host.check_output("stat -c %%C %s", path)


def labels_below(host, path):
    out = host.check_output("find %s -printf '%%Z %%p\\n'", path)
    pairs = (line.split(" ", 1) for line in out.splitlines())
    return {path: label for label, path in pairs}


def assert_isolation(host):
    for name in OWNERS:
        own = in_container(host, name, "cat /data/own/data.txt")
        assert own.rc == 0 and own.stdout == "data of %s\n" % name, own.stderr
        other = in_container(host, name, "cat /data/other/data.txt")
        assert other.rc != 0 and "Permission denied" in other.stderr, (name, other.stdout, other.stderr)
        listing = in_container(host, name, "ls /data/other")
        assert listing.rc != 0 and "Permission denied" in listing.stderr, (name, listing.stdout, listing.stderr)
        shared = in_container(host, name, "cat /data/shared/data.txt")
        assert shared.rc == 0 and shared.stdout == "data of shared\n", shared.stderr


def test_enforcing_at_start(host):
    assert host.check_output("getenforce") == "Enforcing"
    assert host.file("/sys/fs/selinux/enforce").content_string == "1"
    assert "security=selinux" in host.file("/proc/cmdline").content_string
    assert "SELINUXTYPE=default" in host.file("/etc/selinux/config").content_string


def test_private_levels_differ_and_shared_is_s0(host):
    got = levels(host)
    assert got["shared"] == "s0"
    for name in OWNERS:
        assert got[name].startswith("s0:c") and "," in got[name]
    assert got["alpha"] != got["beta"]


def test_levels_are_in_the_quadlet_units_and_the_registry(host):
    got = levels(host)
    registry = json.loads(host.file("/var/lib/podsec-hardening/selinux_levels.json").content_string)
    for name in OWNERS:
        unit = host.file("/etc/containers/systemd/%s.container" % name).content_string
        assert "SecurityLabelLevel=%s" % got[name] in unit.splitlines()
        assert got[name] in json.dumps(registry)


def test_rules_are_in_the_policy_store(host):
    got = levels(host)
    rules = host.check_output("semanage fcontext -l -C")
    for name in OWNERS:
        assert any(line.split()[0] == "%s/%s(/.*)?" % (ROOT, name) and line.split()[-1] == CONTEXT + got[name]
                   for line in rules.splitlines() if line.startswith("/")), rules
    assert any(line.startswith("%s/shared(/.*)?" % ROOT) and line.split()[-1] == CONTEXT + "s0"
               for line in rules.splitlines()), rules


def test_volumes_carry_their_labels(host):
    got = levels(host)
    for name in OWNERS + ("shared",):
        for path in ("%s/%s" % (ROOT, name), "%s/%s/data.txt" % (ROOT, name)):
            assert context(host, path) == CONTEXT + got[name]
            raw = host.check_output("getfattr --absolute-names --only-values -n security.selinux %s", path)
            assert raw.rstrip("\0") == CONTEXT + got[name]


def test_containers_run_confined_with_their_level(host):
    got = levels(host)
    for name in OWNERS:
        out = host.check_output("systemd-run --wait --pipe --collect --quiet podman inspect "
                                "--format '{{.ProcessLabel}} {{.MountLabel}}' %s", name)
        process_label, mount_label = out.split()
        assert process_label == "system_u:system_r:container_t:" + got[name]
        assert mount_label == CONTEXT + got[name]
        proc = in_container(host, name, "cat /proc/self/attr/current")
        assert proc.rc == 0 and proc.stdout.rstrip("\0\n") == "system_u:system_r:container_t:" + got[name]


def test_discretionary_access_allows_every_uid(host):
    """The file modes let any uid read and write: a refusal below can only come from SELinux."""
    for name in OWNERS:
        assert host.file("%s/%s" % (ROOT, name)).mode == 0o777
        assert host.file("%s/%s/data.txt" % (ROOT, name)).mode == 0o666


def test_each_container_reads_and_writes_its_own_volume(host):
    got = levels(host)
    for name in OWNERS:
        write = in_container(host, name, "echo written by %s > /data/own/new-%s.txt && cat /data/own/new-%s.txt"
                             % (name, name, name))
        assert write.rc == 0 and write.stdout == "written by %s\n" % name, write.stderr
        assert context(host, "%s/%s/new-%s.txt" % (ROOT, name, name)) == CONTEXT + got[name]
        append = in_container(host, name, "echo more >> /data/own/data.txt && tail -n1 /data/own/data.txt")
        assert append.rc == 0 and append.stdout == "more\n", append.stderr
        restore = in_container(host, name, "echo 'data of %s' > /data/own/data.txt" % name)
        assert restore.rc == 0, restore.stderr


@pytest.mark.parametrize("name", OWNERS)
def test_the_other_volume_is_refused_with_eacces(host, name):
    other = OTHER[name]
    read = in_container(host, name, "cat /data/other/data.txt")
    assert read.rc != 0 and "Permission denied" in read.stderr, (read.stdout, read.stderr)
    write = in_container(host, name, "echo intruder > /data/other/data.txt")
    assert write.rc != 0 and "Permission denied" in write.stderr, (write.stdout, write.stderr)
    create = in_container(host, name, "echo intruder > /data/other/from-%s.txt" % name)
    assert create.rc != 0 and "Permission denied" in create.stderr, (create.stdout, create.stderr)
    assert host.file("%s/%s/data.txt" % (ROOT, other)).content_string == "data of %s\n" % other
    assert not host.file("%s/%s/from-%s.txt" % (ROOT, other, name)).exists


def test_the_refusal_is_selinux(host):
    """Control: with SELinux permissive for a moment the very same read succeeds."""
    assert host.run("setenforce 0").rc == 0
    try:
        read = in_container(host, "alpha", "cat /data/other/data.txt")
    finally:
        assert host.run("setenforce 1").rc == 0
    assert host.check_output("getenforce") == "Enforcing"
    assert read.rc == 0 and read.stdout == "data of beta\n", read.stderr


@pytest.mark.parametrize("name", OWNERS)
def test_both_read_the_shared_volume(host, name):
    read = in_container(host, name, "cat /data/shared/data.txt")
    assert read.rc == 0 and read.stdout == "data of shared\n", read.stderr


def test_full_relabel_keeps_labels_and_isolation(host):
    got = levels(host)
    before = labels_below(host, ROOT)
    assert len(before) >= 9
    # A label set by hand (not in the policy) is what a relabel would undo; the recorded ones stay.
    host.check_output("chcon -l s0 %s/alpha/data.txt", ROOT)
    assert context(host, ROOT + "/alpha/data.txt") == CONTEXT + "s0"
    host.check_output("restorecon -RF %s", ROOT)
    assert context(host, ROOT + "/alpha/data.txt") == CONTEXT + got["alpha"]
    assert labels_below(host, ROOT) == before
    assert_isolation(host)


def test_enforcing_at_end(host):
    assert host.check_output("getenforce") == "Enforcing"
    assert host.file("/sys/fs/selinux/enforce").content_string == "1"
