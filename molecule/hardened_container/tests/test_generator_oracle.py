"""A sample of units the renderer accepts, read by the real Quadlet generator: podman gets exactly what was written.

The unit tests prove the property with an independent parser (tests/unit/.../test_quadlet_properties.py);
here accepted units from a seeded random sample of awkward texts (quotes, backslashes, %, $, spaces, ...) in
every string field go through this host's generator in one dry run, and the generated ExecStart= (read as
systemd reads it) carries each text as one argument, the service's [Unit] and [Install] keys as written.
"""

import os
import random
import sys

import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "tests", "output", "import-root"))
sys.path.insert(0, os.path.join(REPO, "tests"))

import unitfile_oracle as oracle  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (  # noqa: E402
    QuadletError, build_unit)

testinfra_hosts = ["ansible://hardened-container-h1"]

SAMPLE_DIR = "/var/tmp/hc-generator-sample"
PER_FIELD = 12
# The podman argument that carries each field's text in the generated ExecStart=, and the word it must be.
FLAG = {"environment": ("--env", lambda t: "VAR=" + t), "user": ("--user", str), "network": ("--network", str),
        "volumes[0].source": ("-v", lambda t: t + ":/data"), "volumes[0].target": ("-v", lambda t: "appdata:" + t),
        "extra_keys.Container.Label": ("--label", str), "healthcheck.cmd": ("--health-cmd", str),
        "podman_args": ("--hostname", str), "secrets[0].name": ("--secret", lambda t: t + ",type=mount,uid=10001,mode=0400"),
        "tmpfs[0].path": ("--tmpfs", lambda t: t + ":rw,noexec,nosuid,nodev,size=64m,mode=1777")}
SERVICE_KEY = {"description": ("Unit", "Description"), "extra_keys.Unit.Documentation": ("Unit", "Documentation"),
               "restart": ("Service", "Restart"), "wanted_by": ("Install", "WantedBy")}


def sample():
    """(unit name, field, text, unit text) for the accepted ones of a seeded random sample."""
    rng = random.Random(20261129)
    alphabet = [c for c in oracle.interesting_text() if c.isprintable()] + list("abcxyz/._-")
    accepted = []
    for field in sorted(oracle.FIELDS):
        # Random texts, and random texts around the field's harmless value (fields with a grammar, such as
        # restart or wanted_by, accept few random ones); the harmless value itself first.
        for index in range(PER_FIELD * 6):
            noise = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
            text = [oracle.BENIGN[field], noise, oracle.BENIGN[field] + noise, noise + oracle.BENIGN[field]][
                min(index, 1 + index % 3)]
            name = "s%d" % len(accepted)
            try:
                unit = build_unit(dict({"name": name, "image": "localhost/podsec/busybox:latest"},
                                       **oracle.FIELDS[field]["update"](text)), (5, 4))
            except QuadletError:
                continue
            accepted.append((name, field, text, unit))
            if sum(1 for item in accepted if item[1] == field) == PER_FIELD:
                break
    return accepted


def adjacent(words, flag, value):
    return any(words[i] == flag and words[i + 1] == value for i in range(len(words) - 1))


@pytest.fixture(scope="module")
def generated(host):
    units = sample()
    host.run("rm -rf %s && mkdir -p %s" % (SAMPLE_DIR, SAMPLE_DIR))
    for name, _field, _text, unit in units:
        host.run("cat > %s/%s.container <<'PODSEC_UNIT'\n%sPODSEC_UNIT" % (SAMPLE_DIR, name, unit))
    result = host.run("QUADLET_UNIT_DIRS=%s /usr/libexec/podman/quadlet -dryrun" % SAMPLE_DIR)
    host.run("rm -rf %s" % SAMPLE_DIR)
    assert result.rc == 0, result.stderr[-3000:]
    services = {}
    for part in ("\n" + result.stdout).split("\n---")[1:]:
        header, _, body = part.partition("---\n")
        services[header.replace(".service", "")] = body
    return units, services


def test_every_field_was_sampled(generated):
    units, _services = generated
    assert {field for _n, field, _t, _u in units} == set(oracle.FIELDS)


def test_the_generator_accepts_every_accepted_unit(generated):
    units, services = generated
    missing = [name for name, _f, _t, _u in units if name not in services]
    assert not missing, missing


def test_podman_receives_exactly_what_was_written(generated):
    units, services = generated
    problems = []
    for name, field, text, _unit in units:
        service = services[name]
        words = oracle.exec_start_words(service)
        if field in FLAG:
            flag, expected = FLAG[field]
            ok = adjacent(words, flag, expected(text))
        elif field == "command":
            ok = words[-2:] == ["sh", text]
        elif field == "image":
            ok = text in words
        else:
            ok = oracle.service_values(service, *SERVICE_KEY[field]) == [text]
        if not ok:
            problems.append((field, text, [w for w in words if "podman" not in w][:40]))
    assert not problems, problems
