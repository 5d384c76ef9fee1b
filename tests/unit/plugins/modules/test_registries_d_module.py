# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
import yaml

from ansible_collections.podsec.hardening.plugins.modules import registries_d
from ansible_collections.podsec.hardening.tests.unit.plugins.modules.utils import ExitJson, FailJson


@pytest.fixture
def run(module_runner):
    def _run(args, check_mode=False, diff=False):
        return module_runner(registries_d.main, args, check_mode, diff, expect=(ExitJson, FailJson))

    return _run


@pytest.fixture
def regd(tmp_path):
    """A registries.d directory (the module writes only into a directory of that name)."""
    directory = tmp_path / "registries.d"
    directory.mkdir()
    return directory


def args_for(directory, **extra):
    args = {"name": "podsec-trust.yaml", "directory": str(directory), "namespaces": [
        {"namespace": "localhost:5000/trusted", "lookaside": "file:///var/lib/containers/sigstore",
         "use_sigstore_attachments": True}]}
    args.update(extra)
    return args


@pytest.mark.parametrize("with_pyyaml", [True, False], ids=["pyyaml", "subset-reader"])
def test_create_idempotent_check_mode_and_absent(run, tmp_path, monkeypatch, with_pyyaml):
    if not with_pyyaml:
        monkeypatch.setattr(registries_d, "yaml", None)
    directory = tmp_path / "registries.d"
    result = run(args_for(directory), check_mode=True, diff=True)
    assert result["changed"] and not directory.exists()
    assert "use-sigstore-attachments: true" in result["diff"]["after"]
    result = run(args_for(directory))
    path = directory / "podsec-trust.yaml"
    assert result["changed"] and path.exists()
    assert yaml.safe_load(path.read_text()) == {"docker": {"localhost:5000/trusted": {
        "lookaside": "file:///var/lib/containers/sigstore", "use-sigstore-attachments": True}}}
    assert path.read_text().startswith("# Managed by Ansible")
    content = path.read_bytes()
    assert run(args_for(directory))["changed"] is False
    assert path.read_bytes() == content
    assert run(args_for(directory, state="absent"), check_mode=True)["changed"] is True and path.exists()
    assert run(args_for(directory, state="absent"))["changed"] is True and not path.exists()
    assert run(args_for(directory, state="absent"))["changed"] is False


@pytest.mark.parametrize("with_pyyaml", [True, False], ids=["pyyaml", "subset-reader"])
def test_conflict_with_another_file_fails_naming_both(run, regd, monkeypatch, with_pyyaml):
    if not with_pyyaml:
        monkeypatch.setattr(registries_d, "yaml", None)
    (regd / "other.yaml").write_text("docker:\n  localhost:5000/trusted:\n    lookaside: file:///srv\n")
    result = run(args_for(regd))
    assert result["failed"]
    assert str(regd / "other.yaml") in result["msg"] and str(regd / "podsec-trust.yaml") in result["msg"]
    assert not (regd / "podsec-trust.yaml").exists()


def test_clash_between_two_other_files_is_reported_and_ours_still_written(run, regd):
    (regd / "a.yaml").write_text("docker:\n  quay.io:\n    lookaside: file:///a\n")
    (regd / "b.yaml").write_text("docker:\n  quay.io:\n    lookaside: file:///b\n")
    result = run(args_for(regd))
    assert not result["failed"] and (regd / "podsec-trust.yaml").exists()
    assert result["foreign_conflicts"] == [
        'docker namespace "quay.io" is defined both in %s and %s: podman already fails on every image that uses '
        'registries.d until one of them goes' % (regd / "a.yaml", regd / "b.yaml")]
    assert result["foreign_conflicts"][0] + " (files this task does not manage)" in result["warnings"]


def test_yml_name_refused_and_yml_neighbours_reported(run, regd):
    result = run(args_for(regd, name="trust.yml"))
    assert result["failed"] and "must end with \".yaml\"" in result["msg"]
    (regd / "old.yml").write_text("docker: {}\n")
    result = run(args_for(regd))
    assert result["ignored_files"] == [str(regd / "old.yml")]
    assert any("only *.yaml files are read" in w for w in result["warnings"])


def test_unreadable_directory_is_reported(run, tmp_path):
    directory = tmp_path / "registries.d"
    directory.mkdir(mode=0o700)
    directory.chmod(0o700)
    result = run(args_for(directory))
    assert any("every rootless podman pull fails" in w for w in result["warnings"])
    directory.chmod(0o755)
    assert not any("rootless" in w for w in run(args_for(directory))["warnings"])


# ------------------------------------------------------------------ issue 16: names, directory, values, encoding

@pytest.mark.parametrize("extra, fragment", [
    ({"name": "trust\n.yaml"}, "name: control character \\x0a"),
    ({"name": "trust\x00.yaml"}, "name: control character \\x00"),
    ({"name": "t" * 300 + ".yaml"}, "name: file name is longer than 255 bytes"),
    ({"namespaces": [{"namespace": "quay.io/podsec\n", "lookaside": "https://sigs.example.com"}]},
     "namespaces[0].namespace: control character \\x0a"),
    ({"namespaces": [{"namespace": "quay.io/podsec", "lookaside": "https://sigs.example.com/\x07x"}]},
     "namespaces[0].lookaside: control character \\x07"),
    ({"namespaces": [{"namespace": "quay.io/podsec", "lookaside": "https://sigs example.com"}]},
     "contains whitespace"),
    ({"namespaces": [{"namespace": "quay.io/podsec", "lookaside": "https:///sigs"}]}, "has no host"),
    ({"default_docker": {"lookaside": "file:///srv/\ufffe"}}, "character U+FFFE cannot be written"),
])
def test_malformed_values_are_refused_naming_the_field(run, regd, extra, fragment):
    result = run(args_for(regd, **extra))
    assert result["failed"] and fragment in result["msg"], result
    assert "exception" not in result
    assert list(regd.iterdir()) == []


def test_the_directory_cannot_leave_registries_d(run, tmp_path, regd):
    target = tmp_path / "ssh"
    target.mkdir()
    result = run(args_for(str(regd) + "/../ssh"))
    assert result["failed"] and "directory: %s is not a registries.d directory" % target in result["msg"]
    assert list(target.iterdir()) == []
    link = tmp_path / "elsewhere" / "registries.d"
    link.parent.mkdir()
    link.symlink_to(target)
    result = run(args_for(link))
    assert result["failed"] and str(target) in result["msg"] and list(target.iterdir()) == []
    # control: the registries.d directory itself is written
    assert run(args_for(regd))["failed"] is False and (regd / "podsec-trust.yaml").exists()


def test_non_bmp_text_is_written_as_utf8_that_yaml_reads_back(run, regd):
    url = "file:///srv/sigstore/\U0001F512"
    result = run(args_for(regd, namespaces=[{"namespace": "quay.io/podsec", "lookaside": url}]))
    assert not result["failed"], result
    raw = (regd / "podsec-trust.yaml").read_bytes()
    assert "\U0001F512".encode("utf-8") in raw and b"\\ud83d" not in raw
    assert yaml.safe_load(raw.decode("utf-8"))["docker"]["quay.io/podsec"]["lookaside"] == url
