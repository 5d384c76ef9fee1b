# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Pure logic for containers-registries.d(5) files: parse -> validate -> render -> diff.

containers/image (docker/registries_d.go) reads every ``*.yaml`` file of the directory (``.yml``
is silently ignored), merges them, and fails every signature operation when a ``docker``
namespace or ``default-docker`` is defined in two files.  Unknown keys are silently ignored
there, which hides typos; this module refuses them in the file it manages.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.podsec.hardening.plugins.module_utils._inputs import (
    InputError,
    NAME_MAX,
    refuse_control_characters,
    walk_strings,
)
from ansible_collections.podsec.hardening.plugins.module_utils._reference import InvalidReferenceError, validate_docker_scope

DEFAULT_DIRECTORY = "/etc/containers/registries.d"

# Keys of a namespace entry (registryNamespace in docker/registries_d.go).
NAMESPACE_KEYS = ("lookaside", "lookaside-staging", "use-sigstore-attachments")
DEPRECATED_KEYS = {"sigstore": "lookaside", "sigstore-staging": "lookaside-staging"}
URL_SCHEMES = ("file://", "http://", "https://")
DIRECTORY_NAME = "registries.d"

# What YAML 1.1 (go-yaml, as containers/image reads the files) accepts as printable besides tab and the
# line breaks: no C0/C1 controls, no surrogates, no U+FFFE/U+FFFF.
_YAML_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class RegistriesDError(ValueError):
    """A registries.d configuration podman would reject, or that would silently not work."""


def validate_file_name(name):
    try:
        refuse_control_characters(name, "name")
    except InputError as exc:
        raise RegistriesDError(str(exc))
    if not name or "/" in name or name.startswith("."):
        raise RegistriesDError('file name "%s" must be a plain file name inside the directory' % name)
    if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise RegistriesDError("name: file name is longer than %d bytes" % NAME_MAX)
    if not name.endswith(".yaml"):
        hint = ' (".yml" files are silently ignored)' if name.endswith(".yml") else ""
        raise RegistriesDError('file name "%s" must end with ".yaml": containers/image reads only *.yaml files%s'
                               % (name, hint))


def validate_directory(resolved):
    """The directory (as the host resolves it) must be a registries.d directory, nothing else."""
    if resolved.rstrip("/").rsplit("/", 1)[-1] != DIRECTORY_NAME:
        raise RegistriesDError("directory: %s is not a %s directory (such as /etc/containers/registries.d or "
                               "~/.config/containers/registries.d); refusing to write there"
                               % (resolved, DIRECTORY_NAME))


def _validate_url(value, where):
    if not isinstance(value, str) or not value:
        raise RegistriesDError("%s: must be a non-empty URL string" % where)
    if re.search(r"\s", value) or _YAML_UNPRINTABLE.search(value):
        raise RegistriesDError("%s: %r contains whitespace or a control character, which a URL cannot carry"
                               % (where, value))
    if not value.startswith(URL_SCHEMES):
        raise RegistriesDError('%s: "%s" must be a file://, http:// or https:// URL' % (where, value))
    if value.startswith("file://") and not value[len("file://"):].startswith("/"):
        raise RegistriesDError('%s: "%s" must name an absolute path (file:///path)' % (where, value))
    if value.startswith(("http://", "https://")) and value.split("://", 1)[1].split("/", 1)[0] in ("", ":"):
        raise RegistriesDError('%s: "%s" has no host' % (where, value))


def validate_namespace_entry(entry, where, strict=True):
    """Validate one namespace (or default-docker) entry; ``strict`` also refuses unknown keys."""
    if entry is None:
        return
    if not isinstance(entry, dict):
        raise RegistriesDError("%s: must be a mapping" % where)
    for key, value in entry.items():
        if key in DEPRECATED_KEYS:
            if strict:
                raise RegistriesDError('%s: "%s" is deprecated, use "%s"' % (where, key, DEPRECATED_KEYS[key]))
            continue
        if key not in NAMESPACE_KEYS:
            if strict:
                raise RegistriesDError('%s: unknown key "%s" (allowed: %s); containers/image would silently ignore it'
                                       % (where, key, ", ".join(NAMESPACE_KEYS)))
            continue
        if key == "use-sigstore-attachments":
            if not isinstance(value, bool):
                raise RegistriesDError('%s: "use-sigstore-attachments" must be true or false' % where)
        else:
            _validate_url(value, '%s, key "%s"' % (where, key))


def validate_namespace(namespace):
    try:
        refuse_control_characters(namespace, "docker namespace")
    except InputError as exc:
        raise RegistriesDError(str(exc))
    try:
        validate_docker_scope(namespace)
    except InvalidReferenceError as exc:
        raise RegistriesDError('docker namespace "%s": %s' % (namespace, exc))
    if namespace == "":
        raise RegistriesDError('docker namespace "": use default_docker for the default')


def validate_config(config, strict=True):
    """Validate a parsed registries.d document."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise RegistriesDError("the document must be a mapping")
    for key in config:
        if key not in ("default-docker", "docker") and strict:
            raise RegistriesDError('unknown top-level key "%s" (allowed: default-docker, docker)' % key)
    validate_namespace_entry(config.get("default-docker"), "default-docker", strict)
    docker = config.get("docker") or {}
    if not isinstance(docker, dict):
        raise RegistriesDError('"docker" must map namespaces to settings')
    for namespace, entry in docker.items():
        if strict:
            validate_namespace(namespace)
        validate_namespace_entry(entry, 'docker namespace "%s"' % namespace, strict)


def refuse_unwritable_text(value, where):
    """Refuse any string YAML cannot carry as text (control characters, surrogates, U+FFFE/U+FFFF)."""
    for field, text in walk_strings(value, where):
        found = _YAML_UNPRINTABLE.search(text)
        if found:
            raise RegistriesDError("%s: character U+%04X cannot be written to a YAML file" % (field, ord(found.group(0))))


def build_config(default_docker, namespaces):
    """Build the document from module-style input (snake_case keys)."""
    def entry(spec):
        result = {}
        for key in NAMESPACE_KEYS:
            value = spec.get(key.replace("-", "_"))
            if value is not None:
                result[key] = value
        return result

    config = {}
    if default_docker:
        config["default-docker"] = entry(default_docker)
    docker = {}
    for spec in namespaces:
        name = spec["namespace"]
        if name in docker:
            raise RegistriesDError('docker namespace "%s" is listed more than once' % name)
        docker[name] = entry(spec)
    if docker:
        config["docker"] = docker
    validate_config(config)
    return config


def _scalar(text, where):
    """A YAML scalar of the subset this module reads without PyYAML."""
    if text[:1] in ('"', "'"):
        quote = text[0]
        if len(text) < 2 or text[-1] != quote:
            raise RegistriesDError("%s: unterminated quoted value %s" % (where, text))
        inner = text[1:-1]
        return json.loads('"%s"' % inner) if quote == '"' else inner.replace("''", "'")
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("", "~", "null"):
        return None
    if text == "{}":
        return {}
    if text[:1] in "[{&*!|>-":
        raise RegistriesDError("%s: %s is beyond the YAML subset readable without PyYAML" % (where, text))
    return text


def _strip_comment(line):
    quote = None
    for idx, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in ('"', "'"):
            quote = char
        elif char == "#" and (idx == 0 or line[idx - 1] in " \t"):
            return line[:idx]
    return line


_KEY_RE = re.compile(r"""^("(?:[^"\\]|\\.)*"|'[^']*'|[^"'#\s-][^#]*?)\s*:(?:\s+(.*))?$""")


def parse_subset(text, where):
    """Parse the block-mapping YAML subset registries.d files use (nested mappings of scalars)."""
    root = {}
    opened = []  # mappings opened by a bare "key:" line; those left empty mean null, as in YAML
    stack = [(-1, root)]
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).rstrip()
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip(" "))
        match = _KEY_RE.match(line.strip())
        if not match or "\t" in line[:indent]:
            raise RegistriesDError("%s line %d: %r is beyond the YAML subset readable without PyYAML"
                                   % (where, number, raw))
        key = _scalar(match.group(1), "%s line %d" % (where, number))
        while indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        if key in parent:
            raise RegistriesDError('%s line %d: duplicate key "%s"' % (where, number, key))
        if match.group(2) is None:
            child = {}
            parent[key] = child
            opened.append((parent, key, child))
            stack.append((indent, child))
        else:
            parent[key] = _scalar(match.group(2).strip(), "%s line %d" % (where, number))
    for parent, key, child in reversed(opened):
        if not child:
            parent[key] = None
    return root


def parse(text, yaml_module, where):
    """Parse a registries.d file with PyYAML when available, else with the subset parser."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if yaml_module is not None:
        try:
            data = yaml_module.safe_load(text)
        except yaml_module.YAMLError as exc:
            raise RegistriesDError("%s is not valid YAML: %s" % (where, exc))
    else:
        data = parse_subset(text, where)
    try:
        validate_config(data, strict=False)
    except RegistriesDError as exc:
        raise RegistriesDError("%s: %s" % (where, exc))
    return data or {}


def defined_names(config):
    """Names that must be unique across the directory: "default-docker" and each docker namespace."""
    names = []
    if config.get("default-docker") is not None:
        names.append("default-docker")
    names.extend('docker namespace "%s"' % ns for ns in (config.get("docker") or {}))
    return names


def find_conflicts(config, path, others):
    """Return messages for names of ``config`` already defined in another file; others = {path: config}."""
    ours = set(defined_names(config))
    messages = []
    for other_path in sorted(others):
        for name in defined_names(others[other_path]):
            if name in ours:
                messages.append("%s is already defined in %s; defining it in %s too makes podman fail "
                                "(\"defined both in\")" % (name, other_path, path))
    return messages


def foreign_conflicts(others):
    """Return messages for names defined in two of ``others`` ({path: config}), read in name order as podman does."""
    first = {}
    messages = []
    for path in sorted(others):
        for name in defined_names(others[path]):
            if name in first:
                messages.append("%s is defined both in %s and %s: podman already fails on every image that uses "
                                "registries.d until one of them goes" % (name, first[name], path))
            else:
                first[name] = path
    return messages


def other_yaml_files(directory, name):
    """Other files of the directory that containers/image reads, and ignored .yml files."""
    if not os.path.isdir(directory):
        return [], []
    read, ignored = [], []
    for entry in sorted(os.listdir(directory)):
        full = os.path.join(directory, entry)
        if entry == name or not os.path.isfile(full):
            continue
        if entry.endswith(".yaml"):
            read.append(full)
        elif entry.endswith(".yml"):
            ignored.append(full)
    return read, ignored


def _quote(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    # UTF-8 as it is: go-yaml cannot parse the surrogate-pair escapes (\ud83d\ude00) json.dumps writes
    # for characters beyond the BMP ("found invalid Unicode character escape code").
    return json.dumps(value, ensure_ascii=False)


def render(config, header):
    """Render the document as block YAML with every string double-quoted (no PyYAML needed)."""
    lines = [header.rstrip("\n")] if header else []
    if not config:
        lines.append("{}")
    for top, value in config.items():
        lines.append("%s:" % top)
        entries = value.items() if top == "docker" else [(None, value)]
        for namespace, entry in entries:
            indent = "  "
            if namespace is not None:
                lines.append("  %s:%s" % (_quote(namespace), "" if entry else " {}"))
                indent = "    "
            elif not entry:
                lines[-1] += " {}"
            for key, item in entry.items():
                lines.append("%s%s: %s" % (indent, key, _quote(item)))
    return "\n".join(lines) + "\n"
