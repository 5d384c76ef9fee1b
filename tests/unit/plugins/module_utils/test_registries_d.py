# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
import yaml

from ansible_collections.podsec.hardening.plugins.module_utils import _registries_d as rd


@pytest.mark.parametrize("name,fragment", [
    ("trust.yml", '".yml" files are silently ignored'),
    ("trust.conf", 'must end with ".yaml"'),
    ("../trust.yaml", "plain file name"),
    ("", "plain file name"),
])
def test_file_names(name, fragment):
    with pytest.raises(rd.RegistriesDError, match=fragment.replace(".", "\\.").replace("(", "\\(")):
        rd.validate_file_name(name)
    rd.validate_file_name("trust.yaml")


def test_build_and_render_round_trip():
    config = rd.build_config(
        {"lookaside": "file:///var/lib/containers/sigstore", "lookaside_staging": None, "use_sigstore_attachments": None},
        [{"namespace": "localhost:5000/trusted", "lookaside": "file:///srv/sigs", "lookaside_staging": None,
          "use_sigstore_attachments": True}])
    assert config == {"default-docker": {"lookaside": "file:///var/lib/containers/sigstore"},
                      "docker": {"localhost:5000/trusted": {"lookaside": "file:///srv/sigs", "use-sigstore-attachments": True}}}
    text = rd.render(config, "# header\n")
    assert text == (
        '# header\n'
        'default-docker:\n'
        '  lookaside: "file:///var/lib/containers/sigstore"\n'
        'docker:\n'
        '  "localhost:5000/trusted":\n'
        '    lookaside: "file:///srv/sigs"\n'
        '    use-sigstore-attachments: true\n')
    assert rd.parse(text, yaml, "x.yaml") == config
    assert rd.parse(text, None, "x.yaml") == config
    assert rd.render({}, "# h\n") == "# h\n{}\n"
    assert rd.render({"docker": {"quay.io": {}}}, "") == 'docker:\n  "quay.io": {}\n'
    assert yaml.safe_load(rd.render({"docker": {"quay.io": {}}}, "")) == {"docker": {"quay.io": {}}}


SUBSET_CASES = [
    "docker:\n  quay.io:\n    lookaside: https://sigs.example/x  # comment\n    use-sigstore-attachments: yes\n",
    "# leading comment\n---\ndefault-docker:\n  lookaside: 'file:///var/lib/containers/sigstore'\n"
    "  sigstore-staging: file:///s\ndocker:\n  \"registry.example.com:5000/ns\":\n      lookaside-staging: file:///x\n",
    "docker:\n  quay.io:\n  ghcr.io: {}\ndefault-docker:\n",
]


@pytest.mark.parametrize("text", SUBSET_CASES)
def test_subset_reader_agrees_with_pyyaml(text):
    assert rd.parse_subset(text, "f.yaml") == yaml.safe_load(text)


def test_subset_reader_refuses_what_it_cannot_read():
    with pytest.raises(rd.RegistriesDError, match="beyond the YAML subset"):
        rd.parse_subset("docker:\n  - quay.io\n", "f.yaml")
    with pytest.raises(rd.RegistriesDError, match='duplicate key "quay.io"'):
        rd.parse_subset("docker:\n  quay.io: {}\n  quay.io: {}\n", "f.yaml")


@pytest.mark.parametrize("default,namespaces,fragment", [
    (None, [{"namespace": "busybox", "lookaside": "file:///s"}], 'docker namespace "busybox"'),
    (None, [{"namespace": "quay.io", "lookaside": "/srv/sigs"}], 'docker namespace "quay.io", key "lookaside"'),
    (None, [{"namespace": "quay.io", "lookaside": "file://srv/sigs"}], "absolute path"),
    ({"lookaside_staging": "ftp://x"}, [], 'default-docker, key "lookaside-staging"'),
    (None, [{"namespace": "quay.io"}, {"namespace": "quay.io"}], "listed more than once"),
])
def test_invalid_input(default, namespaces, fragment):
    with pytest.raises(rd.RegistriesDError) as excinfo:
        rd.build_config(default, namespaces)
    assert fragment in str(excinfo.value)


def test_strict_and_lenient_validation():
    with pytest.raises(rd.RegistriesDError, match='unknown key "lookasid"'):
        rd.validate_config({"docker": {"quay.io": {"lookasid": "file:///x"}}})
    with pytest.raises(rd.RegistriesDError, match='"sigstore" is deprecated'):
        rd.validate_config({"docker": {"quay.io": {"sigstore": "file:///x"}}})
    # Other files are read like containers/image does: unknown and deprecated keys are tolerated.
    rd.validate_config({"docker": {"quay.io": {"sigstore": "file:///x", "x": 1}}, "other": 1}, strict=False)
    with pytest.raises(rd.RegistriesDError, match="use-sigstore-attachments"):
        rd.validate_config({"docker": {"quay.io": {"use-sigstore-attachments": "yes"}}}, strict=False)
    with pytest.raises(rd.RegistriesDError, match="b.yaml is not valid YAML"):
        rd.parse("docker: [", yaml, "b.yaml")


def test_conflicts_name_both_files(tmp_path):
    (tmp_path / "default.yaml").write_text("default-docker:\n  lookaside: file:///var/lib/containers/sigstore\n")
    (tmp_path / "quay.yaml").write_text("docker:\n  quay.io:\n    lookaside: https://sigs.example\n")
    (tmp_path / "ignored.yml").write_text("docker:\n  quay.io: {}\n")
    read, ignored = rd.other_yaml_files(str(tmp_path), "ours.yaml")
    assert read == [str(tmp_path / "default.yaml"), str(tmp_path / "quay.yaml")]
    assert ignored == [str(tmp_path / "ignored.yml")]
    others = dict((p, rd.parse(open(p).read(), yaml, p)) for p in read)
    ours = {"default-docker": {"lookaside": "file:///x"}, "docker": {"quay.io": {}, "ghcr.io": {}}}
    messages = rd.find_conflicts(ours, "/d/ours.yaml", others)
    assert messages == [
        "default-docker is already defined in %s; defining it in /d/ours.yaml too makes podman fail (\"defined both in\")"
        % (tmp_path / "default.yaml"),
        'docker namespace "quay.io" is already defined in %s; defining it in /d/ours.yaml too makes podman fail '
        '("defined both in")' % (tmp_path / "quay.yaml"),
    ]
    assert rd.find_conflicts({"docker": {"ghcr.io": {}}}, "/d/ours.yaml", others) == []
    assert rd.foreign_conflicts(others) == []


def test_foreign_conflicts_name_the_first_file_podman_read_and_the_second():
    others = {"/d/b.yaml": {"docker": {"quay.io": {}}, "default-docker": {"lookaside": "file:///b"}},
              "/d/a.yaml": {"docker": {"quay.io": {}, "ghcr.io": {}}},
              "/d/c.yaml": {"default-docker": {"lookaside": "file:///c"}, "docker": {"ghcr.io/x": {}}}}
    assert rd.foreign_conflicts(others) == [
        'docker namespace "quay.io" is defined both in /d/a.yaml and /d/b.yaml: podman already fails on every image '
        'that uses registries.d until one of them goes',
        "default-docker is defined both in /d/b.yaml and /d/c.yaml: podman already fails on every image that uses "
        "registries.d until one of them goes",
    ]
