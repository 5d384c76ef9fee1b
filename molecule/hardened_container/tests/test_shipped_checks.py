"""The controls of the shipped testinfra checks (tests/verify/podsec_checks.py): each fails on a container
weakened in exactly the setting it checks.

test_hardened_container.py runs them on the role's containers (they pass); here podman starts a baseline with
the role's settings by hand, which passes every check, and one container per weakened setting, which fails
the check of that setting with a message naming what is wrong. The trust check's control is in
molecule/trust (it needs the registry with signed images).
"""

import shlex

import pytest

from conftest import podsec_checks

testinfra_hosts = ["ansible://hardened-container-h1"]

SECRET_DIR = "/run/podsec-check-controls"
SECRET_VALUE = "ctl-planted-3e9b0d71c6a4"
HARDENED = ["--read-only", "--read-only-tmpfs=false", "--security-opt=no-new-privileges", "--cap-drop=all",
            "--userns=auto", "--user=10001", "--init", "-p", "127.0.0.1:18190:8080",
            "-v", "%s/token:/run/secrets/token:ro" % SECRET_DIR]
WORKLOAD = ["localhost/podsec/busybox:latest", "httpd", "-f", "-p", "8080", "-h", "/etc"]
# name: (the baseline's argument -> its replacement (a list, empty: dropped), the check that must fail, a phrase
# of its message). Each weakened container publishes its own loopback port (18191, ...) except ctl-allports.
WEAKENED = {
    "ctl-writable": ({"--read-only": []}, podsec_checks.assert_read_only, "writable root"),
    "ctl-newprivs": ({"--security-opt=no-new-privileges": []}, podsec_checks.assert_no_new_privileges, "NoNewPrivs 0"),
    "ctl-caps": ({"--cap-drop=all": []}, podsec_checks.assert_no_capabilities, "holds capabilities"),
    "ctl-root": ({"--user=10001": ["--user=0"]}, podsec_checks.assert_non_root_mapped_user, "runs as root inside"),
    "ctl-hostns": ({"--userns=auto": ["--userns=host"]}, podsec_checks.assert_non_root_mapped_user,
                   "shares the host's user ids"),
    "ctl-envsecret": ({"--init": ["--init", "--env=TOKEN=%s" % SECRET_VALUE]}, podsec_checks.assert_secrets_as_files,
                      "is in the environment"),
    "ctl-allports": ({"127.0.0.1:18190:8080": ["18199:8080"]}, podsec_checks.assert_ports_only_on_loopback,
                     "published beyond loopback: 0.0.0.0:18199"),
}


def podman_run(host, name, args):
    result = host.run("podman run -d --name %s %s" % (name, " ".join(shlex.quote(arg) for arg in args + WORKLOAD)))
    assert result.rc == 0, "%s: %s" % (name, result.stderr)


@pytest.fixture(scope="module")
def containers(host):
    host.run("install -d -m 0700 %s && printf %%s %s > %s/token", SECRET_DIR, SECRET_VALUE, SECRET_DIR)
    podman_run(host, "ctl-baseline", HARDENED)
    for port, name in enumerate(sorted(WEAKENED), start=18191):
        replace = dict(WEAKENED[name][0])
        replace.setdefault("127.0.0.1:18190:8080", ["127.0.0.1:%d:8080" % port])
        podman_run(host, name, [word for arg in HARDENED for word in replace.get(arg, [arg])])
    yield
    removed = host.run("podman rm -f -t 0 ctl-baseline %s" % " ".join(sorted(WEAKENED)))
    assert removed.rc == 0, removed.stderr
    host.run("rm -rf %s", SECRET_DIR)


def test_the_baseline_started_by_hand_passes_every_check(host, containers):
    podsec_checks.assert_hardened(host, "ctl-baseline", secrets=["token"])


@pytest.mark.parametrize("name", sorted(WEAKENED))
def test_control_the_check_of_the_weakened_setting_fails(host, containers, name):
    _replace, check, phrase = WEAKENED[name]
    args = (["token"],) if check is podsec_checks.assert_secrets_as_files else ()
    with pytest.raises(AssertionError) as failure:
        check(host, name, *args)
    assert phrase in str(failure.value), str(failure.value)
    assert "container %s (rootful)" % name in str(failure.value)


def test_control_a_secret_only_in_the_environment_is_no_file(host, containers):
    with pytest.raises(AssertionError, match=r"/run/secrets/absent is not a mounted file"):
        podsec_checks.assert_secrets_as_files(host, "ctl-envsecret", ["absent"])


def test_control_a_port_that_answers_on_another_address_fails_even_if_inspect_were_right(host, containers):
    """The connection half of the port check on its own: the weakened port answers on the host's address."""
    address = host.check_output("hostname -I").split()[0]
    assert podsec_checks.connects(host, address, 18199)
    assert not podsec_checks.connects(host, address, 18190)
