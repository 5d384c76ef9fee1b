"""Shared helpers for the secrets scenario: this run's values, ansible-playbook runs, the test bed CLI."""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
SCENARIO = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
PROJECT = os.path.abspath(os.path.join(SCENARIO, "..", ".."))
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HOST = "secrets-h1"
TESTBED = os.path.join(PROJECT, "tests", "testbed", "testbed.py")
ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook") or os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SECRETS_DIR = "/run/podsec-secrets"
ROOTLESS_DIR = "/run/podsec-secrets-podsec"
# Ansible output written by this scenario: molecule's runs (ANSIBLE_LOG_PATH in molecule.yml) and the
# -vvv runs of verify (their whole stdout/stderr).
ANSIBLE_LOG = os.path.join(EPHEMERAL, "ansible-output.log")


def read_ephemeral(name):
    with open(os.path.join(EPHEMERAL, name)) as handle:
        return handle.read().strip()


class SecretValues(dict):
    """name -> value; its repr hides the values so a failing test never prints them."""

    def __repr__(self):
        return "<secret values of %s>" % ", ".join(sorted(self))


@pytest.fixture(scope="session")
def values():
    found = SecretValues(db_password=read_ephemeral("secret_db_password"),
                         api_token=read_ephemeral("secret_api_token"),
                         rootless_token=read_ephemeral("secret_rootless_token"))
    for value in found.values():
        if len(value) < 56:
            raise AssertionError("the scenario's values must be long and random")
    return found


def assert_absent(value, text, where):
    """Fail without showing the value (plain raise: no assertion rewriting of the operands)."""
    if value in text:
        raise AssertionError("a secret value was found in " + where)


@pytest.fixture(scope="session")
def log_canary():
    return read_ephemeral("log_canary")


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def run_playbook(playbook, *extra, output_name=None):
    """Run a playbook of this scenario with molecule's inventory and configuration; keep its output."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", INVENTORY, os.path.join(SCENARIO, playbook)] + list(extra),
                          capture_output=True, text=True, env=env, timeout=900)
    if output_name:
        with open(os.path.join(EPHEMERAL, output_name), "w") as handle:
            handle.write(proc.stdout + proc.stderr)
    return proc


def recap(output, host=HOST):
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)
    match = re.search(r"^%s\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)" % re.escape(host),
                      output, re.M)
    assert match, output[-3000:]
    return {"ok": int(match.group(1)), "changed": int(match.group(2)), "unreachable": int(match.group(3)),
            "failed": int(match.group(4))}


def bed_cli(*args):
    return subprocess.run([sys.executable, TESTBED] + list(args), capture_output=True, text=True, check=True,
                          timeout=600).stdout


def reader_digest(host):
    result = host.run("podman exec secrets-reader sha256sum /run/secrets/db_password")
    assert result.rc == 0, result.stderr
    return result.stdout.split()[0]
