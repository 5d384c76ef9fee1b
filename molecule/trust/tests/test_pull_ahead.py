"""What a user of hardened_container checks under the trust role's policy: a refused image fails the task
with podman's policy error, naming the image, before any unit file changes; a permitted one is installed."""

import json
import os
import shlex
import subprocess
import sys

import pytest

testinfra_hosts = ["ansible://trust_hosts"]

SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGNED = "localhost:5000/trusted/sigstore:latest"
UNSIGNED = "localhost:5000/trusted/sigstore:unsigned"
POLICY_ERROR = "Source image rejected: A signature was required, but no signature exists"
UNIT_DIRS = {"root": "/etc/containers/systemd", "podsec": "/home/podsec/.config/containers/systemd"}


def run_playbook(name, extra):
    """ansible-playbook on a playbook of the scenario; (rc, output) whatever the outcome."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
            os.path.join(SCENARIO_DIR, name), "-e", json.dumps(extra)]
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=900, check=False)
    return proc.returncode, proc.stdout


def as_owner(owner, command):
    if owner == "root":
        return command
    return "su - %s -c %s" % (owner, shlex.quote("XDG_RUNTIME_DIR=/run/user/$(id -u) " + command))


def unit_files(host, owner):
    """Every file of the owner's unit directory with its mode, owner and checksum (empty when there is none)."""
    directory = UNIT_DIRS[owner]
    return host.run("find %s -type f -printf '%%m %%u %%p\\n' 2>/dev/null | sort; "
                    "find %s -type f -print0 2>/dev/null | sort -z | xargs -0r sha256sum" % (directory, directory)).stdout


def deploy(owner, image, state="present"):
    return run_playbook("pull_ahead.yml", {"pa_owner": owner, "pa_image": image, "pa_state": state})


@pytest.mark.parametrize("owner", ["root", "podsec"])
def test_a_refused_image_fails_the_task_with_podmans_policy_error_and_changes_no_unit(host, owner):
    scope = "system" if owner == "root" else "user podsec"
    systemctl = "systemctl %s" % ("" if owner == "root" else "--user ")
    host.run(as_owner(owner, "podman rmi -i %s %s" % (SIGNED, UNSIGNED)))
    try:
        # 1. No unit yet: the refused image fails the task naming the image, the scope and podman's error.
        before = unit_files(host, owner)
        rc, output = deploy(owner, UNSIGNED)
        assert rc != 0, output[-3000:]
        assert "podman could not pull %s for pulled (%s scope" % (UNSIGNED, scope) in output, output[-3000:]
        assert POLICY_ERROR in output, output[-3000:]
        assert unit_files(host, owner) == before
        assert host.run(as_owner(owner, "podman image exists %s" % UNSIGNED)).rc != 0
        assert "pulled.container" not in before
        # 2. Control: the same container with the signed image of the same scope is installed and runs.
        rc, output = deploy(owner, SIGNED)
        assert rc == 0, output[-3000:]
        installed = unit_files(host, owner)
        assert "pulled.container" in installed
        assert host.run(as_owner(owner, "podman image exists %s" % SIGNED)).rc == 0
        assert host.run(as_owner(owner, systemctl + "is-active pulled.service")).stdout.strip() == "active"
        started = host.run(as_owner(owner, "podman inspect --format '{{.State.StartedAt}}' pulled")).stdout
        # 3. Switching the running container to the refused image fails the same way; its unit file, the
        #    running container and its start time stay as they were.
        rc, output = deploy(owner, UNSIGNED)
        assert rc != 0 and POLICY_ERROR in output, output[-3000:]
        assert "podman could not pull %s for pulled (%s scope" % (UNSIGNED, scope) in output, output[-3000:]
        assert unit_files(host, owner) == installed
        assert host.run(as_owner(owner, "podman inspect --format '{{.State.StartedAt}}' pulled")).stdout == started
        assert host.run(as_owner(owner, systemctl + "is-active pulled.service")).stdout.strip() == "active"
    finally:
        rc, output = deploy(owner, SIGNED, "absent")
        assert rc == 0, output[-3000:]
