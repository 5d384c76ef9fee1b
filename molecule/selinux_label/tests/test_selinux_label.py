"""selinux_volume_label on booted Debian 13 hosts with the SELinux policy tools but a kernel without SELinux.

What this proves: the rules are in the local policy store, the files carry the expected
security.selinux labels with the expected categories, two owners get different categories, the
policy itself (setfiles, as run when SELinux gets enabled) reproduces exactly the labels on disk,
forbidden paths were refused, check mode wrote nothing, state=absent restores the default labels.

What this does NOT prove: enforcement. The kernel here runs without SELinux, so everything below
was only LABELLED; no access was allowed or denied by SELinux. Enforcement (a container with other
categories getting EACCES) is tested on the SELinux-enforcing VM (issue 10).
"""

import json

import pytest

testinfra_hosts = ["ansible://podman_hosts"]

ROOT = "/srv/containers"
# Prints a file's security.selinux attribute; fails (ENODATA) when it has none.
GET_LABEL_PY = "import os, sys; print(os.getxattr(sys.argv[1], 'security.selinux', follow_symlinks=False))"
FC = "/etc/selinux/default/contexts/files/file_contexts"
CTX = "system_u:object_r:container_file_t:"
# Pinned: sha256("web\0" "0") and sha256("db\0" "0") give these; "web" moves to its next candidate on
# the second host, where an unregistered legacy volume already holds s0:c172,c520.
EXPECTED = {
    "h1": {"web": "s0:c172,c520", "db": "s0:c90,c908"},
    "h2": {"web": "s0:c513,c660", "db": "s0:c90,c908"},
}
VOLUMES = {"shared": ["shared"], "web": ["web/data", "web/cache"], "db": ["db/data"]}


def short_name(host):
    return host.backend.get_hostname().rsplit("-", 1)[-1]


def results(host):
    return json.loads(host.file("/root/selinux_label_results.json").content_string)


LABEL_PY = (
    "import os, sys\n"
    "try:\n"
    "    print(os.getxattr(sys.argv[1], 'security.selinux', follow_symlinks=False).rstrip(b'\\0').decode())\n"
    "except OSError as exc:\n"
    "    if exc.errno != 61:\n"
    "        raise\n"
    "    print('<no label>')\n"
)


def label(host, path):
    """The security.selinux attribute of path (the test hosts have no getfattr), '<no label>' if unset."""
    cmd = host.run("python3 -c %s %s", LABEL_PY, path)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def local_rules(host):
    out = host.check_output("semanage fcontext -l -C")
    rules = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].startswith("/") and parts[1:3] == ["all", "files"]:
            rules[parts[0]] = parts[3]
    return rules


def expected_levels(host):
    levels = dict(EXPECTED[short_name(host)])
    levels["shared"] = "s0"
    return levels


def test_selinux_is_disabled_here_so_this_is_labelling_only(host):
    assert not host.file("/sys/fs/selinux/enforce").exists
    for result in results(host).values():
        assert result["selinux_enabled"] is False
        assert result["enforced"] is False


def test_returned_levels(host):
    got = results(host)
    for owner, level in expected_levels(host).items():
        assert got[owner]["level"] == level
        assert got[owner]["context"] == CTX + level


def test_two_owners_get_different_private_categories(host):
    got = results(host)
    assert got["web"]["level"] != got["db"]["level"]
    for owner in ("web", "db"):
        assert got[owner]["level"].startswith("s0:c") and got[owner]["level"].count(",c") == 1


def test_rules_in_local_policy_store(host):
    rules = local_rules(host)
    for owner, level in expected_levels(host).items():
        for vol in VOLUMES[owner]:
            assert rules["%s/%s(/.*)?" % (ROOT, vol)] == CTX + level
    local = host.file("/var/lib/selinux/default/active/file_contexts.local").content_string
    assert "%s/web/data(/.*)?    %s%s" % (ROOT, CTX, expected_levels(host)["web"]) in local


def test_second_host_kept_the_legacy_rule_and_moved_web(host):
    rules = local_rules(host)
    if short_name(host) == "h2":
        assert rules["%s/legacy(/.*)?" % ROOT] == CTX + "s0:c172,c520"
    else:
        assert "%s/legacy(/.*)?" % ROOT not in rules


@pytest.mark.parametrize("owner", sorted(VOLUMES))
def test_files_carry_the_label(host, owner):
    level = expected_levels(host)[owner]
    for vol in VOLUMES[owner]:
        for path in ("", "/sub", "/sub/file.txt"):
            assert label(host, "%s/%s%s" % (ROOT, vol, path)) == CTX + level


def test_policy_reproduces_the_labels_on_disk(host):
    # setfiles is what relabels a file system when SELinux gets enabled: it must find nothing to change.
    paths = ["%s/%s" % (ROOT, vol) for vols in VOLUMES.values() for vol in vols]
    out = host.check_output("setfiles -F -n -v %s %s" % (FC, " ".join(paths)))
    assert "relabel" not in out.lower(), out
    for path in paths:
        assert host.check_output("matchpathcon -n %s/sub/file.txt" % path) == label(host, path + "/sub/file.txt")


SET_LABEL_PY = "import os, sys; os.setxattr(sys.argv[1], 'security.selinux', sys.argv[2].encode() + b'\\0')"


def test_labels_survive_a_relabel_unlike_chcon(host):
    # What :Z and chcon do: a label on disk only. A relabel (setfiles, as run when SELinux gets
    # enabled, or restorecon on an enabled host) reverts it; the recorded rule keeps ours.
    adhoc = ROOT + "/adhoc"
    host.check_output("mkdir -p %s && touch %s/f", adhoc, adhoc)
    try:
        host.check_output("python3 -c %s %s %s", SET_LABEL_PY, adhoc + "/f", CTX + "s0:c1,c2")
        assert label(host, adhoc + "/f") == CTX + "s0:c1,c2"
        web = ROOT + "/web/data"
        host.check_output("setfiles -F %s %s %s", FC, web, adhoc)
        assert label(host, web + "/sub/file.txt") == CTX + expected_levels(host)["web"]
        assert label(host, adhoc + "/f") == host.check_output("matchpathcon -n %s", adhoc + "/f")
        assert "container_file_t" not in label(host, adhoc + "/f")
    finally:
        host.check_output("rm -rf %s", adhoc)


def test_restorecon_does_nothing_without_selinux(host):
    # Why the module writes security.selinux itself on these hosts: restorecon exits 0 and changes nothing.
    probe = ROOT + "/probe-restorecon"
    host.check_output("mkdir -p %s", probe)
    try:
        host.check_output("python3 -c %s %s %s", SET_LABEL_PY, probe, CTX + "s0:c3,c4")
        cmd = host.run("restorecon -R -F -v %s", probe)
        assert cmd.rc == 0 and cmd.stdout.strip() == "", cmd.stdout
        assert label(host, probe) == CTX + "s0:c3,c4"
    finally:
        host.check_output("rm -rf %s", probe)


def test_registry_records_the_owners(host):
    registry = json.loads(host.file("/var/lib/podsec-hardening/selinux_levels.json").content_string)
    assert registry == {"owners": {"db": expected_levels(host)["db"], "web": expected_levels(host)["web"]}}


def test_refused_paths_left_no_trace(host):
    rules = local_rules(host)
    for path in ("/", "/etc", "/home", "/usr", "/usr/local/vol", "/var", "/var/lib", "/tmp", "/root", "/home/podsec",
                 "/var/lib/containers/storage", "/var/lib/containers", "/etc/ssh", "/etc/systemd", "/root/.ssh",
                 "/var/log/journal", "/run/podman", "/srv/containers/innocent"):
        assert path + "(/.*)?" not in rules
    # container storage kept its own labels (nothing was written into its security.selinux attributes)
    assert "container_file_t" not in host.run("python3 -c %s %s", GET_LABEL_PY, "/var/lib/containers/storage").stdout


def test_rules_only_recorded_the_rule_and_no_label(host):
    rules = local_rules(host)
    assert rules.get(ROOT + "/rulesonly(/.*)?", "").endswith(":s0")
    assert host.run("python3 -c %s %s", GET_LABEL_PY, ROOT + "/rulesonly/written-later").rc != 0
    assert not host.file("/usr/local/vol").exists
    for path in ("/etc", "/var/lib", "/home/podsec"):
        assert "container_file_t" not in label(host, path)


@pytest.mark.parametrize("path", ["/etc", "/var/lib", "/usr/local/vol", "/home/podsec"])
def test_refusal_message(host, path):
    # testinfra's ad-hoc runner does not always carry "failed" back, so assert on the result itself:
    # a refusal has the message and none of the keys a successful run returns.
    result = host.ansible("podsec.hardening.selinux_volume_label", "paths=%s owner=intruder" % path, check=False)
    assert "level" not in result and result.get("changed") is False, result
    assert path in result["msg"]
    assert "not allowed" in result["msg"] or "home directory" in result["msg"]


def test_check_mode_wrote_nothing(host):
    assert not host.file(ROOT + "/checkonly").exists
    assert ROOT + "/checkonly(/.*)?" not in local_rules(host)
    assert "probe" not in host.file("/var/lib/podsec-hardening/selinux_levels.json").content_string


def test_absent_restores_default_labels(host):
    scratch = ROOT + "/scratch"
    assert label(host, scratch + "/sub/file.txt") == CTX + "s0"
    removed = host.ansible("podsec.hardening.selinux_volume_label", "paths=%s state=absent" % scratch, check=False)
    assert removed["changed"] is True, removed
    assert scratch + "(/.*)?" not in local_rules(host)
    default = host.check_output("matchpathcon -n %s/sub/file.txt" % scratch)
    assert "container_file_t" not in default
    assert label(host, scratch + "/sub/file.txt") == default
    again = host.ansible("podsec.hardening.selinux_volume_label", "paths=%s state=absent" % scratch, check=False)
    assert again["changed"] is False, again
