"""Reboot: the secrets are gone; the next run restores them (also at -vvv); a run with nothing new changes nothing."""

import time

from conftest import HOST, ROOTLESS_DIR, SECRETS_DIR, digest, reader_digest, recap, run_playbook, bed_cli

testinfra_hosts = ["ansible://secrets_hosts"]


def wait_for_ssh(host, timeout=120):
    deadline = time.time() + timeout
    while True:
        try:
            if host.run("true").rc == 0:
                return
        except Exception:  # noqa: BLE001 - the connection is expected to fail while the host boots
            if time.time() > deadline:
                raise
        time.sleep(2)


def test_reboot_loses_the_secrets(host):
    boot_id = host.file("/proc/sys/kernel/random/boot_id").content_string
    bed_cli("restart", HOST)
    wait_for_ssh(host)
    assert host.file("/proc/sys/kernel/random/boot_id").content_string != boot_id
    assert SECRETS_DIR not in [line.split()[1] for line in host.file("/proc/mounts").content_string.splitlines()]
    assert not host.file(SECRETS_DIR + "/db_password").exists
    assert not host.file(ROOTLESS_DIR + "/rootless_token").exists
    assert not host.service("secrets-reader.service").is_running
    # podman's registration (metadata only) survived, but its lookup finds no value
    assert host.run("podman secret exists api_token").rc == 0
    assert host.run("podman secret inspect --showsecret api_token").rc != 0


def test_check_mode_after_reboot_predicts_without_touching(host):
    check = run_playbook("converge.yml", "--check", "--diff", output_name="check-after-reboot.log")
    assert check.returncode == 0, (check.stdout + check.stderr)[-5000:]
    assert recap(check.stdout)["changed"] >= 1
    assert "+/run/podsec-secrets: tmpfs size=2048k noswap root:root 0700" in check.stdout
    mounts = [line.split()[1] for line in host.file("/proc/mounts").content_string.splitlines()]
    assert SECRETS_DIR not in mounts and ROOTLESS_DIR not in mounts
    assert host.run("podman secret inspect --showsecret api_token").rc != 0


def test_next_run_restores_then_changes_nothing(host, values):
    first = run_playbook("converge.yml", "-vvv", output_name="vvv-after-reboot.log")
    assert first.returncode == 0, (first.stdout + first.stderr)[-5000:]
    assert recap(first.stdout)["changed"] >= 1
    assert reader_digest(host) == digest(values["db_password"])
    second = run_playbook("converge.yml", "-vvv", output_name="vvv-rerun.log")
    assert second.returncode == 0, (second.stdout + second.stderr)[-5000:]
    assert recap(second.stdout)["changed"] == 0
    assert "noswap" in host.check_output("grep ' %s ' /proc/mounts", SECRETS_DIR)
    rootless = host.check_output(
        "su -l podsec -c 'podman run --rm --network none --secret rootless_token,type=mount "
        "localhost/podsec/busybox:latest sha256sum /run/secrets/rootless_token' 2>/dev/null")
    assert rootless.split()[0] == digest(values["rootless_token"])
