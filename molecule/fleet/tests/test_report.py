"""playbooks/audit.yml through ansible-runner: per-host JSON, the HTML fleet report rendered by Chromium,
and no secret value anywhere in what it produces."""

import json
import os
import urllib.request

import pytest

from conftest import planted_secret, planted_values
from report_dom import finding_rows, parsed

testinfra_hosts = ["ansible://fleet-h2"]

INSECURE_FINDINGS = {
    "container_privileged", "container_root_user", "container_writable_rootfs", "container_secret_env",
    "container_sensitive_mount", "container_public_port", "container_no_new_privileges",
}


ROOTLESS = "legacy-rootless (rootless, user legacy)"

# What prepare.yml planted on fleet-h2, by target: {rule: severity}.
PLANTED = {
    "weak-seccomp": {"container_seccomp_unconfined": "high"},
    "weak-apparmor": {"container_apparmor_unconfined": "high"},
    "weak-label": {"container_label_disabled": "high"},
    "weak-unmask": {"container_unmasked_paths": "high"},
    "weak-systempaths": {"container_unmasked_paths": "high"},
    "weak-userns": {"container_host_userns": "high"},
    "weak-cgroupns": {"container_host_cgroupns": "medium"},
    "weak-hardlink": {"container_engine_socket": "critical"},
    "weak-symlinkdir": {"container_engine_socket": "critical"},
    "weak-userapi": {"container_rootless_api": "high"},
    "weak-lan": {"container_public_port": "medium"},
    "weak-env": {"container_secret_env": "high"},
    "weak-created": {"container_privileged": "critical", "container_engine_socket": "critical"},
    ROOTLESS: {"container_rootless_api": "high", "container_seccomp_unconfined": "high",
               "container_secret_env": "high"},
    "user legacy": {"host_trust_policy_invalid": "critical"},
    "host": {"host_podman_tcp_api": "critical", "host_trust_accept_anything": "high"},
}
ROLE_CONTAINERS = {"fleet-h1": ["fleet-rootless", "fleet-web", "fleet-worker"], "fleet-h2": ["h2-app", "h2-rootless-app"]}


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


def test_every_planted_weakness_is_named_with_severity_and_fix(host_results):
    findings = host_results["fleet-h2"]["posture"]["findings"]
    for target, rules in sorted(PLANTED.items()):
        mine = [f for f in findings if f["target"] == target]
        for rule, severity in sorted(rules.items()):
            hits = [f for f in mine if f["id"] == rule]
            assert hits, (target, rule, [f["id"] for f in mine])
            assert severity in [f["severity"] for f in hits], (target, rule, hits)
            for item in hits:
                assert item["fix"] and item["title"] and item["bench"] is not None


def test_how_each_socket_was_reached_is_said(host_results):
    by_target = {}
    for item in host_results["fleet-h2"]["posture"]["findings"]:
        by_target.setdefault(item["target"], []).append(item)
    hard = [f for f in by_target["weak-hardlink"] if f["id"] == "container_engine_socket"][0]
    assert "hard link /run/legacy-api" in hard["message"] and hard["details"]["socket"] == "/run/podman/podman.sock"
    link = [f for f in by_target["weak-symlinkdir"] if f["id"] == "container_engine_socket"][0]
    assert "/srv/engine (resolves to /run/podman)" in link["message"]
    for target in ("weak-userapi", ROOTLESS):
        api = [f for f in by_target[target] if f["id"] == "container_rootless_api"][0]
        assert "legacy" in api["message"] and "root on the host" not in api["message"]
    proxy = [f for f in by_target["host"] if f["id"] == "host_podman_tcp_api"
             and f["details"]["unit"] == "legacy-api-proxy.socket"]
    assert proxy and proxy[0]["details"]["port"] == "2376"
    assert "systemd-socket-proxyd to /run/user/" in proxy[0]["message"]
    lan = [f for f in by_target["weak-lan"] if f["id"] == "container_public_port"][0]
    assert lan["details"]["ports"][0].endswith(":8082->8080/tcp") and not lan["details"]["ports"][0].startswith("0.")
    env = [f for f in by_target["weak-env"] if f["id"] == "container_secret_env"][0]
    assert env["details"]["reasons"] == {"DATABASE_URL": "password in a URL", "GIT_READ": "token-like value"}


def test_socket_proxy_really_serves_the_podman_api(host):
    # The control for the proxy rule: the planted unit answers Podman API calls from another machine.
    address = host.ansible.get_variables()["ansible_host"]
    with urllib.request.urlopen("http://%s:2376/_ping" % address, timeout=10) as response:
        assert response.read() == b"OK"


def test_containers_in_every_state_and_every_user_are_inspected(host_results, host):
    posture = host_results["fleet-h2"]["posture"]
    states = dict((c["name"], c["state"]) for c in posture["containers"])
    assert states["weak-created"] == "created" and states["weak-systempaths"] == "exited"
    assert states["legacy-rootless"] == "running"
    # legacy was named nowhere: found by lingering and its container storage.
    assert "legacy" in posture["checked"] and "podsec" in posture["checked"]
    # Read-only: the scan (in check mode) started nothing.
    assert host.check_output("podman inspect -f '{{.State.Status}}' weak-created") == "created"


@pytest.mark.parametrize("name", ["fleet-h1", "fleet-h2"])
def test_role_containers_are_marked_and_clean_with_opt_outs(host_results, name):
    posture = host_results[name]["posture"]
    mine = dict((c["name"], c) for c in posture["containers"] if c["managed"] == "podsec.hardening")
    assert sorted(mine) == ROLE_CONTAINERS[name]
    for container in mine.values():
        assert container["findings"] == 0, [f for f in posture["findings"] if f["target"].startswith(container["name"])]
        assert container["opt_outs"] == ["memory: unlimited", "pids_limit: unlimited"]
    others = [c for c in posture["containers"] if c["name"] not in mine]
    assert all(c["managed"] == "unmanaged" for c in others), others
    opt_out_targets = [f["target"].split(" ")[0] for f in posture["findings"] if f["id"] == "container_opt_outs"]
    assert set(mine) <= set(opt_out_targets)


def test_hardened_h1_scores_100(host_results):
    posture = host_results["fleet-h1"]["posture"]
    names = sorted(c["name"] for c in posture["containers"])
    assert names == ["fleet-rootless", "fleet-web", "fleet-worker"]
    assert all(c["findings"] == 0 for c in posture["containers"]), posture["findings"]
    # The trust role ran; audit is unavailable in nspawn; the opt-outs are listed: information only.
    assert [f for f in posture["findings"] if f["severity"] != "info"] == []
    assert sorted(set(f["id"] for f in posture["findings"])) == ["container_opt_outs", "host_audit_unavailable"]
    assert posture["score"] == 100


def test_weak_h2_cannot_score_100(host_results):
    posture = host_results["fleet-h2"]["posture"]
    assert posture["score"] < 100 and posture["counts"]["critical"] >= 5


def test_secret_value_is_on_the_host_but_in_no_output(host, audit_run, report_dir):
    # Planted: the values really are there to leak, so the searches below cannot pass vacuously.
    assert planted_secret() in host.check_output("podman inspect legacy-db")
    assert all(value in host.check_output("podman inspect weak-env") for value in planted_values())
    assert "ESTABLISH SSH CONNECTION" in audit_run.stdout  # really -vvv
    for secret in planted_values():
        assert secret not in audit_run.all_text()
        assert secret not in audit_run.process_output
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
    assert "podsec.hardening" in text and "unmanaged" in text
    assert "Privileged container" in text and "Podman API exposed on TCP" in text
    assert "podsec.hardening.hardened_container" in text
    assert os.path.getsize(rendered_report["screenshot"]) > 10000


def test_report_rows_name_each_planted_weakness(rendered_report, host_results):
    rows = [(section, rid, cells) for section, rid, cells in finding_rows(rendered_report["dom"]) if section == "fleet-h2"]
    # severity | target | title + message | fix | bench
    for target, rules in PLANTED.items():
        for rule, severity in rules.items():
            matching = [cells for _s, rid, cells in rows if rid == rule and cells[1] == target and cells[0] == severity]
            assert matching, (target, rule, severity)
            expected = [f for f in host_results["fleet-h2"]["posture"]["findings"]
                        if f["id"] == rule and f["target"] == target][0]
            assert matching[0][3] == " ".join(expected["fix"].split())
            assert matching[0][4] == expected["bench"]
    assert len(rows) == len(host_results["fleet-h2"]["posture"]["findings"])


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


SETUID_TARGETS = ("image localhost/podsec/setuid:latest", "image localhost/podsec/setuid:latest of user legacy")
SETUID_TOOL = "/usr/local/bin/fleet-tool"


def test_the_setuid_root_binary_of_root_and_of_a_rootless_users_image_is_reported_with_its_path(host_results, host):
    findings = host_results["fleet-h2"]["posture"]["findings"]
    setuid = dict((f["target"], f) for f in findings if f["id"] == "image_setuid_root")
    for target in SETUID_TARGETS:
        assert setuid[target]["details"]["paths"] == [SETUID_TOOL], findings
        assert "weak-setuid" in setuid[target]["message"] and setuid[target]["severity"] == "high"
    assert not [f for f in findings if f["id"] == "image_inspect_failed"], findings
    # The scan ran in check mode and left nothing mounted, for root or in legacy's user namespace.
    assert host.check_output("podman image mount") == ""
    legacy = host.run("cd / && runuser -u legacy -- env XDG_RUNTIME_DIR=/run/user/$(id -u legacy) "
                      "podman unshare podman image mount")
    assert legacy.rc == 0 and legacy.stdout.strip() == "", legacy.stderr
    # Control: the bit really is in the image (podman itself shows it), so the scan did not guess.
    assert host.check_output("podman run --rm localhost/podsec/setuid:latest stat -c '%%a %%u' %s"
                             % SETUID_TOOL) == "4755 0"


def test_the_report_lists_the_image_findings_per_host_with_the_paths(rendered_report):
    rows = finding_rows(rendered_report["dom"], "image-finding")
    h2 = [(rid, cells) for section, rid, cells in rows if section == "fleet-h2"]
    for target in SETUID_TARGETS:
        # severity | image | title + message | paths inside the image
        matching = [cells for rid, cells in h2 if rid == "image_setuid_root" and cells[1] == target]
        assert matching and matching[0][0] == "high" and matching[0][3] == SETUID_TOOL, h2
    # Control: the hardened host's images (the plain test image) have no image finding.
    assert [row for row in rows if row[0] == "fleet-h1"] == []
    text, _tags = parsed(rendered_report["dom"])
    assert "No image findings" in text
