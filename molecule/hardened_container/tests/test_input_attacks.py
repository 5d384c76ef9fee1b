"""Inputs an attacker controls (one inventory variable) cannot be turned against the host (issue 15).

Each attack goes through the role as an inventory value would; the role fails, naming the field, and the
unit directories are exactly as before. Each has a control that shows the same payload working when the
protection is off (the unit the old renderer wrote, installed by hand; the path mounted by podman itself),
so no check passes because the payload was harmless. Secret canaries in a refused input appear neither in
the -vvv output nor in the host's journal, read with journalctl --file ... -o export (journald compresses
large entries, which a byte search misses); both searches first find a control value planted on purpose.
"""

import base64
import gzip
import json
import os
import subprocess
import sys
import uuid

import pytest

from conftest import SCENARIO_DIR, HOST_NAME

testinfra_hosts = ["ansible://hardened-container-h1"]

IMAGE = "localhost/podsec/busybox:latest"
UNIT_DIRS = ("/etc/containers/systemd", "/home/podsec/.config/containers/systemd")


def deploy(attack, user="root"):
    """Run attack.yml at -vvv with ``attack`` as the one container; return (rc, output, control value)."""
    control = "hc-control-%s" % uuid.uuid4().hex[:12]
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "-vvv",
            os.path.join(SCENARIO_DIR, "attack.yml"), "-e", json.dumps({"hc_attack": attack, "hc_control": control,
                                                                       "hc_attack_user": user})]
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=600, check=False)
    return proc.returncode, proc.stdout, control


def unit_files(host):
    return host.run("sha256sum %s/* 2>/dev/null | sort" % " ".join(UNIT_DIRS)).stdout


def journal_export(host):
    """Every persistent journal file of the host, exported field by field (decompressed), as text.

    The export holds binary fields: it travels gzipped and base64-encoded, and is searched here, so that no
    canary is ever on a command line of the host (which would put it into the journal).
    """
    host.run("journalctl --sync")
    encoded = host.run("find /var/log/journal -name '*.journal*' -exec journalctl --file {} -o export \\; "
                       "2>/dev/null | gzip | base64 -w0").stdout
    return gzip.decompress(base64.b64decode(encoded)).decode("utf-8", "replace")


def refused(host, attack, field, user="root"):
    before = unit_files(host)
    rc, output, control = deploy(attack, user)
    assert rc != 0, output[-3000:]
    assert field in output, output[-3000:]
    assert unit_files(host) == before
    return output, control


def start_unit_by_hand(host, name, text):
    """The control: install a unit as the old renderer wrote it, and start it."""
    host.run("cat > /etc/containers/systemd/%s.container <<'UNIT'\n%sUNIT" % (name, text))
    host.run("systemctl daemon-reload")
    return host.run("systemctl start %s.service" % name)


def remove_unit_by_hand(host, name):
    host.run("systemctl stop %s.service; rm -f /etc/containers/systemd/%s.container; systemctl daemon-reload; "
             "systemctl reset-failed %s.service" % (name, name, name))


def test_a_line_break_in_restart_cannot_run_a_root_command(host):
    host.run("rm -f /root/hc-pwned-role /root/hc-pwned-control")
    refused(host, {"name": "attack", "image": IMAGE, "restart": "always\nExecStartPre=/bin/touch /root/hc-pwned-role"},
            "restart")
    assert not host.file("/root/hc-pwned-role").exists
    # Control: the unit the renderer wrote before the fix runs the injected command as root.
    try:
        start_unit_by_hand(host, "hc-control-restart", "[Container]\nImage=%s\nExec=sleep 300\n[Service]\n"
                           "Restart=always\nExecStartPre=/bin/touch /root/hc-pwned-control\n" % IMAGE)
        assert host.file("/root/hc-pwned-control").exists
    finally:
        remove_unit_by_hand(host, "hc-control-restart")
        host.run("rm -f /root/hc-pwned-control")


def test_a_line_break_in_wanted_by_cannot_add_a_service_section(host):
    refused(host, {"name": "attack", "image": IMAGE,
                   "wanted_by": "multi-user.target\n[Service]\nExecStartPre=/bin/touch /root/hc-pwned-install"},
            "wanted_by: control character")
    assert not host.file("/root/hc-pwned-install").exists


def test_a_specifier_cannot_mount_the_podman_socket(host):
    host.run("systemctl start podman.socket")
    refused(host, {"name": "attack", "image": IMAGE, "command": ["sleep", "300"],
                   "volumes": [{"source": "%t/podman/podman.sock", "target": "/engine.sock", "selinux": "none"}]},
            "volumes[0].source: is neither an absolute host path nor a volume name")
    # Control: written unescaped, systemd expands %t to /run and the container holds root's engine socket.
    try:
        assert start_unit_by_hand(host, "hc-control-socket", "[Container]\nImage=%s\nExec=sleep 300\n"
                                  "Volume=%%t/podman/podman.sock:/engine.sock\n" % IMAGE).rc == 0
        assert host.run("podman exec systemd-hc-control-socket test -S /engine.sock").rc == 0
    finally:
        remove_unit_by_hand(host, "hc-control-socket")


@pytest.mark.parametrize("link_target, field", [
    ("/", "/ exposes a socket or container storage"),
    ("/var/lib/containers", "/var/lib/containers exposes a socket or container storage"),
    ("/etc", "/etc is not below /srv"),
])
def test_a_symlinked_volume_source_is_judged_where_it_leads(host, link_target, field):
    link = "/srv/hc-link-%s" % link_target.strip("/").replace("/", "-")
    host.run("mkdir -p /srv && ln -sfn %s %s" % (link_target, link))
    try:
        refused(host, {"name": "attack", "image": IMAGE, "command": ["sleep", "300"],
                       "volumes": [{"source": link, "target": "/host", "options": ["ro"], "selinux": "none"}]},
                "volumes[0].source: %s" % field)
        # Control: podman follows the link; the container reads what lies behind it.
        probe = {"/": "/host/etc/hostname", "/etc": "/host/hostname"}.get(link_target, "/host/storage")
        result = host.run("podman run --rm --network none -v %s:/host:ro %s ls -d %s" % (link, IMAGE, probe))
        assert result.rc == 0, result.stderr
    finally:
        host.run("rm -f %s" % link)


def test_the_rootless_user_cannot_link_its_unit_directory_to_roots(host):
    """The rootless user controls its home, not an inventory value: ~/.config/containers/systemd made a link to
    /etc/containers/systemd would have root write a unit there that the user edits and root's Quadlet runs."""
    real = UNIT_DIRS[1]
    assert host.run("mv %s %s.hc-real && runuser -u podsec -- ln -s /etc/containers/systemd %s"
                    % (real, real, real)).rc == 0
    try:
        # (ansible-core 2.19's --tree output, which testinfra reads, carries no "failed" key: the message tells.)
        refusal = host.ansible("podsec.hardening.quadlet_container", "name=hc-linkattack image=%s rootless_user=podsec"
                               % IMAGE, check=False)
        assert "%s is a symbolic link to /etc/containers/systemd" % real in refusal.get("msg", ""), refusal
        assert "changed" in refusal and not refusal["changed"]
        assert not host.file("/etc/containers/systemd/hc-linkattack.container").exists
        # Control: a write by root through the user's link lands in root's unit directory (what the module did).
        assert host.run("touch %s/hc-linkcontrol.container" % real).rc == 0
        assert host.file("/etc/containers/systemd/hc-linkcontrol.container").exists
    finally:
        host.run("rm -f /etc/containers/systemd/hc-linkcontrol.container /etc/containers/systemd/hc-linkattack.container;"
                 " rm %s && mv %s.hc-real %s" % (real, real, real))
    assert host.file(real).is_directory and not host.file(real).is_symlink


def test_canaries_in_refused_inputs_reach_neither_the_output_nor_the_journal(host):
    typo_canary = "hc-canary-typo-%s" % uuid.uuid4().hex[:12]
    env_canary = "ghp_%s" % uuid.uuid4().hex
    typo_output, typo_control = refused(host, {"name": "attack", "image": IMAGE,
                                               "secrets": [{"name": "db", "valeu": typo_canary}]},
                                        "secrets[0]: unknown key 'valeu'")
    env_output, env_control = refused(host, {"name": "attack", "image": IMAGE,
                                             "environment": {"NEUTRAL": env_canary}},
                                      "environment.NEUTRAL: looks like a secret")
    journal = journal_export(host)
    for output, control in ((typo_output, typo_control), (env_output, env_control)):
        assert control in output  # the output search finds a planted value
        assert control in journal  # the journal search finds a planted value
    for canary in (typo_canary, env_canary):
        assert canary not in typo_output and canary not in env_output
        assert canary not in journal
