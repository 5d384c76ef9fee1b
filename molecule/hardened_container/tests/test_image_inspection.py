"""Issue 20, images: what a user checks on a booted host.

An image with a setuid-root binary (built here from the test image) is reported with the file's path by
container_posture, for root's and for the rootless user's containers, in check mode too, and nothing stays
mounted; the role refuses to deploy it (the task fails naming the path and the option, no unit file changes)
and deploys it when setuid_root_ok allows it (the control).
"""

import hashlib
import json

import pytest

from conftest import ROOTLESS_USER, Podman
from test_hardened_container import run_playbook

testinfra_hosts = ["ansible://hardened-container-h1"]

SETUID_IMAGE = "localhost/podsec/setuid:latest"
TOOL = "/usr/local/bin/tool"
CONTAINERFILE = """FROM localhost/podsec/busybox:latest
COPY --chmod=4755 tool %s
""" % TOOL
UNIT_DIRS = {False: "/etc/containers/systemd", True: "/home/%s/.config/containers/systemd" % ROOTLESS_USER}


@pytest.fixture(scope="module")
def setuid_image(host):
    """The setuid image in root's and podsec's storage, each with a running container "suid-probe" from it."""
    lab = "/var/tmp/podsec-setuid-lab"
    host.run("rm -rf %s && mkdir -p %s && printf 'not a real tool\\n' > %s/tool" % (lab, lab, lab))
    host.run("cat > %s/Containerfile <<'EOF'\n%sEOF\nchmod -R a+rX %s" % (lab, CONTAINERFILE, lab))
    for rootless in (False, True):
        podman = Podman(host, rootless)
        podman.check("podman build -q --pull=never --tag %s %s" % (SETUID_IMAGE, lab))
        podman.check("podman run -d --name suid-probe %s sleep 100000" % SETUID_IMAGE)
    yield
    for rootless in (False, True):
        podman = Podman(host, rootless)
        podman.run("podman rm -f -t 0 suid-probe")
        podman.run("podman rmi -i %s" % SETUID_IMAGE)
    host.run("rm -rf %s" % lab)


def mounted_images(host):
    """What `podman image mount` lists for root and for podsec (inside its namespace, where it mounts)."""
    return {"root": host.check_output("podman image mount"),
            ROOTLESS_USER: Podman(host, True).check("podman unshare podman image mount").strip()}


def scan(host, check):
    result = host.ansible("podsec.hardening.container_posture", "inspect_images=true users=%s discover_users=false "
                          "check_audit=false" % ROOTLESS_USER, check=check)
    return result["ansible_facts"]["podsec_posture"]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check_mode"])
def test_the_posture_scan_reports_the_setuid_root_binary_of_root_and_of_the_rootless_user(host, setuid_image,
                                                                                           check):
    posture = scan(host, check)
    assert posture["checked"] == ["root", ROOTLESS_USER]
    setuid = dict((item["target"], item) for item in posture["findings"] if item["id"] == "image_setuid_root")
    for target in ("image %s" % SETUID_IMAGE, "image %s of user %s" % (SETUID_IMAGE, ROOTLESS_USER)):
        assert setuid[target]["details"]["paths"] == [TOOL], posture["findings"]
        assert TOOL in setuid[target]["message"] and "suid-probe" in setuid[target]["message"]
    # Control: the test image the scenario's containers run has no setuid-root file, for either owner.
    assert not [item for item in setuid.values() if "busybox" in item["target"]]
    assert not [item for item in posture["findings"] if item["id"] == "image_inspect_failed"], posture["findings"]
    # Nothing stays mounted, for root or in podsec's namespace.
    assert mounted_images(host) == {"root": "", ROOTLESS_USER: ""}
    # The bit really is in the image: the scan read it, it did not guess.
    for rootless in (False, True):
        mode = Podman(host, rootless).check("podman run --rm %s stat -c '%%a %%u' %s" % (SETUID_IMAGE, TOOL))
        assert mode.strip() == "4755 0"


def unit_checksums(host, rootless):
    listing = host.run("cd %s && sha256sum -- * 2>/dev/null | sort" % UNIT_DIRS[rootless]).stdout
    return hashlib.sha256(listing.encode()).hexdigest(), listing


@pytest.mark.parametrize("rootless", [False, True], ids=["root", "rootless"])
def test_the_role_refuses_the_setuid_image_unless_allowed(host, setuid_image, rootless):
    owner = ROOTLESS_USER if rootless else "root"
    podman = Podman(host, rootless)
    before = unit_checksums(host, rootless)
    try:
        rc, output = run_playbook("setuid_image.yml", "-e", json.dumps({"hc_owner": owner}))
        assert rc != 0, output[-3000:]
        assert "image %s (containers suidapp) has setuid-root files: %s." % (SETUID_IMAGE, TOOL) in output, \
            output[-3000:]
        assert "setuid_root_ok: true" in output
        # No unit file changed (checksums of the owner's unit directory), no container was created.
        assert unit_checksums(host, rootless) == before
        assert host.run("test -e %s/suidapp.container" % UNIT_DIRS[rootless]).rc != 0
        assert podman.run("podman container exists suidapp").rc != 0
        assert mounted_images(host) == {"root": "", ROOTLESS_USER: ""}
        # Control: allowed, the same image is deployed and runs; the role's output shows what is inside.
        rc, output = run_playbook("setuid_image.yml", "-e", json.dumps({"hc_owner": owner, "hc_setuid_ok": True}))
        assert rc == 0, output[-3000:]
        # The module's warning (folded to the terminal's width) names the image and the file.
        image = SETUID_IMAGE + (" of user %s" % ROOTLESS_USER if rootless else "")
        assert "[WARNING]: %s (used by suidapp) has setuid-root files: %s" % (image, TOOL) in " ".join(
            output.split()), output[-3000:]
        assert json.loads(podman.check("podman inspect suidapp"))[0]["State"]["Running"] is True
        allowed = unit_checksums(host, rootless)
        assert allowed != before
        # Turning the option off again, while the container runs the image: refused, the unit left as it was.
        rc, output = run_playbook("setuid_image.yml", "-e", json.dumps({"hc_owner": owner}))
        assert rc != 0 and "(containers suidapp) has setuid-root files: %s." % TOOL in output, output[-3000:]
        assert unit_checksums(host, rootless) == allowed
        assert mounted_images(host) == {"root": "", ROOTLESS_USER: ""}
    finally:
        rc, output = run_playbook("setuid_image.yml", "-e", json.dumps(
            {"hc_owner": owner, "hc_setuid_ok": True, "hc_suid_state": "absent"}))
        assert rc == 0, output[-3000:]
