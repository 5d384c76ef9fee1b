"""Helpers: podman as root or as the rootless user, and further converges driven from the verifier.

The verifier's environment carries molecule's inventory, ansible.cfg and collection path, so
``converge()`` runs the scenario's converge.yml exactly as molecule does, with another hc_phase.
"""

import json
import os
import re
import shlex
import subprocess
import sys

import yaml

SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(SCENARIO_DIR))
HOST_NAME = "hardened-container-h1"
ROOTLESS_USER = "podsec"
ROOTLESS_UID = 1001

with open(os.path.join(SCENARIO_DIR, "vars", "main.yml")) as _handle:
    SCENARIO_VARS = yaml.safe_load(_handle)

# The shipped testinfra checks, imported the way docs/reuse.md tells consumers to: from the collection that
# molecule's ANSIBLE_COLLECTIONS_PATH holds (tests/collection_env.sh makes that this checkout).
sys.path[:0] = os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)
from ansible_collections.podsec.hardening.tests.verify import podsec_checks  # noqa: E402  pylint: disable=wrong-import-position


class Podman(object):
    """Runs commands as root or as the rootless user (own login environment, own runtime dir)."""

    def __init__(self, host, rootless):
        self.host = host
        self.rootless = rootless

    def wrap(self, command):
        if not self.rootless:
            return command
        return "su - %s -c %s" % (ROOTLESS_USER, shlex.quote("XDG_RUNTIME_DIR=/run/user/%d %s" % (ROOTLESS_UID, command)))

    def run(self, command):
        return self.host.run(self.wrap(command))

    def check(self, command):
        result = self.run(command)
        assert result.rc == 0, "%s: rc=%d %s" % (command, result.rc, result.stderr)
        return result.stdout

    def exec(self, container, command, user=None):
        """A shell command inside a running container (as its configured user unless told)."""
        as_user = "--user %s " % user if user else ""
        return self.run("podman exec %s%s sh -c %s" % (as_user, container, shlex.quote(command)))

    def inspect(self, container):
        return json.loads(self.check("podman inspect %s" % container))[0]

    def started_at(self, container):
        return self.check("podman inspect --format '{{.State.StartedAt}}' %s" % container).strip()

    def systemctl(self, args):
        return self.run("systemctl %s%s" % ("--user " if self.rootless else "", args))


def converge(phase, *extra):
    """Run converge.yml again with hc_phase=phase; return (rc, output, changed count of the host)."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    argv = [playbook, "-i", inventory, os.path.join(SCENARIO_DIR, "converge.yml"), "-e", "hc_phase=%s" % phase]
    proc = subprocess.run(argv + list(extra), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=900, check=False)
    recap = re.search(r"^%s\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)" % re.escape(HOST_NAME),
                      proc.stdout, re.M)
    assert proc.returncode == 0 and recap and recap.group(2) == "0", proc.stdout[-6000:]
    return proc.stdout, int(recap.group(1))


def adhoc(module, args, *extra):
    """Run one module on the test host with the ansible CLI (extra: CLI flags); return (rc, output)."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible"), HOST_NAME, "-i", inventory,
            "-m", module, "-a", json.dumps(args)] + list(extra)
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    return proc.returncode, proc.stdout


def host_rootdir():
    """The test host's root directory on this machine: its persistent disk."""
    out = subprocess.run(["python3", os.path.join(REPO, "tests", "testbed", "testbed.py"),
                          "rootdir", HOST_NAME], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return out.stdout.strip()
