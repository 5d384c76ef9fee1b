"""playbooks/site.yml through ansible-runner (the engine AWX uses), after converge and idempotence, as an AWX
job template runs it: a private data dir, the project's playbooks/ with no ansible.cfg, and the execution
environment's ansible.cfg as the only configuration."""

from conftest import changed_tasks, host_var, planted_values, summary_lines

PIPELINING_REFUSAL = "tmpfs_secret refuses to run without pipelining"
# The hardened_container role's one task (it stores the secrets too).
APPLY_TASK = "Install the Quadlet units and bring the services to the declared state"


def test_site_through_ansible_runner_changes_nothing(site_run):
    assert site_run.status == "successful", site_run.process_output[-3000:]
    assert "_build/configs/ansible.cfg as config file" in site_run.process_output
    stats = [e for e in site_run.events if e.get("event") == "playbook_on_stats"][0]["event_data"]
    assert sorted(stats["ok"]) == ["fleet-h1", "fleet-h2"]
    assert stats["changed"] == {}, changed_tasks(site_run)
    assert stats["failures"] == {} and stats["dark"] == {}
    # tmpfs_secret ran for fleet-worker's secret (and changed nothing: the value is on the tmpfs already).
    stored = [e for e in site_run.task_results(APPLY_TASK) if "changed_secrets" in e.get("res", {})]
    assert [e["host"] for e in stored] == ["fleet-h1"] and stored[0]["res"]["changed_secrets"] == []
    h1 = summary_lines(site_run, "fleet-h1")
    h2 = summary_lines(site_run, "fleet-h2")
    assert "trust policy: in place, nothing changed" in h1
    assert "trust policy: skipped (podsec_enable_trust=false)" in h2
    assert "audit watches: skipped (kernel audit unusable here)" in h1
    assert "hardened containers: fleet-web, fleet-worker, fleet-rootless; in place, nothing changed" in h1
    assert any(line.startswith("posture score ") for line in h1)


def test_site_without_pipelining_is_refused_before_any_secret_leaves(site_run_without_config):
    """Control: the same job with no ansible.cfg at all (the setting AWX jobs had before the EE shipped one)."""
    result = site_run_without_config
    assert "No config file found; using defaults" in result.process_output
    assert result.status == "failed"
    # (ansible-runner's events carry no "failed" key in the result: the refusal is found by its message)
    refused = [e for e in result.task_results(APPLY_TASK) if PIPELINING_REFUSAL in e.get("res", {}).get("msg", "")]
    assert [e["host"] for e in refused] == ["fleet-h1"]
    assert host_var("fleet-h1", "fleet_worker_token") not in result.all_text()


def test_site_output_has_no_secret_value(site_run):
    # test_report.py proves the planted values are on fleet-h2 (podman inspect); the scan in site.yml must not carry
    # them. test_fleet_h1.py proves fleet-worker's token is on fleet-h1's tmpfs; no artifact of the run carries it.
    for secret in planted_values() + [host_var("fleet-h1", "fleet_worker_token")]:
        assert secret not in site_run.all_text()
        assert secret not in site_run.process_output
