"""The main job, run as a user runs it: `bash demo/run.sh` on real test hosts. Checks what it prints per
host, the fleet reports it writes before and after hardening (as JSON and as headless Chromium renders the
HTML), that the legacy container's password reaches no output, and that it cleans up after itself."""

import glob
import json
import os
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests"))

from report_dom import finding_rows, parsed, render  # noqa: E402  pylint: disable=wrong-import-position

OUT = os.path.join(REPO, "tests", "output", "demo")
# As the demo's inventory names them; the test bed's machines carry PODSEC_TESTBED_PREFIX in front.
HOSTS = ["demo-h1", "demo-h2"]
MACHINES = [os.environ.get("PODSEC_TESTBED_PREFIX", "") + name for name in HOSTS]
# What demo/run.sh starts by hand: root, a password in its environment, a port on all addresses.
LEGACY_FINDINGS = {"container_root_user", "container_secret_env", "container_public_port",
                   "container_writable_rootfs", "container_no_new_privileges"}
LEGACY_PASSWORD = "legacy-Pa55w0rd"
REFUSAL = "Error: Source image rejected: A signature was required, but no signature exists"


@pytest.fixture(scope="module")
def demo():
    started = time.time()
    result = subprocess.run(["bash", os.path.join(REPO, "demo", "run.sh")], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=1200, check=False)
    return {"rc": result.returncode, "output": result.stdout, "seconds": time.time() - started}


def host_block(output, host):
    """The summary lines of one host: from its name to the next host's or the reports' line."""
    lines = output.splitlines()
    start = lines.index(host)
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return "\n".join(lines[start:end])


def posture(which, host):
    with open(os.path.join(OUT, "report-" + which, "hosts", host + ".json")) as handle:
        return json.load(handle)["posture"]


def test_demo_succeeds_quietly_and_in_time(demo):
    assert demo["rc"] == 0, demo["output"][-4000:]
    assert "demo finished in" in demo["output"]
    # Quiet: progress lines and the summary, not Ansible's or apt's output (that is in the log files).
    assert "TASK [" not in demo["output"] and "PLAY RECAP" not in demo["output"]
    assert len(demo["output"].splitlines()) < 80, demo["output"]
    assert demo["seconds"] < 360, demo["seconds"]


@pytest.mark.parametrize("host", HOSTS)
def test_per_host_summary_tells_the_story(demo, host):
    block = host_block(demo["output"], host)
    assert "trust policy: changed" in block
    assert "hardened containers: demo-web, demo-worker; changed: demo-web, demo-worker" in block
    assert "second run: changed=0" in block
    # The control: before the trust policy, the same unsigned pull is accepted.
    assert "before hardening, unsigned pull of localhost:5000/trusted/unsigned:latest: accepted" in block
    assert "after, GPG-signed localhost:5000/trusted/gpg:latest: pulled and ran (id -u: 10001)" in block
    assert "after, sigstore-signed localhost:5000/trusted/sigstore:latest: pulled and ran (id -u: 10001)" in block
    assert "after, unsigned pull of localhost:5000/trusted/unsigned:latest: refused: " + REFUSAL in block
    assert "legacy container demo-web before (started by hand): " in block
    for title in ("Runs as root", "Secret in environment variables", "Port published on a non-loopback address"):
        assert title in block
    assert "demo-web after (replaced, managed by podsec.hardening): no findings" in block


def test_both_report_paths_are_printed(demo):
    for which in ("before", "after"):
        path = os.path.join(OUT, "report-" + which, "index.html")
        assert path in demo["output"] and os.path.isfile(path)


@pytest.mark.parametrize("host", HOSTS)
def test_legacy_findings_before_and_none_after(demo, host):
    before, after = posture("before", host), posture("after", host)
    legacy = [f for f in before["findings"] if f["target"] == "demo-web"]
    assert LEGACY_FINDINGS <= {f["id"] for f in legacy}
    assert all(f["fix"] for f in legacy)
    assert [c["managed"] for c in before["containers"] if c["name"] == "demo-web"] == ["unmanaged"]
    assert [f for f in after["findings"] if f["target"] == "demo-web" and f["severity"] != "info"] == []
    assert [c["managed"] for c in after["containers"] if c["name"] == "demo-web"] == ["podsec.hardening"]
    assert before["score"] < after["score"] == 100


@pytest.fixture(scope="module")
def rendered(demo):
    return dict((which, render(os.path.join(OUT, "report-" + which))) for which in ("before", "after"))


def test_before_page_shows_the_legacy_container_with_its_fixes(rendered):
    text, _tags = parsed(rendered["before"]["dom"])
    assert "Podman fleet security report" in text
    rows = finding_rows(rendered["before"]["dom"])
    for host in HOSTS:
        expected = [f for f in posture("before", host)["findings"] if f["target"] == "demo-web"]
        shown = dict((rid, cells) for section, rid, cells in rows if section == host and cells[1] == "demo-web")
        assert LEGACY_FINDINGS <= set(shown)
        for item in expected:
            # severity | target | title + message | fix | bench
            assert shown[item["id"]][0] == item["severity"]
            assert shown[item["id"]][3] == " ".join(item["fix"].split())
    assert os.path.getsize(rendered["before"]["screenshot"]) > 10000


def test_after_page_shows_no_finding_for_the_replaced_container(rendered):
    text, _tags = parsed(rendered["after"]["dom"])
    assert "Podman fleet security report" in text
    for host in HOSTS:
        assert host in text
    rows = finding_rows(rendered["after"]["dom"])
    assert [cells for _section, _rid, cells in rows if cells[1] == "demo-web" and cells[0] != "info"] == []
    assert os.path.getsize(rendered["after"]["screenshot"]) > 10000


def test_legacy_password_is_in_no_output(demo, rendered):
    # The control for this search: the password is really in what demo/run.sh started by hand.
    with open(os.path.join(REPO, "demo", "run.sh")) as handle:
        assert "DB_PASSWORD=" + LEGACY_PASSWORD in handle.read()
    assert LEGACY_PASSWORD not in demo["output"]
    for which in ("before", "after"):
        assert LEGACY_PASSWORD not in rendered[which]["dom"]
    for path in glob.glob(os.path.join(OUT, "report-*", "**", "*.json"), recursive=True):
        with open(path) as handle:
            assert LEGACY_PASSWORD not in handle.read(), path


def test_cleans_up_after_itself(demo):
    running = json.loads(subprocess.run([sys.executable, os.path.join(REPO, "tests", "testbed", "testbed.py"), "list"],
                                        stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout or "[]")
    assert [h for h in running if h["name"] in MACHINES] == []
    assert glob.glob("/tmp/podsec-demo-keys.*") == []
