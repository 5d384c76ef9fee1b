"""The collection's podman version table checked against the REAL Quadlet generators of the test bed.

_quadlet.KEY_MIN_VERSION says from which podman a [Container] key is rendered natively (older podman gets
the PodmanArgs fallback or a refusal); the unit tests only compare the output with that same table. Here
each cached root file system's own generator (`quadlet -dryrun`, run in the root file system by chroot)
judges: podman 5.4 (trixie), 5.8 (sid) and 4.3 (bookworm, no Quadlet at all).

- every key of the table is accepted natively iff the table says that podman has it;
- units the collection renders for that podman, with every version-gated option set, are accepted, both
  in their native form and in the PodmanArgs fallback form of the oldest supported podman (4.4);
- bookworm's podman is older than QUADLET_MIN_VERSION and has no generator.

Runs as root on this machine (it builds the root file systems once): `python -m pytest tests/testbed`.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import pytest

# tests/collection_env.sh links this checkout as ansible_collections/podsec/hardening there.
sys.path.insert(0, os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0])

from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    KEY_MIN_VERSION,
    QUADLET_MIN_VERSION,
    build_unit,
    parse_version,
)  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = "usr/libexec/podman/quadlet"
IMAGE = "localhost/podsec/busybox:latest"
# One valid value per version-gated key (what a user would write; a line may bring a key it needs).
SAMPLES = {
    "AddCapability": "CHOWN", "Annotation": "a=b", "ContainerName": "probe", "DropCapability": "all",
    "Environment": "A=b", "Exec": "sleep 1", "ExposeHostPort": "8080", "Group": "10001\nUser=10001", "Image": IMAGE,
    "Label": "a=b", "Network": "none", "NoNewPrivileges": "true", "Notify": "false", "PodmanArgs": "--init",
    "PublishPort": "127.0.0.1:8080:8080", "ReadOnly": "true", "RunInit": "true",
    "SeccompProfile": "/usr/share/containers/seccomp.json", "User": "10001", "VolatileTmp": "true",
    "Volume": "/srv/data:/data:ro", "HealthCmd": "true", "HealthInterval": "30s", "HealthRetries": "3",
    "HealthStartPeriod": "5s", "HealthTimeout": "5s", "Mount": "type=tmpfs,destination=/cache",
    "Secret": "s,type=mount,mode=0400", "SecurityLabelDisable": "true", "SecurityLabelFileType": "container_file_t",
    "SecurityLabelLevel": "s0:c1,c2", "SecurityLabelType": "container_t", "Tmpfs": "/tmp:rw,size=64m",
    "UserNS": "auto", "AutoUpdate": "local", "Mask": "/proc/kcore", "Pull": "never",
    "Sysctl": "net.ipv4.ip_unprivileged_port_start=80", "Unmask": "/proc/kcore", "PidsLimit": "256",
    "ShmSize": "64m", "Ulimit": "nofile=1024:1024", "GlobalArgs": "--log-level=info", "ReadOnlyTmpfs": "false",
    "Memory": "256m", "ReloadCmd": "/bin/true", "ReloadSignal": "SIGHUP", "Retry": "3", "RetryDelay": "5s",
    "HttpProxy": "false", "AppArmor": "unconfined", "Pod": "probe-pod.pod",
}
# Units a sample refers to, which the generator must find beside the container (a Pod= without its .pod unit
# is refused whatever the version).
COMPANIONS = {"Pod": {"probe-pod.pod": "[Pod]\n"}}
# Everything the collection renders that is version-gated (extra_keys for the keys without an option).
FULL_SPEC = {
    "name": "probe", "image": IMAGE, "userns": "auto", "memory": "256m", "pids_limit": 256,
    "tmpfs": [{"path": "/run", "size": "8m"}], "security_label_level": "s0:c1,c2",
    "secrets": [{"name": "db_password"}], "healthcheck": {"cmd": "true", "interval": "30s", "retries": 3},
}


def rootfs(suite):
    result = subprocess.run(["bash", os.path.join(HERE, "build_rootfs.sh"), suite], capture_output=True,
                            text=True, check=True, timeout=1800)
    return result.stdout.strip()


def podman_version(root):
    """The installed podman package's version (podman itself needs /proc, which the chroot lacks)."""
    out = subprocess.run(["chroot", root, "dpkg-query", "-W", "-f", "${Version}", "podman"], capture_output=True,
                         text=True, check=True).stdout
    return parse_version(out)


def dry_run(root, units):
    """Run the root file system's own generator over ``units`` (name -> text); return (rc, stdout, stderr).

    The units go to a scratch directory inside the root file system that is removed afterwards, so the
    cached tree is left as it was."""
    scratch = tempfile.mkdtemp(prefix="podsec-quadlet-probe-", dir=os.path.join(root, "tmp"))
    try:
        for name, text in units.items():
            with open(os.path.join(scratch, name), "w") as handle:
                handle.write(text)
        inside = "/tmp/" + os.path.basename(scratch)
        result = subprocess.run(["chroot", root, "env", "QUADLET_UNIT_DIRS=" + inside, "/" + GENERATOR, "-dryrun"],
                                capture_output=True, text=True, timeout=120)
        return result.returncode, result.stdout, result.stderr
    finally:
        shutil.rmtree(scratch)


def run_arguments(execstart):
    """``--flag value`` and ``--flag=value`` of a generated ExecStart, all as ``--flag=value``."""
    words = shlex.split(execstart.split("=", 1)[1])
    arguments = []
    for index, word in enumerate(words):
        if word.startswith("--"):
            following = words[index + 1] if index + 1 < len(words) else ""
            takes_value = "=" not in word and following and not following.startswith("-")
            arguments.append(word + "=" + following if takes_value else word)
    return arguments


@pytest.fixture(scope="module", params=["trixie", "sid"])
def host(request):
    root = rootfs(request.param)
    return root, podman_version(root)


def test_the_suites_carry_the_podman_versions_the_docs_name(host):
    root, version = host
    assert version in ((5, 4), (5, 8)), version
    assert os.path.exists(os.path.join(root, GENERATOR))


def test_every_gated_key_is_native_iff_the_table_says_so(host):
    root, version = host
    assert set(SAMPLES) == set(KEY_MIN_VERSION), "a key of the table has no sample value here"
    wrong = []
    for key, minimum in sorted(KEY_MIN_VERSION.items()):
        text = "[Container]\nImage=%s\n%s=%s\n" % (IMAGE, key, SAMPLES[key]) if key != "Image" else \
            "[Container]\nImage=%s\n" % IMAGE
        rc, out, err = dry_run(root, dict(COMPANIONS.get(key, {}), **{"probe.container": text}))
        accepted = rc == 0 and "---probe.service---" in out
        unsupported = "unsupported key '%s'" % key in err
        if accepted == unsupported:  # neither accepted nor refused for this very key: a bad sample
            wrong.append("%s: sample refused for another reason: %s" % (key, err.strip()))
        elif accepted != (version >= minimum):
            wrong.append("%s: table says %d.%d, podman %d.%d generator %s it"
                         % ((key,) + minimum + version + ("accepts" if accepted else "refuses",)))
    assert wrong == []


def test_rendered_units_pass_the_real_generator_natively_and_in_the_fallback_form(host):
    root, version = host
    native = build_unit(dict(FULL_SPEC), version)
    fallback = build_unit(dict(FULL_SPEC), QUADLET_MIN_VERSION)
    assert "PodmanArgs=" in fallback and "\nMemory=" not in fallback
    for text in (native, fallback):
        rc, out, err = dry_run(root, {"probe.container": text})
        assert rc == 0 and "---probe.service---" in out, err
        execstart = [line for line in out.splitlines() if line.startswith("ExecStart=")][0]
        arguments = run_arguments(execstart)
        for expected in ("--userns=auto", "--memory=256m", "--pids-limit=256", "--tmpfs=/run", "--read-only",
                         "--security-opt=label=level:s0:c1,c2", "--secret=db_password", "--health-cmd=true"):
            assert [arg for arg in arguments if arg == expected or arg.startswith((expected + ",", expected + ":"))], \
                (expected, execstart)
    if version >= KEY_MIN_VERSION["Memory"]:
        assert "\nMemory=256m\n" in native and "--memory" not in native


def test_podman_without_quadlet_has_no_generator():
    root = rootfs("bookworm")
    version = podman_version(root)
    assert version == (4, 3) and version < QUADLET_MIN_VERSION
    assert not os.path.exists(os.path.join(root, GENERATOR))
