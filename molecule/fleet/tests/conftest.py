"""Run the fleet playbooks through ansible-runner (the engine AWX uses) against the scenario's hosts.

Each run gets a fresh private data dir, project dir playbooks/ and molecule's inventory, and the
environment an AWX job has: none of molecule's settings (no ANSIBLE_CONFIG, no ansible.cfg of the project),
only the configuration the execution environment ships (ee/ansible.cfg, which the EE installs as
/etc/ansible/ansible.cfg, taken from the ansible-builder context) unless a test asks for none at all.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(SCENARIO_DIR))
PLAYBOOKS = os.path.join(REPO, "playbooks")
sys.path.insert(0, os.path.join(REPO, "tests"))

from report_dom import render  # noqa: E402  pylint: disable=wrong-import-position


def collection_root():
    """A directory whose ansible_collections/podsec/hardening is this checkout (as tests/unit/conftest.py does)."""
    root = os.path.join(REPO, "tests", "output", "import-root")
    link = os.path.join(root, "ansible_collections", "podsec", "hardening")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    return root


def planted_vars():
    with open(os.path.join(SCENARIO_DIR, "prepare.yml")) as handle:
        plays = yaml.safe_load(handle)
    return [play for play in plays if "vars" in play][0]["vars"]


def planted_secret():
    return planted_vars()["fleet_planted_secret"]


def planted_values():
    """Every credential prepare.yml put into a container's environment (by name or by value only)."""
    return [planted_vars()[name] for name in ("fleet_planted_secret", "fleet_planted_token")]


class RunnerResult(object):
    def __init__(self, data_dir, ident):
        self.data_dir = data_dir
        self.artifacts = os.path.join(data_dir, "artifacts", ident)
        with open(os.path.join(self.artifacts, "status")) as handle:
            self.status = handle.read().strip()
        with open(os.path.join(self.artifacts, "rc")) as handle:
            self.rc = int(handle.read().strip())
        with open(os.path.join(self.artifacts, "stdout")) as handle:
            self.stdout = handle.read()
        self.events = []
        events_dir = os.path.join(self.artifacts, "job_events")
        for name in sorted(os.listdir(events_dir)):
            with open(os.path.join(events_dir, name)) as handle:
                self.events.append(json.load(handle))

    def task_results(self, task):
        return [e["event_data"] for e in self.events
                if e.get("event", "").startswith("runner_on_") and e["event_data"].get("task") == task]

    def all_text(self):
        """Everything ansible-runner recorded (stdout, events, facts caches): what AWX would store."""
        chunks = []
        for root, _dirs, files in os.walk(self.artifacts):
            for name in files:
                with open(os.path.join(root, name), "rb") as handle:
                    chunks.append(handle.read().decode("utf-8", "replace"))
        return "\n".join(chunks)


def ee_context():
    """``ansible-builder create`` of execution-environment.yml into a fresh directory; returns its context/."""
    context = os.path.join(tempfile.mkdtemp(prefix="podsec-ee-"), "context")
    create = subprocess.run([sys.executable, "-m", "ansible_builder", "create", "-f",
                             os.path.join(REPO, "execution-environment.yml"), "-c", context],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            check=False)
    assert create.returncode == 0, create.stdout
    return context


@pytest.fixture(scope="session")
def ee_build_context():
    context = ee_context()
    yield context
    shutil.rmtree(os.path.dirname(context), ignore_errors=True)


def awx_environment(ansible_cfg):
    """The process environment of an AWX job: this machine's basics, none of molecule's or the checkout's
    Ansible settings. ``ansible_cfg`` stands for the EE's /etc/ansible/ansible.cfg (None: no config file)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "MOLECULE_", "PODSEC_", "PYTEST_"))}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    # This checkout as podsec.hardening (what the EE installs into /usr/share/ansible/collections); it has
    # no runtime dependency outside ansible-core.
    env["ANSIBLE_COLLECTIONS_PATH"] = collection_root()
    # The test hosts get new host keys at every boot (an AWX job trusts the keys its EE or credential knows).
    env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
    if ansible_cfg:
        env["ANSIBLE_CONFIG"] = ansible_cfg
    return env


def run_playbook(playbook, extravars, cmdline="", ansible_cfg=None, ident="fleet"):
    """``ansible-runner run`` with a fresh private data dir, project dir playbooks/, molecule's inventory."""
    for directory in (PLAYBOOKS, REPO):
        assert not os.path.exists(os.path.join(directory, "ansible.cfg")), "the project must have no ansible.cfg"
    data_dir = tempfile.mkdtemp(prefix="podsec-runner-")
    os.makedirs(os.path.join(data_dir, "env"))
    with open(os.path.join(data_dir, "env", "extravars"), "w") as handle:
        json.dump(extravars, handle)
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    argv = [sys.executable, "-m", "ansible_runner", "run", data_dir, "--ident", ident,
            "--project-dir", PLAYBOOKS, "-p", playbook, "--inventory", inventory]
    if cmdline:
        argv.append("--cmdline=" + cmdline)
    proc = subprocess.run(argv, env=awx_environment(ansible_cfg), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False, universal_newlines=True, timeout=900)
    assert os.path.exists(os.path.join(data_dir, "artifacts", ident, "status")), proc.stdout[-3000:]
    result = RunnerResult(data_dir, ident)
    result.process_output = proc.stdout
    return result


def ee_ansible_cfg(context):
    return os.path.join(context, "_build", "configs", "ansible.cfg")


@pytest.fixture(scope="session")
def report_dir():
    path = tempfile.mkdtemp(prefix="podsec-report-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def audit_run(report_dir, ee_build_context):
    """playbooks/audit.yml in check mode at -vvv through ansible-runner."""
    result = run_playbook("audit.yml", {"podsec_report_dir": report_dir, "podsec_inspect_images": True},
                          cmdline="--check -vvv",
                          ansible_cfg=ee_ansible_cfg(ee_build_context))
    yield result
    shutil.rmtree(result.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def site_run(ee_build_context):
    """playbooks/site.yml a third time (after converge and idempotence) through ansible-runner, with the
    execution environment's ansible.cfg and nothing else."""
    result = run_playbook("site.yml", {}, cmdline="-v", ansible_cfg=ee_ansible_cfg(ee_build_context))
    yield result
    shutil.rmtree(result.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def site_run_without_config():
    """The same run as a job template of a project without ansible.cfg, in an EE without ours."""
    result = run_playbook("site.yml", {}, cmdline="-v")
    yield result
    shutil.rmtree(result.data_dir, ignore_errors=True)


def host_var(host, name):
    with open(os.path.join(SCENARIO_DIR, "molecule.yml")) as handle:
        return yaml.safe_load(handle)["provisioner"]["inventory"]["host_vars"][host][name]


def changed_tasks(result):
    return sorted({(e["event_data"]["host"], e["event_data"]["task"]) for e in result.events
                   if e.get("event") == "runner_on_ok" and e["event_data"].get("res", {}).get("changed")})


def summary_lines(result, host):
    for event in result.task_results("Summarise what was hardened"):
        if event.get("host") == host and "res" in event:
            return event["res"]["msg"]
    raise AssertionError("no summary for %s in %s" % (host, result.process_output[-3000:]))


@pytest.fixture(scope="session")
def host_results(audit_run, report_dir):
    results = {}
    for name in ("fleet-h1", "fleet-h2"):
        with open(os.path.join(report_dir, "hosts", name + ".json")) as handle:
            results[name] = json.load(handle)
    return results


@pytest.fixture(scope="session")
def rendered_report(audit_run, report_dir):
    """The report as Chromium parsed it (--dump-dom), plus a screenshot path."""
    return render(report_dir)
