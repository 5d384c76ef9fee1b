"""Does podman 5.8 still copy a `--secret NAME,type=mount` value onto the disk under the graph root?

It does (checked on 5.8.6 like on 5.4.2): the value is copied to
/var/lib/containers/storage/overlay-containers/ID/userdata/secrets/NAME on the persistent disk while the
container exists, and bind-mounted from there. So the collection keeps documenting Secret= as leaving a
copy on disk (docs/secrets.md) and recommends the tmpfs bind mount; if a later podman stops copying, this
test fails and the docs can change.
"""

import pytest

testinfra_hosts = ["ansible://podman_new"]

VALUE = "sid-secret-value-9f2c71"
CONTROL = "disk-control-77aa19"
SHELL_DRIVER = ("list=ls /run/pv-secret,lookup=cat /run/pv-secret/$SECRET_ID,"
                "store=cat > /run/pv-secret/$SECRET_ID,delete=rm /run/pv-secret/$SECRET_ID")


def disk_files_holding(host, *needles):
    """Every regular file on the persistent disk (/ without other mounts, so no tmpfs) holding a needle."""
    command = "find / -xdev -type f -print0 2>/dev/null | xargs -0 grep -lF%s 2>/dev/null; true" % (" -e %s" * len(needles))
    out = host.run(command, *needles).stdout
    return out.split()


@pytest.fixture(scope="module")
def running(host):
    # The value lives only on a tmpfs (shell driver), as with podsec.hardening.tmpfs_secret.
    host.check_output("mkdir -p /run/pv-secret && (mountpoint -q /run/pv-secret || "
                      "mount -t tmpfs -o size=1m,mode=0700 tmpfs /run/pv-secret)")
    host.check_output("echo %s > /var/tmp/pv-control", CONTROL)
    host.check_output("printf %s | podman secret create --replace --driver shell --driver-opts %s pv_secret -",
                      VALUE, SHELL_DRIVER)
    host.check_output("podman run -d --name pv-secret --network none --secret pv_secret,type=mount,uid=10001,mode=0400 "
                      "localhost/podsec/busybox:latest sleep 600")
    yield
    host.run("podman rm -f -t 0 pv-secret; podman secret rm pv_secret; umount /run/pv-secret; rm -f /var/tmp/pv-control")


def test_the_host_runs_podman_5_8(host):
    assert host.check_output("podman --version").startswith("podman version 5.8.")


def test_the_container_reads_the_secret(host, running):
    assert host.check_output("podman exec pv-secret cat /run/secrets/pv_secret") == VALUE


def test_podman_5_8_still_copies_the_value_under_the_graph_root(host, running):
    found = disk_files_holding(host, VALUE, CONTROL)
    assert "/var/tmp/pv-control" in found  # control: the search finds a planted value on the disk
    copies = [path for path in found if path != "/var/tmp/pv-control"]
    assert len(copies) == 1 and copies[0].startswith("/var/lib/containers/storage/overlay-containers/")
    assert copies[0].endswith("/userdata/secrets/pv_secret")


def test_the_copy_goes_with_the_container(host, running):
    host.check_output("podman rm -f -t 0 pv-secret")
    assert disk_files_holding(host, VALUE) == []
