"""One control at a time on a fresh host (fleet-h3, which converge never touched), as an operator runs them
from AWX: site.yml --tags trust, then a check-mode run, then --tags containers, each through ansible-runner
with the execution environment's ansible.cfg. Between the runs the files of every control are checksummed
on the host: a tag changes its own control's files and nothing else."""

import json
import os
import shlex
import shutil
import tempfile

import pytest

from conftest import changed_tasks, ee_ansible_cfg, host_var, run_playbook, summary_lines

testinfra_hosts = ["ansible://fleet-h3"]

POLICY = "/etc/containers/policy.json"
SECRETS = "/run/podsec-secrets-root"
# Every file a control of site.yml writes: trust (policy.json, registries.d, keys), containers (Quadlet units,
# subordinate ids, the secrets tmpfs, rootless units), audit (rules.d). Plus what systemd and podman run.
SNAPSHOT = r"""
for path in /etc/containers /etc/pki/containers /etc/subuid /etc/subgid /etc/audit /run/podsec-secrets-root \
            /home/podsec/.config/containers; do
  [ -e "$path" ] && find "$path" -type f -print0 | sort -z | xargs -0 -r sha256sum
done
echo "mount $(findmnt -n -o FSTYPE,OPTIONS /run/podsec-secrets-root || echo none)"
echo "containers $(podman ps -a --format '{{.Names}}' | sort | tr '\n' ' ')"
echo "units $(systemctl list-units --all --plain --no-legend 'fresh-*' | awk '{print $1}' | tr '\n' ' ')"
"""


def snapshot(host):
    entries = {}
    for line in host.check_output("sh -c %s" % shlex.quote(SNAPSHOT)).splitlines():
        if line.startswith(("mount ", "containers ", "units ")):
            key, _sep, value = line.partition(" ")
            entries[key] = value.strip()
        else:
            checksum, path = line.split(None, 1)
            entries[path] = checksum
    return entries


def differences(before, after):
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


@pytest.fixture(scope="module")
def fresh(host, ee_build_context):
    config = ee_ansible_cfg(ee_build_context)
    target = {"podsec_target_hosts": "fleet-h3"}
    steps = {"before": snapshot(host)}
    steps["list_tags"] = run_playbook("site.yml", target, cmdline="--list-tags", ansible_cfg=config, ident="tags")
    steps["trust"] = run_playbook("site.yml", target, cmdline="--tags trust -v", ansible_cfg=config, ident="trust")
    steps["after_trust"] = snapshot(host)
    steps["check"] = run_playbook("site.yml", target, cmdline="--check -v", ansible_cfg=config, ident="check")
    steps["after_check"] = snapshot(host)
    steps["containers"] = run_playbook("site.yml", target, cmdline="--tags containers -v", ansible_cfg=config,
                                       ident="containers")
    steps["after_containers"] = snapshot(host)
    steps["inventory_dir"] = tempfile.mkdtemp(prefix="podsec-inventory-")
    steps["inventory"] = run_playbook("inventory.yml", {"podsec_target_hosts": "fleet-h1:fleet-h3",
                                                        "podsec_inventory_dir": steps["inventory_dir"]},
                                      cmdline="--check -v", ansible_cfg=config, ident="inventory")
    steps["after_inventory"] = snapshot(host)
    yield steps
    shutil.rmtree(steps["inventory_dir"], ignore_errors=True)


def test_list_tags_shows_one_tag_per_control(fresh):
    assert fresh["list_tags"].status == "successful", fresh["list_tags"].process_output[-2000:]
    assert "TASK TAGS: [always, audit, containers, report, trust]" in fresh["list_tags"].stdout


def test_tags_trust_changes_only_the_trust_policy(fresh):
    run = fresh["trust"]
    assert run.status == "successful", run.process_output[-3000:]
    assert changed_tasks(run) == [("fleet-h3", "Write the image trust policy")]
    assert differences(fresh["before"], fresh["after_trust"]) == [POLICY]
    assert fresh["after_trust"]["containers"] == "" and fresh["after_trust"]["mount"] == "none"
    lines = summary_lines(run, "fleet-h3")
    assert "trust policy: changed" in lines
    assert "hardened containers: not run (tag containers not selected)" in lines
    assert "posture: not scanned (tag report not selected)" in lines


def test_trust_policy_is_the_declared_one(host, fresh):
    assert json.loads(host.file(POLICY).content_string)["default"] == [{"type": "reject"}]


def test_check_mode_changes_nothing_and_says_would(fresh):
    run = fresh["check"]
    assert run.status == "successful", run.process_output[-3000:]
    assert differences(fresh["after_trust"], fresh["after_check"]) == []
    lines = summary_lines(run, "fleet-h3")
    assert lines[0] == "host: fleet-h3 (check mode: nothing was changed)"
    assert "trust policy: in place, nothing would change" in lines
    assert any(line.startswith("hardened containers: fresh-app; would change: fresh-app") for line in lines), lines
    assert not any("applied" in line or line.startswith("posture score") for line in lines), lines
    assert any(line.startswith("current posture, before the changes above would be made: score ") for line in lines)


def test_tags_containers_then_changes_only_the_containers(fresh):
    """The control of the trust test: the same checksums do see the containers control's files change."""
    run = fresh["containers"]
    assert run.status == "successful", run.process_output[-3000:]
    changed = differences(fresh["after_check"], fresh["after_containers"])
    assert POLICY not in changed
    assert "/etc/containers/systemd/fresh-app.container" in changed
    assert SECRETS + "/fresh-app.db_password" in changed
    assert fresh["after_containers"]["containers"] == "fresh-app"
    assert "tmpfs" in fresh["after_containers"]["mount"]
    assert not any(task.startswith("Write the image trust policy") for _host, task in changed_tasks(run))
    lines = summary_lines(run, "fleet-h3")
    assert "trust policy: not run (tag trust not selected)" in lines
    assert any(line.startswith("hardened containers: fresh-app; changed: fresh-app") for line in lines), lines


def test_secret_reached_the_container_and_no_artifact(host, fresh):
    password = host_var("fleet-h3", "fresh_app_password")
    assert host.check_output("podman exec fresh-app cat /run/secrets/db_password") == password
    for step in ("trust", "check", "containers", "inventory"):
        assert password not in fresh[step].all_text(), step
        assert password not in fresh[step].process_output, step


def listed(fresh, name):
    with open(os.path.join(fresh["inventory_dir"], name + ".json")) as handle:
        return json.load(handle)["managed"]


def test_inventory_lists_what_is_managed_and_changes_nothing(fresh):
    run = fresh["inventory"]
    assert run.status == "successful", run.process_output[-3000:]
    assert differences(fresh["after_containers"], fresh["after_inventory"]) == []
    assert [host for host, _task in changed_tasks(run) if not _task.startswith(("Create the inventory", "Write one"))] == []
    h1, h3 = listed(fresh, "fleet-h1"), listed(fresh, "fleet-h3")
    assert [(c["name"], c["owner"]) for c in h1["containers"]] == [
        ("fleet-web", "root"), ("fleet-worker", "root"), ("fleet-rootless", "podsec")]
    assert [s["name"] for s in h1["secrets"]] == ["fleet-worker.api_token"]
    assert h1["trust"]["default"] == ["reject"]
    assert [(c["name"], c["owner"], c["unit"]) for c in h3["containers"]] == [
        ("fresh-app", "root", "/etc/containers/systemd/fresh-app.container")]
    assert [(s["name"], s["directory"]) for s in h3["secrets"]] == [("fresh-app.db_password", SECRETS)]
    assert h3["trust"]["default"] == ["reject"]
    stats = [e for e in run.events if e.get("event") == "playbook_on_stats"][0]["event_data"]
    assert sorted(stats["artifact_data"]["podsec_managed"]) == ["fleet-h1", "fleet-h3"]
    assert host_var("fleet-h1", "fleet_worker_token") not in run.all_text()
