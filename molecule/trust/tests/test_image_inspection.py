"""What a user of container_posture checks: the posture scan looks inside the images of root's containers
(through podman image mount) and reports a setuid-root binary with its path, the image's root user, RUN label,
exposed port and volume; the plain test image, the control, gets none of these findings."""

import pytest

testinfra_hosts = ["ansible://trust_hosts"]

SETUID_IMAGE = "localhost/podsec/setuid:latest"
PLAIN_IMAGE = "localhost/podsec/busybox:latest"
RUN_LABEL = "podman run --privileged IMAGE"
LAB = "/root/image-lab"
CONTAINERFILE = """FROM localhost/podsec/busybox:latest
COPY --chmod=4755 tool /usr/local/bin/tool
LABEL RUN="%s"
EXPOSE 8080
VOLUME /data
USER root
""" % RUN_LABEL


@pytest.fixture
def containers(host):
    host.run("mkdir -p %s && printf 'not a real tool\\n' > %s/tool" % (LAB, LAB))
    host.run("cat > %s/Containerfile <<'EOF'\n%sEOF" % (LAB, CONTAINERFILE))
    built = host.run("podman build -q --pull=never --tag %s %s" % (SETUID_IMAGE, LAB))
    assert built.rc == 0, built.stderr
    for name, image in (("with-setuid", SETUID_IMAGE), ("plain", PLAIN_IMAGE)):
        started = host.run("podman run -d --name %s %s sleep 100000" % (name, image))
        assert started.rc == 0, started.stderr
    yield
    host.run("podman rm -f -t 0 with-setuid plain")
    host.run("podman rmi -i %s" % SETUID_IMAGE)
    host.run("rm -rf %s" % LAB)


def scan(host, inspect_images):
    result = host.ansible("podsec.hardening.container_posture",
                          "inspect_images=%s discover_users=false check_audit=false" % inspect_images, check=False)
    return result["ansible_facts"]["podsec_posture"]["findings"]


def test_the_posture_scan_reports_a_setuid_root_binary_inside_the_image_with_its_path(host, containers):
    findings = [item for item in scan(host, "true") if item["id"].startswith("image_")]
    by_target = {}
    for item in findings:
        by_target.setdefault(item["target"], {})[item["id"]] = item
    setuid = by_target["image %s" % SETUID_IMAGE]
    assert setuid["image_setuid_root"]["severity"] == "high"
    assert setuid["image_setuid_root"]["details"]["paths"] == ["/usr/local/bin/tool"]
    assert "/usr/local/bin/tool" in setuid["image_setuid_root"]["message"]
    assert "(used by with-setuid)" in setuid["image_setuid_root"]["message"]
    assert setuid["image_root_user"]["details"]["user"] == "root"
    assert setuid["image_declares"]["details"] == {"ports": ["8080/tcp"], "volumes": ["/data"]}
    # The RUN label as the scan reports it is the command podman's runlabel would run.
    assert RUN_LABEL in setuid["image_runlabels"]["message"]
    display = host.run("podman container runlabel --display RUN %s" % SETUID_IMAGE)
    assert display.rc == 0 and "--privileged" in display.stdout, display.stdout + display.stderr
    # Control: the test image (non-root user, no setuid file, no labels) has no image finding at all.
    assert "image %s" % PLAIN_IMAGE not in by_target
    # The images were unmounted again.
    assert host.run("podman image mount").stdout.strip() == ""
    # The setuid bit really is in the image: the scan read it, it did not guess.
    assert host.run("podman run --rm %s stat -c %%a /usr/local/bin/tool" % SETUID_IMAGE).stdout.strip() == "4755"


def test_without_inspect_images_the_scan_does_not_look_inside(host, containers):
    assert [item for item in scan(host, "false") if item["id"].startswith("image_")] == []
