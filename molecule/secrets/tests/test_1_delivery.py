"""What a user checks after converge: the mount, the files, the containers that read them, and no value in podman's metadata."""

import json

from conftest import ROOTLESS_DIR, SECRETS_DIR, assert_absent, digest, reader_digest

testinfra_hosts = ["ansible://secrets_hosts"]


def mount_line(host, path):
    for line in host.file("/proc/mounts").content_string.splitlines():
        fields = line.split()
        if fields[1] == path:
            return fields
    return None


def test_tmpfs_with_noswap_size_and_mode_in_proc_mounts(host):
    fields = mount_line(host, SECRETS_DIR)
    assert fields is not None, "nothing mounted at " + SECRETS_DIR
    assert fields[2] == "tmpfs"
    options = fields[3].split(",")
    for option in ("noswap", "size=2048k", "mode=700", "nosuid", "nodev", "noexec"):
        assert option in options, fields
    root = host.file(SECRETS_DIR)
    assert root.mode == 0o700 and root.user == "root" and root.group == "root"


def test_not_in_fstab(host):
    assert SECRETS_DIR not in host.file("/etc/fstab").content_string
    # no mount unit file either (the kernel's mount shows up as a transient unit, which is fine)
    assert "podsec" not in host.check_output("systemctl list-unit-files --type=mount --no-legend")


def test_secret_files(host, values):
    db = host.file(SECRETS_DIR + "/db_password")
    assert db.is_file and db.mode == 0o400 and db.uid == 10001 and db.gid == 10001
    api = host.file(SECRETS_DIR + "/api_token")
    assert api.is_file and api.mode == 0o400 and api.user == "root"
    for name in ("db_password", "api_token"):
        out = host.check_output("sha256sum %s/%s", SECRETS_DIR, name)
        assert out.split()[0] == digest(values[name])


def test_hardened_container_reads_the_secret(host, values):
    assert host.service("secrets-reader.service").is_running
    assert reader_digest(host) == digest(values["db_password"])
    assert host.check_output("podman exec secrets-reader id -u") == "10001"
    info = json.loads(host.check_output("podman inspect secrets-reader"))[0]
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["Config"]["User"] == "10001:10001"


def test_value_not_in_inspect_or_environment(host, values):
    inspect = host.check_output("podman inspect secrets-reader")
    environ = host.check_output("podman exec secrets-reader env")
    secret_meta = host.check_output("podman secret inspect db_password api_token")
    secret_meta += host.check_output("su -l podsec -c 'podman secret inspect rootless_token' 2>/dev/null")
    for value in values.values():
        assert_absent(value, inspect, "podman inspect secrets-reader")
        assert_absent(value, environ, "the container's environment")
        assert_absent(value, secret_meta, "podman secret inspect")


def test_podman_secrets_use_the_tmpfs_shell_driver(host, values):
    for name in ("db_password", "api_token"):
        value = values[name]
        info = json.loads(host.check_output("podman secret inspect %s", name))[0]
        driver = info["Spec"]["Driver"]
        assert driver["Name"] == "shell"
        assert driver["Options"]["lookup"] == "cat '%s/.podman'/$SECRET_ID" % SECRETS_DIR
        store_file = host.file("%s/.podman/%s" % (SECRETS_DIR, info["ID"]))
        assert store_file.is_file and store_file.mode == 0o600
        out = host.check_output("sha256sum %s/.podman/%s", SECRETS_DIR, info["ID"])
        assert out.split()[0] == digest(value)
    # podman's own secret store (the file driver's data file) holds nothing
    assert not host.file("/var/lib/containers/storage/secrets/filedriver/secretsdata.json").exists or \
        host.file("/var/lib/containers/storage/secrets/filedriver/secretsdata.json").content_string.strip() in ("", "{}")


def test_podman_run_secret_through_the_shell_driver(host, values):
    out = host.check_output(
        "podman run --rm --network none --secret api_token,type=mount,uid=10001,mode=0400 "
        "localhost/podsec/busybox:latest sha256sum /run/secrets/api_token")
    assert out.split()[0] == digest(values["api_token"])


def test_quadlet_secret_unit(host, values):
    result = host.run("systemctl start secrets-podman.service")
    assert result.rc == 0, host.run("journalctl -u secrets-podman.service --no-pager -n 30").stdout
    journal = host.check_output("journalctl -u secrets-podman.service --no-pager -o cat")
    assert "%s  /run/secrets/api_token" % digest(values["api_token"]) in journal
    # Quadlet runs with --rm: the container, and podman's copy of the value under the graph root, are gone
    assert host.run("podman container exists secrets-podman").rc != 0
    assert host.check_output("systemctl stop secrets-podman.service") == ""


def test_rootless_user_secret(host, values):
    fields = mount_line(host, ROOTLESS_DIR)
    assert fields is not None and fields[2] == "tmpfs" and "noswap" in fields[3].split(",")
    root = host.file(ROOTLESS_DIR)
    assert root.user == "podsec" and root.mode == 0o700
    info = json.loads(host.check_output("su -l podsec -c 'podman secret inspect rootless_token' 2>/dev/null"))[0]
    assert info["Spec"]["Driver"]["Name"] == "shell"
    assert host.file("%s/.podman/%s" % (ROOTLESS_DIR, info["ID"])).user == "podsec"
    # root's podman knows nothing of the user's secret
    assert host.run("podman secret exists rootless_token").rc != 0
    out = host.check_output(
        "su -l podsec -c 'podman run --rm --network none --secret rootless_token,type=mount "
        "localhost/podsec/busybox:latest sha256sum /run/secrets/rootless_token' 2>/dev/null")
    assert out.split()[0] == digest(values["rootless_token"])
