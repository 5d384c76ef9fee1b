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


def started_at(host, name):
    return host.run("podman inspect --format '{{.State.StartedAt}}' %s" % name).stdout.strip()


def push(host, tag, label, signed):
    """Build a variant of the test image (its own digest) and push it to the lab registry under ``tag``."""
    lab = "/root/trust-lab"
    build = host.run("printf 'FROM localhost/podsec/busybox:latest\\nLABEL podsec.moving=%s\\n' > %s/Containerfile.moving"
                     " && podman build -q --pull=never --tag localhost/podsec/busybox:%s --file %s/Containerfile.moving %s"
                     % (label, lab, label, lab, lab))
    assert build.rc == 0, build.stderr
    sign = ("--sign-by-sigstore-private-key %s/sigstore.private --sign-passphrase-file %s/sigstore.pass " % (lab, lab)
            if signed else "")
    result = host.run("podman push -q %slocalhost/podsec/busybox:%s %s" % (sign, label, tag))
    assert result.rc == 0, result.stderr
    return host.run("podman image inspect --format '{{.Id}}' localhost/podsec/busybox:%s" % label).stdout.strip()


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


MOVING = "localhost:5000/trusted/sigstore:moving"
STEADY = "localhost:5000/trusted/gpg:latest"


def test_a_signed_new_digest_behind_the_tag_restarts_exactly_its_container_and_an_unsigned_one_is_refused(host):
    containers = [{"name": "moving", "image": MOVING}, {"name": "steady", "image": STEADY}]
    extra = {"pa_owner": "root", "pa_containers": containers, "pa_pull": "newer", "pa_image": MOVING}
    first = push(host, MOVING, "moving-1", signed=True)
    try:
        rc, output = run_playbook("pull_ahead.yml", extra)
        assert rc == 0, output[-3000:]
        before = {name: started_at(host, name) for name in ("moving", "steady")}
        assert host.run("podman inspect --format '{{.Image}}' moving").stdout.strip() == first
        # Control: the registry has nothing new; asking it again restarts nothing.
        rc, output = run_playbook("pull_ahead.yml", extra)
        assert rc == 0, output[-3000:]
        assert {name: started_at(host, name) for name in ("moving", "steady")} == before
        # A signed image with a new digest under the same tag: exactly "moving" restarts, on the new image.
        second = push(host, MOVING, "moving-2", signed=True)
        assert second != first
        rc, output = run_playbook("pull_ahead.yml", extra)
        assert rc == 0, output[-3000:]
        assert started_at(host, "moving") != before["moving"]
        assert started_at(host, "steady") == before["steady"]
        assert host.run("podman inspect --format '{{.Image}}' moving").stdout.strip() == second
        after = {name: started_at(host, name) for name in ("moving", "steady")}
        units = unit_files(host, "root")
        # An unsigned new digest under the same tag: the task fails with the policy error, nothing restarts.
        push(host, MOVING, "moving-3", signed=False)
        rc, output = run_playbook("pull_ahead.yml", extra)
        assert rc != 0 and POLICY_ERROR in output, output[-3000:]
        assert "podman could not pull %s for moving (system scope" % MOVING in output, output[-3000:]
        assert {name: started_at(host, name) for name in ("moving", "steady")} == after
        assert host.run("podman inspect --format '{{.Image}}' moving").stdout.strip() == second
        assert unit_files(host, "root") == units
    finally:
        rc, output = run_playbook("pull_ahead.yml", dict(extra, pa_state="absent"))
        assert rc == 0, output[-3000:]


AUTO = "localhost:5000/trusted/sigstore:auto"


def image_of(host, name):
    return host.run("podman inspect --format '{{.Image}}' %s" % name).stdout.strip()


def test_auto_update_picks_up_a_signed_new_digest_and_refuses_an_unsigned_one(host):
    extra = {"pa_owner": "root", "pa_image": AUTO, "pa_containers": [{"name": "auto", "image": AUTO,
                                                                      "auto_update": True}]}
    first = push(host, AUTO, "auto-1", signed=True)
    try:
        rc, output = run_playbook("pull_ahead.yml", extra)
        assert rc == 0, output[-3000:]
        assert "AutoUpdate=registry" in host.file("/etc/containers/systemd/auto.container").content_string
        assert host.run("systemctl is-enabled podman-auto-update.timer").stdout.strip() == "enabled"
        assert host.run("systemctl is-active podman-auto-update.timer").stdout.strip() == "active"
        assert image_of(host, "auto") == first
        # Control: nothing new in the registry, nothing to update.
        result = host.run("podman auto-update --format '{{.Unit}} {{.Updated}}'")
        assert result.rc == 0 and "auto.service false" in result.stdout, result.stdout + result.stderr
        # A signed new digest behind the tag: podman auto-update deploys it.
        second = push(host, AUTO, "auto-2", signed=True)
        result = host.run("podman auto-update --format '{{.Unit}} {{.Updated}}'")
        assert result.rc == 0 and "auto.service true" in result.stdout, result.stdout + result.stderr
        assert image_of(host, "auto") == second
        assert host.run("systemctl is-active auto.service").stdout.strip() == "active"
        # An unsigned new digest: the same trust policy refuses it and the container keeps its image.
        push(host, AUTO, "auto-3", signed=False)
        result = host.run("podman auto-update --format '{{.Unit}} {{.Updated}}'")
        assert POLICY_ERROR in result.stdout + result.stderr, result.stdout + result.stderr
        assert "auto.service true" not in result.stdout
        assert image_of(host, "auto") == second
        assert host.run("systemctl is-active auto.service").stdout.strip() == "active"
    finally:
        rc, output = run_playbook("pull_ahead.yml", dict(extra, pa_state="absent"))
        assert rc == 0, output[-3000:]
