# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _selinux_label as sl
from ansible_collections.podsec.hardening.plugins.module_utils._selinux_label import LabelError


# ----------------------------------------------------------------------------------- path refusals

REFUSED = [
    # (path, words the message must contain)
    ("/", "podman refuses to relabel"),
    ("/etc", "podman refuses to relabel"),
    ("/etc/pki", "podman refuses to relabel"),
    ("/etc/shadow", "podman refuses to relabel"),
    ("/home", "podman refuses to relabel"),
    ("/root", "podman refuses to relabel"),
    ("/usr", "podman refuses to relabel"),
    ("/usr/local/data", "below /usr"),
    ("/usr/share/containers", "below /usr"),
    ("/var", "podman refuses to relabel"),
    ("/var/lib", "podman refuses to relabel"),
    ("/var/log", "podman refuses to relabel"),
    ("/tmp", "podman refuses to relabel"),
    ("/srv", "podman refuses to relabel"),
    ("/opt", "podman refuses to relabel"),
    ("/run", "podman refuses to relabel"),
    ("/home/podsec", "home directory"),
    ("srv/data", "not absolute"),
    ("", "absolute path"),
    ("/srv/data/", "not normalised"),
    ("/srv//data", "not normalised"),
    ("/srv/./data", "not normalised"),
    ("/srv/other/../data", "not normalised"),
    ("/srv/my data", "whitespace"),
    ("/srv/a\nb", "whitespace"),
]


@pytest.mark.parametrize("path,words", REFUSED)
def test_refused_paths(path, words):
    with pytest.raises(LabelError) as exc:
        sl.validate_path(path, home_dirs=["/home/podsec", "/root"])
    assert words in str(exc.value)
    if path.startswith("/") and words != "whitespace":
        assert path.rstrip("/") in str(exc.value) or path in str(exc.value)


@pytest.mark.parametrize("path", [
    "/srv/containers/web", "/var/lib/containers/vol", "/home/podsec/data", "/tmp/x", "/data", "/usrdata",
    "/srv/a.b[1]+(x)",
])
def test_accepted_paths(path):
    assert sl.validate_path(path, home_dirs=["/home/podsec"]) == path


def test_forbidden_list_matches_go_selinux():
    # opencontainers/selinux go-selinux/selinux_linux.go chcon() excludePaths, one by one.
    assert sl.FORBIDDEN_PATHS == {
        "/", "/bin", "/boot", "/dev", "/etc", "/etc/passwd", "/etc/pki", "/etc/shadow", "/home", "/lib",
        "/lib64", "/media", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr",
        "/var", "/var/lib", "/var/log",
    }


def test_validate_paths_refuses_duplicates_and_names_it():
    with pytest.raises(LabelError, match="/srv/a is listed twice"):
        sl.validate_paths(["/srv/a", "/srv/b", "/srv/a"])
    assert sl.validate_paths(["/srv/b", "/srv/a"]) == ["/srv/b", "/srv/a"]


# ------------------------------------------------------------------------------ level derivation

LEVEL_RE = re.compile(r"^s0:c(\d+),c(\d+)$")


def test_derive_level_is_stable_and_well_formed():
    first = sl.derive_level("web")
    assert first == sl.derive_level("web")
    match = LEVEL_RE.match(first)
    assert match
    low, high = int(match.group(1)), int(match.group(2))
    assert 0 <= low < high <= 1023


def test_derive_level_known_values():
    # Pinned literals: a change of the algorithm would move every existing private volume and the
    # containers would lose access, so it must fail here first.
    assert sl.derive_level("web") == "s0:c172,c520"
    assert sl.derive_level("db") == "s0:c90,c908"
    assert sl.derive_level("web", taken={"s0:c172,c520"}) == "s0:c513,c660"


def test_derive_level_distinct_for_many_owners():
    levels = [sl.derive_level("container-%d" % i) for i in range(200)]
    # Without any taken set a birthday collision among 200 owners over 523776 pairs is unlikely but
    # possible; the registry handles it. Here: almost all distinct, and every one well formed.
    assert len(set(levels)) >= 199
    assert all(LEVEL_RE.match(lvl) for lvl in levels)


def test_derive_level_avoids_taken_and_is_deterministic():
    first = sl.derive_level("web")
    second = sl.derive_level("web", taken={first})
    assert second != first
    assert second == sl.derive_level("web", taken={first})
    third = sl.derive_level("web", taken={first, second})
    assert third not in (first, second)


def test_derive_level_never_reserved():
    reserved = next(iter(sl.RESERVED_LEVELS))
    assert reserved == "s0:c1022,c1023"
    for i in range(300):
        assert sl.derive_level("o%d" % i) != reserved


def test_derive_level_refuses_empty_owner():
    with pytest.raises(LabelError, match="owner"):
        sl.derive_level("")


def test_choose_level_registered_owner_keeps_level():
    registry = {"web": "s0:c1,c2"}
    assert sl.choose_level("web", registry, rule_levels={"s0:c1,c2"}) == ("s0:c1,c2", False)


def test_choose_level_collision_resolved_against_registry_and_rules():
    web = sl.derive_level("web")
    # Another owner already holds web's natural level: web must get a different one, deterministically.
    level, register = sl.choose_level("web", {"db": web}, rule_levels=())
    assert register is True
    assert level != web
    assert level == sl.derive_level("web", taken={web})
    # A foreign rule (no owner registered) holding the level counts as taken too.
    assert sl.choose_level("web", {}, rule_levels={web, "s0"})[0] == level


def test_two_owners_never_share_level_even_when_hashes_collide(monkeypatch):
    # Force every owner's hash to the same first candidate.
    real = sl.derive_level

    def colliding(owner, taken=()):
        return real("same", taken)

    monkeypatch.setattr(sl, "derive_level", colliding)
    registry = {}
    for owner in ("a", "b", "c"):
        level, register = sl.choose_level(owner, registry, ())
        assert register
        registry[owner] = level
    assert len(set(registry.values())) == 3


def test_choose_level_explicit_categories():
    assert sl.choose_level("web", {}, (), categories=(12, 345)) == ("s0:c12,c345", True)
    assert sl.choose_level(None, {}, (), categories=(12, 345)) == ("s0:c12,c345", False)
    with pytest.raises(LabelError, match="already used by owner 'db'"):
        sl.choose_level("web", {"db": "s0:c12,c345"}, (), categories=(12, 345))


def test_choose_level_private_needs_owner_or_categories():
    with pytest.raises(LabelError, match="needs owner"):
        sl.choose_level(None, {}, ())


@pytest.mark.parametrize("value,expected", [
    ("c12,c345", (12, 345)),
    (["c345", "c12"], (12, 345)),
    (["c0", "c1023"], (0, 1023)),
])
def test_parse_categories(value, expected):
    assert sl.parse_categories(value) == expected


@pytest.mark.parametrize("value,words", [
    ("c12", "exactly two"),
    ("c1,c1", "exactly two"),
    ("c1,c2,c3", "exactly two"),
    ("c1,c1024", "c0 .. c1023"),
    ("c1,12", "invalid MCS category '12'"),
    ("c1022,c1023", "reserved by podman"),
])
def test_parse_categories_refused(value, words):
    with pytest.raises(LabelError, match=re.escape(words)):
        sl.parse_categories(value)


# ---------------------------------------------------------------------------------------- parsing

def test_parse_context_from_xattr_bytes():
    assert sl.parse_context(b"system_u:object_r:container_file_t:s0:c1,c2\x00") == {
        "user": "system_u", "role": "object_r", "type": "container_file_t", "level": "s0:c1,c2",
    }
    assert sl.parse_context("unconfined_u:object_r:var_t:s0")["level"] == "s0"
    assert sl.parse_context("u:r:t")["level"] == ""
    assert sl.parse_context(None) is None
    assert sl.parse_context(b"") is None
    assert sl.parse_context("<<None>>") is None
    with pytest.raises(LabelError):
        sl.parse_context("garbage")


@pytest.mark.parametrize("level,expected", [
    ("s0", ()),
    ("s0:c5,c3", (3, 5)),
    ("s0:c0.c3", (0, 1, 2, 3)),
    ("s0:c1,c4.c5", (1, 4, 5)),
])
def test_parse_level(level, expected):
    assert sl.parse_level(level) == expected


@pytest.mark.parametrize("level", ["s1:c1,c2", "s0-s0:c0.c1023", "s0:c3.c1", "s0:x1"])
def test_parse_level_refused(level):
    with pytest.raises(LabelError):
        sl.parse_level(level)


# Real `semanage fcontext -l -C` output ends rule lines with a space; kept here explicitly.
SEMANAGE_OUTPUT = "\n".join([
    "SELinux fcontext                                   type               Context",
    "",
    "/srv/vol1(/.*)?                                    all files          system_u:object_r:container_file_t:s0:c1,c2 ",
    "/srv/a\\.b(/.*)?                                    all files          system_u:object_r:container_file_t:s0 ",
    "/srv/web                                           directory          system_u:object_r:httpd_sys_content_t:s0 ",
    "/srv/none                                          all files          <<None>>",
    "/srv/other(/.*)?                                   all files          system_u:object_r:var_t:s0-s0:c0.c1023 ",
    "",
    "SELinux Local fcontext Equivalence ",
    "",
    "/srv/equiv = /var/www",
    "",
])


def test_parse_semanage_fcontext():
    rules = sl.parse_semanage_fcontext(SEMANAGE_OUTPUT)
    assert rules == [
        {"regex": "/srv/vol1(/.*)?", "ftype": "all files",
         "context": "system_u:object_r:container_file_t:s0:c1,c2"},
        {"regex": "/srv/a\\.b(/.*)?", "ftype": "all files", "context": "system_u:object_r:container_file_t:s0"},
        {"regex": "/srv/web", "ftype": "directory", "context": "system_u:object_r:httpd_sys_content_t:s0"},
        {"regex": "/srv/none", "ftype": "all files", "context": None},
        {"regex": "/srv/other(/.*)?", "ftype": "all files", "context": "system_u:object_r:var_t:s0-s0:c0.c1023"},
    ]
    assert sl.parse_semanage_fcontext("") == []


def test_private_levels_skips_shared_and_unparsable():
    contexts = [r["context"] for r in sl.parse_semanage_fcontext(SEMANAGE_OUTPUT)]
    assert sl.private_levels(contexts) == {"s0:c1,c2"}


# ---------------------------------------------------------------------------------------- render

@pytest.mark.parametrize("path,recurse,expected", [
    ("/srv/vol1", True, "/srv/vol1(/.*)?"),
    ("/srv/vol1", False, "/srv/vol1"),
    ("/srv/a.b", True, "/srv/a\\.b(/.*)?"),
    ("/srv/x+y[1](2){3}^$|*?", True, "/srv/x\\+y\\[1\\]\\(2\\)\\{3\\}\\^\\$\\|\\*\\?(/.*)?"),
    ("/srv/a-b_c", True, "/srv/a-b_c(/.*)?"),
])
def test_fcontext_regex(path, recurse, expected):
    regex = sl.fcontext_regex(path, recurse)
    assert regex == expected
    assert sl.path_from_regex(regex) == path
    # The regex matches the path and (when recursive) everything below it, and nothing beside it.
    assert re.fullmatch(regex, path)
    assert bool(re.fullmatch(regex, path + "/f")) is recurse
    assert not re.fullmatch(regex, path + "x/f")


def test_path_from_regex_rejects_foreign_regexes():
    assert sl.path_from_regex("/srv/web/.*") is None
    assert sl.path_from_regex("/srv/(a|b)") is None
    assert sl.path_from_regex("relative(/.*)?") is None


def test_render_level_and_context():
    assert sl.render_level(()) == "s0"
    assert sl.render_level((345, 12)) == "s0:c12,c345"
    assert sl.render_context("container_file_t", "s0:c1,c2") == "system_u:object_r:container_file_t:s0:c1,c2"


def test_registry_round_trip_and_errors():
    data = sl.render_registry({"web": "s0:c2,c9", "db": "s0:c1,c5"})
    assert data.endswith(b"\n")
    assert list(json.loads(data)["owners"]) == ["db", "web"]
    assert sl.parse_registry(data.decode()) == {"db": "s0:c1,c5", "web": "s0:c2,c9"}
    assert sl.parse_registry(None) == {}
    assert sl.parse_registry("") == {}
    with pytest.raises(LabelError, match="not valid JSON"):
        sl.parse_registry("{")
    with pytest.raises(LabelError, match="owners"):
        sl.parse_registry('{"x": 1}')
    with pytest.raises(LabelError, match="'web' has level 's0'"):
        sl.parse_registry('{"owners": {"web": "s0"}}')


def test_render_state():
    text = sl.render_state({"/srv/a(/.*)?": "ctx", "/srv/b(/.*)?": None}, {"/srv/a": "all files labelled ctx"})
    assert text == "fcontext /srv/a(/.*)? ctx\nfcontext /srv/b(/.*)? (none)\nlabel /srv/a all files labelled ctx\n"
    assert sl.render_state({}, {}) == ""
