"""Run the fleet playbooks through ansible-runner (the engine AWX uses) against the scenario's hosts.

The verifier's environment carries molecule's inventory, ansible.cfg and collection path; ansible-runner
inherits it, so the playbooks run exactly as an AWX job would run them from the project directory.
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


def run_playbook(playbook, extravars, cmdline=""):
    """``ansible-runner run`` with a fresh private data dir, project dir playbooks/, molecule's inventory."""
    data_dir = tempfile.mkdtemp(prefix="podsec-runner-")
    os.makedirs(os.path.join(data_dir, "env"))
    with open(os.path.join(data_dir, "env", "extravars"), "w") as handle:
        json.dump(extravars, handle)
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    ident = "fleet"
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    # This checkout as podsec.hardening (not a copy another run installed somewhere); the dependencies
    # (containers.podman, ansible.posix, community.general) come with the ansible package.
    env["ANSIBLE_COLLECTIONS_PATH"] = collection_root()
    argv = [sys.executable, "-m", "ansible_runner", "run", data_dir, "--ident", ident,
            "--project-dir", PLAYBOOKS, "-p", playbook, "--inventory", inventory]
    if cmdline:
        argv += ["--cmdline", cmdline]
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          universal_newlines=True, timeout=900)
    result = RunnerResult(data_dir, ident)
    result.process_output = proc.stdout
    return result


@pytest.fixture(scope="session")
def report_dir():
    path = tempfile.mkdtemp(prefix="podsec-report-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def audit_run(report_dir):
    """playbooks/audit.yml in check mode at -vvv through ansible-runner."""
    result = run_playbook("audit.yml", {"podsec_report_dir": report_dir}, cmdline="--check -vvv")
    yield result
    shutil.rmtree(result.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def site_run():
    """playbooks/site.yml a third time (after converge and idempotence) through ansible-runner."""
    result = run_playbook("site.yml", {})
    yield result
    shutil.rmtree(result.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def host_results(audit_run, report_dir):
    results = {}
    for name in ("fleet-h1", "fleet-h2"):
        with open(os.path.join(report_dir, "hosts", name + ".json")) as handle:
            results[name] = json.load(handle)
    return results


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("headless Chromium is needed to render the fleet report: apt-get install chromium")


def chromium_argv(profile, *args):
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            "--user-data-dir=" + profile] + list(args)


@pytest.fixture(scope="session")
def rendered_report(audit_run, report_dir):
    """The report as Chromium parsed it (--dump-dom), plus a screenshot path."""
    index = os.path.join(report_dir, "index.html")
    profile = tempfile.mkdtemp(prefix="podsec-chromium-")
    try:
        dom = subprocess.run(chromium_argv(profile, "--dump-dom", "file://" + index), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True, universal_newlines=True, timeout=120).stdout
        shot = os.path.join(report_dir, "report.png")
        subprocess.run(chromium_argv(profile, "--window-size=1280,2400", "--screenshot=" + shot, "file://" + index),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return {"dom": dom, "screenshot": shot}
