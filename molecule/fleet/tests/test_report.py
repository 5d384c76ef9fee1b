"""playbooks/audit.yml through ansible-runner: per-host JSON, the HTML fleet report rendered by Chromium,
and no secret value anywhere in what it produces."""

import json
import os
from html.parser import HTMLParser

import pytest

from conftest import planted_secret

testinfra_hosts = ["ansible://fleet-h2"]

INSECURE_FINDINGS = {
    "container_privileged", "container_root_user", "container_writable_rootfs", "container_secret_env",
    "container_sensitive_mount", "container_public_port", "container_no_new_privileges",
}


class TextAndTags(HTMLParser):
    """Collects the visible text and the element names of a DOM dump."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.text = []
        self.tags = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parsed(dom):
    parser = TextAndTags()
    parser.feed(dom)
    return " ".join(" ".join(parser.text).split()), parser.tags


def test_audit_ran_through_ansible_runner_in_check_mode(audit_run):
    assert audit_run.status == "successful", audit_run.process_output[-3000:]
    assert audit_run.rc == 0
    scans = audit_run.task_results("Gather the container security posture")
    ok = [e for e in scans if "res" in e]
    assert sorted(e["host"] for e in ok) == ["fleet-h1", "fleet-h2"]
    assert all(e["res"]["changed"] is False for e in ok)
    # set_stats: what an AWX job shows as its artifacts (and passes on in a workflow).
    stats = [e for e in audit_run.events if e.get("event") == "playbook_on_stats"][0]["event_data"]
    summary = stats["artifact_data"]["podsec_posture_summary"]
    assert summary["fleet-h1"]["score"] == 100 and summary["fleet-h1"]["scanned"] is True
    assert summary["fleet-h2"]["counts"]["critical"] >= 1


def test_insecure_container_on_h2_is_reported(host_results):
    posture = host_results["fleet-h2"]["posture"]
    legacy = [f for f in posture["findings"] if f["target"] == "legacy-db"]
    assert INSECURE_FINDINGS <= {f["id"] for f in legacy}
    by_id = dict((f["id"], f) for f in legacy)
    assert by_id["container_privileged"]["severity"] == "critical"
    assert by_id["container_secret_env"]["details"]["variables"] == ["<b>API_TOKEN</b>", "DB_PASSWORD"]
    assert by_id["container_public_port"]["details"]["ports"] == ["0.0.0.0:8081->8080/tcp"]
    assert by_id["container_sensitive_mount"]["details"]["source"] == "/etc"
    for item in legacy:
        assert item["fix"]


def test_h2_host_level_findings(host_results):
    host_ids = {f["id"] for f in host_results["fleet-h2"]["posture"]["findings"] if f["target"] == "host"}
    assert {"host_podman_tcp_api", "host_podman_socket_world", "host_trust_accept_anything",
            "host_audit_unavailable"} <= host_ids


def test_hardened_h1_is_not_flagged(host_results):
    posture = host_results["fleet-h1"]["posture"]
    names = sorted(c["name"] for c in posture["containers"])
    assert names == ["fleet-rootless", "fleet-web", "fleet-worker"]
    assert all(c["findings"] == 0 for c in posture["containers"]), posture["findings"]
    assert [f for f in posture["findings"] if f["target"] != "host"] == []
    # The trust role ran; audit is unavailable in nspawn and reported as information, nothing else.
    assert [f["id"] for f in posture["findings"]] == ["host_audit_unavailable"]
    assert posture["counts"]["info"] == 1 and posture["score"] == 100


def test_secret_value_is_on_the_host_but_in_no_output(host, audit_run, report_dir):
    secret = planted_secret()
    # Planted: the value really is there to leak, so the searches below cannot pass vacuously.
    assert secret in host.check_output("podman inspect legacy-db")
    assert secret not in audit_run.all_text()
    assert secret not in audit_run.process_output
    assert "ESTABLISH SSH CONNECTION" in audit_run.stdout  # really -vvv
    for root, _dirs, files in os.walk(report_dir):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                assert secret.encode() not in handle.read(), name


def test_report_renders_in_chromium(rendered_report, host_results):
    text, tags = parsed(rendered_report["dom"])
    assert "Podman fleet security report" in text
    for name in ("fleet-h1", "fleet-h2", "legacy-db", "fleet-web", "fleet-worker", "fleet-rootless"):
        assert name in text
    for item in host_results["fleet-h2"]["posture"]["findings"]:
        assert item["title"] in text
        assert " ".join(item["fix"].split()) in text
    assert "Privileged container" in text and "Podman API exposed on TCP" in text
    assert "podsec.hardening.hardened_container" in text
    assert os.path.getsize(rendered_report["screenshot"]) > 10000


def test_report_escapes_host_data(rendered_report):
    text, tags = parsed(rendered_report["dom"])
    # The variable name "<b>API_TOKEN</b>" is shown as text, not interpreted as markup.
    assert "<b>API_TOKEN</b>" in text
    assert "b" not in tags
    assert "script" not in tags


def test_report_has_no_secret_value(rendered_report):
    assert planted_secret() not in rendered_report["dom"]


@pytest.mark.parametrize("name", ["fleet-h1", "fleet-h2"])
def test_json_result_per_host(report_dir, name):
    with open(os.path.join(report_dir, "hosts", name + ".json")) as handle:
        data = json.load(handle)
    assert data["host"] == name and data["scanned"] is True
    assert set(data["posture"]) >= {"score", "counts", "findings", "containers", "audit_available"}
