"""Leak search: no secret value on the host's persistent disk (searched from outside) or in any Ansible output.

Each search first finds a planted value, so it cannot pass vacuously. Runs last (after the reboot and
the -vvv runs of test_3). Results are keyed by label, never by value, so a failure never prints a value.
"""

import os
import secrets
import subprocess

import pytest

from conftest import ANSIBLE_LOG, EPHEMERAL, HOST, bed_cli

testinfra_hosts = ["ansible://secrets_hosts"]

OUTPUT_FILES = ["ansible-output.log", "vvv-after-reboot.log", "vvv-rerun.log", "refusals.log", "check-after-reboot.log"]


def search(paths, needles):
    """Byte search (grep -F, binary files as text, no symlink following): {label: [files containing it]}."""
    found = {}
    for label, needle in needles.items():
        proc = subprocess.run(["grep", "-r", "-a", "-l", "-F", "--devices=skip", "-e", needle, "--"] + list(paths),
                              capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            raise AssertionError("grep failed for %s: %s" % (label, proc.stderr))
        found[label] = proc.stdout.split()
    return found


@pytest.fixture(scope="module")
def planted(host):
    """Plant canaries where a leak would land: container storage, ~/.ansible, the journal."""
    canaries = {"disk": "PSP-disk-" + secrets.token_hex(24), "journal": "PSP-journal-" + secrets.token_hex(24)}
    host.check_output("mkdir -p /root/.ansible/tmp")
    host.check_output("printf %%s %s > /var/lib/containers/podsec-planted-canary", canaries["disk"])
    host.check_output("printf %%s %s > /root/.ansible/tmp/podsec-planted-canary", canaries["disk"])
    host.check_output("logger -t podsec-planted %s", canaries["journal"])
    host.check_output("journalctl --flush && journalctl --sync && sync")
    yield canaries
    host.run("rm -f /var/lib/containers/podsec-planted-canary /root/.ansible/tmp/podsec-planted-canary")


def test_host_disk_holds_no_value(host, planted, values):
    root = bed_cli("rootdir", HOST).strip()
    assert os.path.isdir(os.path.join(root, "var/lib/containers/storage"))
    assert os.path.isdir(os.path.join(root, "var/log/journal"))
    canaries = search([root], planted)
    # the search finds what was planted, in each kind of place...
    assert os.path.join(root, "var/lib/containers/podsec-planted-canary") in canaries["disk"]
    assert os.path.join(root, "root/.ansible/tmp/podsec-planted-canary") in canaries["disk"]
    assert [f for f in canaries["journal"] if "/var/log/journal/" in f], "journal canary not found on disk"
    # ...and no secret value anywhere (graph root, journal, ~/.ansible, /etc, ...)
    leaks = {name: files for name, files in search([root], values).items() if files}
    assert leaks == {}, "secret values found on the persistent disk"


def test_ansible_output_holds_no_value(log_canary, values):
    paths = [os.path.join(EPHEMERAL, name) for name in OUTPUT_FILES]
    for path in paths:
        assert os.path.getsize(path) > 0, path
    with open(os.path.join(EPHEMERAL, "vvv-rerun.log")) as handle:
        vvv = handle.read()
    assert "SSH: EXEC" in vvv and "plugins/modules/tmpfs_secret.py" in vvv, "not a -vvv run of the module"
    with open(ANSIBLE_LOG) as handle:
        # molecule's converge and idempotence plus the two runs of test_3 all log the delivery task
        assert handle.read().count("TASK [Deliver the secrets into an unswappable tmpfs") >= 4
    canary = search(paths, {"log": log_canary})["log"]
    # the planted log canary is printed by every converge: found in molecule's log and both -vvv runs
    for name in ("ansible-output.log", "vvv-after-reboot.log", "vvv-rerun.log"):
        assert os.path.join(EPHEMERAL, name) in canary
    leaks = {name: files for name, files in search(paths, values).items() if files}
    assert leaks == {}, "secret values found in Ansible output"
