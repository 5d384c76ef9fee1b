# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Checks that every input of every module passes, whatever file it ends up in.

One validator per kind of input, not a list of fields: any string anywhere in a module's
parameters (dictionary keys included) is refused when it carries a control character, and any
host path is judged as the target resolves it (symlinks followed), not as it is written.
"""

from __future__ import annotations

import os
import posixpath
import re

from ansible_collections.podsec.hardening.plugins.module_utils._reference import looks_like_registry

# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators: each of them ends
# a line for some reader (systemd, auditctl, YAML, Python's splitlines) or is invisible in a log.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class InputError(ValueError):
    """A parameter that cannot be used safely; the message names the parameter."""


def describe(value):
    """``repr`` of a value for a message, cut short so that a long input cannot flood the log."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def control_character(text):
    """The first control character in ``text`` (as ``\\xNN``), or None."""
    match = _CONTROL.search(text)
    return None if match is None else _escaped(match)


def _escaped(match):
    code = ord(match.group(0))
    return "\\x%02x" % code if code < 256 else "\\u%04x" % code


def escape_control_characters(text):
    """``text`` with each control character written as ``\\xNN`` (``\\uNNNN``): for what a host or an image
    supplies (file names, labels) on its way to a console line, where a newline or an escape sequence could
    forge or erase other lines."""
    return _CONTROL.sub(_escaped, text)


def walk_strings(value, where):
    """Yield ``(where, text)`` for every string in a nested structure of dicts and lists, keys included."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = "%s.%s" % (where, key) if where else str(key)
            if isinstance(key, str):
                yield "%s (key)" % inner, key
            yield from walk_strings(item, inner)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from walk_strings(item, "%s[%d]" % (where, index))


def refuse_control_characters(value, where, secret=False):
    """Raise InputError naming the parameter when any string in ``value`` has a control character.

    With ``secret`` the message names the parameter only, never the value.
    """
    for field, text in walk_strings(value, where):
        found = control_character(text)
        if found is not None:
            shown = "" if secret else " (%s)" % describe(text)
            raise InputError("%s: control character %s is not allowed%s" % (field, found, shown))


def is_within(path, root):
    """True when the normalised absolute ``path`` is ``root`` or below it."""
    path, root = posixpath.normpath(path), posixpath.normpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def resolve_on_target(path):
    """``path`` as this host resolves it: absolute, normalised, every existing symlink followed."""
    return os.path.realpath(path)


# Limits of Linux path names (NAME_MAX and PATH_MAX, in bytes of the UTF-8 encoding).
NAME_MAX = 255
PATH_MAX = 4096


def refuse_long_path(path, where):
    """Raise InputError when ``path`` (or one of its components) is longer than Linux accepts."""
    if not isinstance(path, str):
        return
    encoded = path.encode("utf-8", "surrogateescape")
    if len(encoded) >= PATH_MAX:
        raise InputError("%s: path is %d bytes long, Linux accepts at most %d" % (where, len(encoded), PATH_MAX - 1))
    for component in encoded.split(b"/"):
        if len(component) > NAME_MAX:
            raise InputError("%s: the path component %s is %d bytes long, Linux accepts at most %d"
                             % (where, describe(component.decode("utf-8", "replace")), len(component), NAME_MAX))


def refuse_surrogates(value, where):
    """Raise InputError when a string in ``value`` cannot be written as UTF-8 (lone surrogates)."""
    for field, text in walk_strings(value, where):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("%s: the value is not valid Unicode text (a lone surrogate)" % field)


def image_registry(reference):
    """The registry host of an image reference, or None when it names none (a short name).

    containers/image (docker/reference's splitDockerDomain) takes the part before the first ``/`` for a registry
    host only when it contains ``.`` or ``:``, is ``localhost``, or has an upper-case letter; otherwise the
    reference is a short name that podman resolves through registries.conf's search list and short-name
    aliases, so the registry the image comes from is decided on the host, not by the reference. ``busybox``,
    ``library/httpd`` and ``busybox:1.36`` are short names; ``localhost/podsec/busybox``, ``quay.io/podman/hello``
    and ``registry:5000/app`` are not.
    """
    first, sep, _rest = reference.partition("/")
    if not sep:
        return None
    return first if looks_like_registry(first) else None
