# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""The docker/distribution reference grammar: image names, docker scopes and remap prefixes.

Used by containers-policy.json (``_policy``) and registries.d (``_registries_d``) validation.
Errors are ``InvalidReferenceError``, a type of this module's own, so that neither of those
modules has to import the other; each wraps the message into its own error type.
"""

from __future__ import annotations

import re


class InvalidReferenceError(ValueError):
    """A reference, scope or prefix that docker/reference (and so containers/image) would not accept."""


# docker/distribution reference grammar (reference/regexp.go), enough to validate names.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = r"(?:" + _DOMAIN_NAME + r"|" + _IPV6 + r")(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

# \Z, not $: Python's "$" also matches before a trailing newline ("docker.io\n" would pass).
DOMAIN_RE = re.compile(r"^" + _DOMAIN + r"\Z")
WILDCARD_RE = re.compile(r"^\*\." + _DOMAIN_NAME + r"\Z")
PATH_COMPONENT_RE = re.compile(r"^" + _PATH_COMPONENT + r"\Z")
TAG_RE = re.compile(r"^" + _TAG + r"\Z")
DIGEST_RE = re.compile(r"^" + _DIGEST + r"\Z")
NAME_TOTAL_LENGTH_MAX = 255


def looks_like_registry(component):
    """docker/reference's rule for "the first path component is a registry host"."""
    return "." in component or ":" in component or component == "localhost" or component.lower() != component


def _split_tag_digest(text):
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not DIGEST_RE.match(digest):
            raise InvalidReferenceError('invalid digest "%s"' % digest)
    tag = None
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        text, tag = text.rsplit(":", 1)
        if not TAG_RE.match(tag):
            raise InvalidReferenceError('invalid tag "%s"' % tag)
    return text, tag, digest


def _check_path(path, original):
    for component in path.split("/"):
        if not PATH_COMPONENT_RE.match(component):
            raise InvalidReferenceError('"%s": invalid repository path component "%s" (lowercase letters, digits and '
                                        "separators . _ __ - only)" % (original, component))


def parse_normalized_reference(text):
    """Parse like docker/reference ParseNormalizedNamed; return (name, tag, digest) with the full name."""
    if not isinstance(text, str) or not text:
        raise InvalidReferenceError("empty reference")
    remainder, tag, digest = _split_tag_digest(text)
    first, sep, rest = remainder.partition("/")
    if sep and looks_like_registry(first):
        domain, path = first, rest
        if not DOMAIN_RE.match(domain):
            raise InvalidReferenceError('"%s": invalid registry host "%s"' % (text, domain))
    else:
        domain, path = "docker.io", remainder
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    _check_path(path, text)
    name = domain + "/" + path
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReferenceError('"%s": repository name must not be longer than %d characters' % (text, NAME_TOTAL_LENGTH_MAX))
    return name, tag, digest


def _expanded_hint(scope):
    try:
        name, tag, digest = parse_normalized_reference(scope)
    except InvalidReferenceError:
        return ""
    full = name + (":" + tag if tag else "") + ("@" + digest if digest else "")
    return ' (did you mean "%s"?)' % full if full != scope else ""


def validate_docker_scope(scope):
    """Validate a docker/atomic scope: a fully expanded reference, a prefix of one, or *.domain."""
    if scope == "":
        return
    if "*" in scope:
        if not WILDCARD_RE.match(scope):
            raise InvalidReferenceError('"%s" is not a valid wildcard: only a leading "*." followed by a domain name, '
                                        'such as "*.example.com", is supported' % scope)
        return
    if scope.endswith("/"):
        raise InvalidReferenceError('"%s" must not end with "/"' % scope)
    host, sep, rest = scope.partition("/")
    host_only = host.split("@", 1)[0] if not sep else host
    if not looks_like_registry(host_only) or not DOMAIN_RE.match(host_only):
        raise InvalidReferenceError('"%s" is not fully expanded: a docker scope starts with the registry host%s; '
                                    "a short name never matches" % (scope, _expanded_hint(scope)))
    if host_only == "index.docker.io":
        raise InvalidReferenceError('"%s" never matches: images from Docker Hub are identified as docker.io/...' % scope)
    if not sep:
        if host_only != host:
            raise InvalidReferenceError('"%s": a registry host cannot carry a digest' % scope)
        return
    path, tag, digest = _split_tag_digest(rest)
    if tag is not None and digest is not None:
        raise InvalidReferenceError('"%s": references with both a tag and a digest are not supported' % scope)
    _check_path(path, scope)
    if host == "docker.io" and "/" not in path and (tag is not None or digest is not None):
        # docker.io/NAME alone is a valid namespace (user NAME's repositories); with a tag it can only be
        # meant as an image, and official images are identified as docker.io/library/NAME.
        raise InvalidReferenceError('"%s" is not fully expanded: official Docker Hub images live under docker.io/library/ '
                                    '(did you mean "docker.io/library/%s"?)' % (scope, rest))
    if len(host) + 1 + len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReferenceError('"%s": repository name must not be longer than %d characters' % (scope, NAME_TOTAL_LENGTH_MAX))


def validate_remap_prefix(value, field):
    """A remapIdentity prefix or signedPrefix: host[:port], a namespace or a repository, fully expanded."""
    if DOMAIN_RE.match(value) and looks_like_registry(value):
        return
    host, sep, rest = value.partition("/")
    if sep and DOMAIN_RE.match(host) and looks_like_registry(host) and rest:
        if all(PATH_COMPONENT_RE.match(c) for c in rest.split("/")):
            return
    raise InvalidReferenceError('%s "%s" is not valid: use host[:port], a namespace or a repository in fully expanded form, '
                                "without tag or digest" % (field, value))
