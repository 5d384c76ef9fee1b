# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""An independent reader of systemd unit files and Quadlet values, for the property tests of the renderer.

It shares no code with plugins/module_utils/_quadlet.py: it reads a unit as systemd does (lines split at
"\\n" only, comments, sections, "KEY=VALUE" with white space stripped, a final backslash joining the next
line), undoes the escapes systemd applies to every value (``%%``; in ``[Container]``, whose values Quadlet
copies into ExecStart=, also ``$$``) and splits the keys Quadlet splits into words as systemd splits a
command line. A lone ``%`` or ``$`` means systemd would expand something: the value would not mean what
was written, so reading it fails. The molecule scenario hardened_container uses the same reader on the
real generator's output.
"""

from __future__ import annotations

import re

# Quadlet keys whose value is split into words (quotes and backslash escapes) before podman sees it.
WORD_KEYS = ("Exec", "Environment", "PodmanArgs", "Label", "Annotation")


class Expansion(ValueError):
    """systemd would expand a specifier or a variable in this value."""


def parse_unit(text):
    """``[(section, key, raw value)]`` in file order, as systemd reads the unit."""
    entries, section, pending = [], None, None
    for line in text.split("\n"):
        if pending is not None:
            line, pending = pending + line, None
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.endswith("\\"):
            pending = stripped[:-1] + " "
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            continue
        key, sep, value = stripped.partition("=")
        if not sep or section is None:
            raise ValueError("not a KEY=VALUE line in a section: %r" % line)
        entries.append((section, key.strip(), value.strip()))
    return entries


def unescape(value, marker):
    """``value`` with ``marker marker`` read as one literal marker; a lone marker raises Expansion."""
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == marker:
            if value[index + 1:index + 2] != marker:
                raise Expansion("%r would expand %r" % (value, value[index:index + 2]))
            index += 1
        out.append(char)
        index += 1
    return "".join(out)


def split_words(value):
    """Split like systemd's command-line parser: white space separates, quotes group, backslash escapes."""
    words, current, quote, index, in_word = [], [], None, 0, False
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", " ": " "}
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            following = value[index + 1]
            hex_digits = value[index + 2:index + 4]
            if following == "x" and len(hex_digits) == 2 and all(c in "0123456789abcdefABCDEF" for c in hex_digits):
                # \xNN (systemd.syntax(7)): podman 5.8's generator writes a space inside a word as \x20.
                current.append(chr(int(hex_digits, 16)))
                in_word = True
                index += 4
                continue
            if following not in escapes:
                raise ValueError("escape \\%s is not read literally" % following)
            current.append(escapes[following])
            in_word = True
            index += 2
            continue
        if quote:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'":
            quote, in_word = char, True
        elif char.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
        index += 1
    if quote:
        raise ValueError("unterminated quote in %r" % value)
    if in_word:
        words.append("".join(current))
    return words


def meaning(section, key, raw):
    """What the program receives from one value: a string, or a list of words for a word-split key."""
    value = unescape(raw, "%")
    if section == "Container":
        if key in WORD_KEYS:
            return [unescape(word, "$") for word in split_words(value)]
        return unescape(value, "$")
    return value


def read(text):
    """``{(section, key): [meaning, ...]}`` of a rendered unit."""
    result = {}
    for section, key, raw in parse_unit(text):
        result.setdefault((section, key), []).append(meaning(section, key, raw))
    return result


def expand(value, marker):
    """``value`` as systemd expands it: ``marker marker`` is one literal marker, any other use of the marker
    (a specifier such as ``%t``, a variable) becomes the placeholder ``<marker:name>``."""
    pattern = r"%s(%s|\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|.)" % (re.escape(marker), re.escape(marker))
    return re.sub(pattern, lambda m: marker if m.group(1) == marker else "<%s:%s>" % (marker, m.group(1)), value)


def exec_start_words(service_text):
    """The podman command line of the generator's ``ExecStart=``, as systemd hands it to podman (the generator's
    own specifiers, such as ``%t/%N.cid``, become placeholders)."""
    for section, key, raw in parse_unit(service_text):
        if section == "Service" and key == "ExecStart":
            return [expand(word, "$") for word in split_words(expand(raw, "%"))]
    raise ValueError("no ExecStart= in the generated service")


def service_values(service_text, section, key):
    """The values of one key of a generated service, as systemd reads them."""
    return [expand(raw, "%") for entry_section, entry_key, raw in parse_unit(service_text)
            if (entry_section, entry_key) == (section, key)]


# One field of a container specification at a time: how to put a text into the spec, and which key(s) of the
# unit must then carry it, with the meaning systemd and Quadlet give them.
def _field(spec_update, key, expected):
    return {"update": spec_update, "key": key, "expected": expected}


FIELDS = {
    "description": _field(lambda t: {"description": t}, ("Unit", "Description"), lambda t: [t]),
    "image": _field(lambda t: {"image": t}, ("Container", "Image"), lambda t: [t]),
    "user": _field(lambda t: {"user": t}, ("Container", "User"), lambda t: [t]),
    "network": _field(lambda t: {"network": t}, ("Container", "Network"), lambda t: [t]),
    "environment": _field(lambda t: {"environment": {"VAR": t}}, ("Container", "Environment"),
                          lambda t: [["VAR=" + t]]),
    "command": _field(lambda t: {"command": ["sh", t]}, ("Container", "Exec"), lambda t: [["sh", t]]),
    "volumes[0].source": _field(lambda t: {"volumes": [{"source": t, "target": "/data"}]}, ("Container", "Volume"),
                                lambda t: [t + ":/data"]),
    "volumes[0].target": _field(lambda t: {"volumes": [{"source": "appdata", "target": t}]},
                                ("Container", "Volume"), lambda t: ["appdata:" + t]),
    "extra_keys.Container.Label": _field(lambda t: {"extra_keys": {"Container": {"Label": t}}},
                                         ("Container", "Label"), lambda t: [[t]]),
    "extra_keys.Unit.Documentation": _field(lambda t: {"extra_keys": {"Unit": {"Documentation": t}}},
                                            ("Unit", "Documentation"), lambda t: [t]),
    "restart": _field(lambda t: {"restart": t}, ("Service", "Restart"), lambda t: [t]),
    "wanted_by": _field(lambda t: {"wanted_by": t}, ("Install", "WantedBy"), lambda t: [t]),
    "secrets[0].name": _field(lambda t: {"secrets": [{"name": t}]}, ("Container", "Secret"),
                              lambda t: [t + ",type=mount,uid=10001,mode=0400"]),
    "healthcheck.cmd": _field(lambda t: {"healthcheck": {"cmd": t}}, ("Container", "HealthCmd"), lambda t: [t]),
    "podman_args": _field(lambda t: {"podman_args": ["--hostname", t]}, ("Container", "PodmanArgs"),
                          lambda t: [["--hostname", t]]),
    "tmpfs[0].path": _field(lambda t: {"tmpfs": [{"path": t}]}, ("Container", "Tmpfs"),
                            lambda t: [t + ":rw,noexec,nosuid,nodev,size=64m,mode=1777"]),
}
# A value each field accepts, for the baseline unit whose keys the tested one must have exactly.
BENIGN = {"description": "x", "image": "localhost/x", "user": "10001", "network": "none", "environment": "x",
          "command": "x", "volumes[0].source": "/srv/app", "volumes[0].target": "/data",
          "extra_keys.Container.Label": "a=b", "extra_keys.Unit.Documentation": "man:x", "restart": "always",
          "wanted_by": "x.target", "secrets[0].name": "x", "healthcheck.cmd": "true", "podman_args": "x",
          "tmpfs[0].path": "/tmp"}


def key_counts(parsed):
    return dict((key, len(values)) for key, values in parsed.items())


def refusal_names_field(field, message):
    """Whether a refusal message names the field the text went into."""
    names = {"environment": "environment", "command": "command", "podman_args": "podman_args",
             "extra_keys.Container.Label": "extra_keys.Container.Label",
             "extra_keys.Unit.Documentation": "extra_keys.Unit.Documentation"}
    return names.get(field, field) in message


def interesting_text():
    """Characters that matter to a unit file, Quadlet or podman (for hypothesis' sampled alphabets)."""
    return list("%$\\\"' \t\n\r=:;#[]/,.-_aZ09@!{}") + ["\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u00e9",
                                                        "\U0001d11e"]
