# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Pure logic for containers-policy.json(5): parse -> validate -> render -> diff.

The rules follow containers/image ``signature/policy_config.go`` and
``signature/policy_config_sigstore.go``: every object is parsed strictly (unknown or duplicated
keys make the whole file invalid, and then every pull on the host fails), requirement lists must
not be empty, and each requirement type accepts only its own fields.  On top of what
containers/image checks at parse time, this module also rejects what containers/image only
notices later or never reports at all: docker scopes that are not fully expanded (they silently
never match), relative key paths, key types it cannot evaluate, and fields the host's podman is
too old to parse.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re

from ansible_collections.podsec.hardening.plugins.module_utils._inputs import control_character
from ansible_collections.podsec.hardening.plugins.module_utils._reference import (
    InvalidReferenceError,
    parse_normalized_reference,
    validate_docker_scope,
    validate_remap_prefix,
)

DEFAULT_POLICY_PATH = "/etc/containers/policy.json"

# Requirement types, as written in policy.json.
ACCEPT = "insecureAcceptAnything"
REJECT = "reject"
SIGNED_BY = "signedBy"
SIGSTORE_SIGNED = "sigstoreSigned"
SIGNED_BASE_LAYER = "signedBaseLayer"

# Transports known to containers/image (transports/alltransports).  A scope under an unknown
# transport name is accepted by containers/image but can never match anything: a typo.
DOCKER_LIKE_TRANSPORTS = ("docker", "atomic")
# Scopes are absolute paths in canonical form (containers/image: dir, oci/internal ValidateScope, sif);
# ostree is held to the same form (an ostree repository path).
PATH_TRANSPORTS = ("dir", "oci", "oci-archive", "sif", "ostree")
# containers/image refuses every scope but "" for these ("does not support any scopes except the
# default"); podman then reports the whole policy invalid ("Unknown key").
DEFAULT_SCOPE_ONLY_TRANSPORTS = ("docker-archive", "docker-daemon", "tarball")
KNOWN_TRANSPORTS = DOCKER_LIKE_TRANSPORTS + ("dir", "oci", "oci-archive") + (
    "containers-storage",
    "docker-archive",
    "docker-daemon",
    "ostree",
    "sif",
    "tarball",
)

# Feature gates: (requirement type, field, podman version, containers/image version).
# containers/image versions from the containers-policy.json(5) history; podman versions are the
# first podman release vendoring that containers/image.
VERSION_GATES = (
    (SIGNED_BY, "keyPaths", (4, 2), "5.22"),
    (SIGSTORE_SIGNED, None, (4, 2), "5.22"),
    (SIGSTORE_SIGNED, "fulcio", (4, 4), "5.24"),
    (SIGSTORE_SIGNED, "rekorPublicKeyPath", (4, 4), "5.24"),
    (SIGSTORE_SIGNED, "rekorPublicKeyData", (4, 4), "5.24"),
    (SIGSTORE_SIGNED, "keyPaths", (5, 3), "5.33"),
    (SIGSTORE_SIGNED, "keyDatas", (5, 3), "5.33"),
    (SIGSTORE_SIGNED, "rekorPublicKeyPaths", (5, 3), "5.33"),
    (SIGSTORE_SIGNED, "rekorPublicKeyDatas", (5, 3), "5.33"),
    # reference.md said 5.35; Debian 13's podman 5.4.2 (containers/image 5.34) parses pki, checked by
    # molecule/trust/tests/test_parser_agreement.py against the host's real parser.
    (SIGSTORE_SIGNED, "pki", (5, 4), "5.34"),
)


class PolicyError(ValueError):
    """A policy document, or a request to change one, that containers/image would not accept."""


# ---------------------------------------------------------------------------------------------
# Locations in error messages
# ---------------------------------------------------------------------------------------------


def scope_label(transport, scope):
    """Human-readable name of a scope, used as the start of every error message about it."""
    if scope == "":
        return 'transport "%s" default scope ""' % transport
    return 'scope "%s" (transport "%s")' % (scope, transport)


def _where(base, index=None, rtype=None, field=None):
    text = base
    if index is not None:
        text += ", requirement #%d" % (index + 1)
        if rtype:
            text += " (%s)" % rtype
    if field:
        text += ', field "%s"' % field
    return text


# ---------------------------------------------------------------------------------------------
# Parse
# ---------------------------------------------------------------------------------------------


def _reject_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise PolicyError('duplicate key "%s" (next to keys %s): containers/image rejects the whole file'
                              % (key, ", ".join('"%s"' % k for k in result)))
        result[key] = value
    return result


def _reject_constant(name):
    raise PolicyError("invalid JSON value %s" % name)


def parse_policy(text):
    """Parse policy.json text strictly and validate it; return the document (plain dicts/lists).

    Raises PolicyError naming the offending place.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyError("policy is not valid UTF-8: %s" % exc)
    try:
        doc = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except PolicyError:
        raise
    except ValueError as exc:
        raise PolicyError("invalid JSON: %s" % exc)
    validate_policy(doc)
    return doc


# ---------------------------------------------------------------------------------------------
# Validate
# ---------------------------------------------------------------------------------------------


def _check_fields(obj, allowed, where, what):
    if not isinstance(obj, dict):
        raise PolicyError("%s: %s must be a JSON object, got %s" % (where, what, _json_type(obj)))
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        raise PolicyError('%s: unknown key "%s" in %s (allowed: %s); containers/image rejects the whole file'
                          % (where, unknown[0], what, ", ".join(sorted(allowed))))


def _json_type(value):
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return "a string"


def _require_string(value, where, allow_empty=False):
    if not isinstance(value, str):
        raise PolicyError("%s: must be a string, got %s" % (where, _json_type(value)))
    if not allow_empty and value == "":
        raise PolicyError("%s: must not be empty" % where)
    return value


def _require_abs_path(value, where):
    _require_string(value, where)
    if not value.startswith("/"):
        raise PolicyError('%s: "%s" is not an absolute path (containers/image would resolve it against the '
                          "working directory of each podman process)" % (where, value))
    return value


def _require_base64(value, where):
    _require_string(value, where)
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PolicyError("%s: must be base64-encoded key data (standard alphabet with padding)" % where)
    return value


def _require_list(value, where, validator):
    if not isinstance(value, list):
        raise PolicyError("%s: must be a list, got %s" % (where, _json_type(value)))
    if not value:
        raise PolicyError("%s: contains no entries" % where)
    for idx, item in enumerate(value):
        validator(item, "%s[%d]" % (where, idx))
    return value


def validate_policy(doc):
    """Validate a whole policy document; raise PolicyError naming scope and field."""
    if not isinstance(doc, dict):
        raise PolicyError("policy must be a JSON object, got %s" % _json_type(doc))
    _check_fields(doc, ("default", "transports"), "policy", "the top level")
    if "default" not in doc:
        raise PolicyError('policy: "default" is missing (it is mandatory)')
    validate_requirements(doc["default"], "default")
    transports = doc.get("transports", {})
    if "transports" in doc and not isinstance(transports, dict):
        raise PolicyError('policy: "transports" must be an object, got %s' % _json_type(transports))
    for transport, scopes in transports.items():
        if transport not in KNOWN_TRANSPORTS:
            raise PolicyError('transport "%s": unknown transport (known: %s); its scopes would never match'
                              % (transport, ", ".join(KNOWN_TRANSPORTS)))
        if not isinstance(scopes, dict):
            raise PolicyError('transport "%s": must map scopes to requirement lists, got %s'
                              % (transport, _json_type(scopes)))
        for scope, requirements in scopes.items():
            validate_scope(transport, scope)
            validate_requirements(requirements, scope_label(transport, scope))
    return doc


def validate_requirements(requirements, where):
    """Validate one requirement list (the value of ``default`` or of a scope)."""
    if isinstance(requirements, dict):
        raise PolicyError("%s: must be a list of requirements, got an object (write [%s])"
                          % (where, json.dumps(requirements) if len(requirements) < 4 else "{...}"))
    if not isinstance(requirements, list):
        raise PolicyError("%s: must be a list of requirements, got %s" % (where, _json_type(requirements)))
    if not requirements:
        raise PolicyError("%s: the list of requirements must not be empty" % where)
    for index, requirement in enumerate(requirements):
        validate_requirement(requirement, where, index)


def validate_requirement(req, where, index):
    if not isinstance(req, dict):
        raise PolicyError("%s: must be an object with a \"type\", got %s" % (_where(where, index), _json_type(req)))
    rtype = req.get("type")
    if rtype in (ACCEPT, REJECT):
        _check_fields(req, ("type",), _where(where, index, rtype), "the requirement")
    elif rtype == SIGNED_BY:
        _validate_signed_by(req, where, index)
    elif rtype == SIGSTORE_SIGNED:
        _validate_sigstore_signed(req, where, index)
    elif rtype == SIGNED_BASE_LAYER:
        loc = _where(where, index, rtype)
        _check_fields(req, ("type", "baseLayerIdentity"), loc, "the requirement")
        if "baseLayerIdentity" not in req:
            raise PolicyError('%s: "baseLayerIdentity" is required' % loc)
        validate_identity(req["baseLayerIdentity"], _where(where, index, rtype, "baseLayerIdentity"))
    else:
        raise PolicyError('%s: unknown requirement type %s (expected %s, %s, %s, %s or %s)'
                          % (_where(where, index, None, "type"), json.dumps(rtype), ACCEPT, REJECT,
                             SIGNED_BY, SIGSTORE_SIGNED, SIGNED_BASE_LAYER))


def _exactly_one(req, fields, loc):
    present = [f for f in fields if f in req]
    if len(present) != 1:
        raise PolicyError("%s: exactly one of %s must be specified, %s"
                          % (loc, ", ".join(fields), "none present" if not present
                             else "got " + " and ".join(present)))
    return present[0]


def _require_abs_paths(value, where):
    return _require_list(value, where, _require_abs_path)


def _require_base64_list(value, where):
    return _require_list(value, where, _require_base64)


# How each key-material field is checked: paths must be absolute, data must be base64.
_KEY_FIELD_CHECKS = {
    "keyPath": _require_abs_path,
    "keyPaths": _require_abs_paths,
    "keyData": _require_base64,
    "keyDatas": _require_base64_list,
    "rekorPublicKeyPath": _require_abs_path,
    "rekorPublicKeyPaths": _require_abs_paths,
    "rekorPublicKeyData": _require_base64,
    "rekorPublicKeyDatas": _require_base64_list,
}


def _validate_signed_by(req, where, index):
    loc = _where(where, index, SIGNED_BY)
    _check_fields(req, ("type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"), loc, "the requirement")
    key_type = req.get("keyType")
    if key_type != "GPGKeys":
        raise PolicyError('%s: keyType %s is not supported; "GPGKeys" is the only key type containers/image evaluates'
                          % (_where(where, index, SIGNED_BY, "keyType"), json.dumps(key_type)))
    source = _exactly_one(req, ("keyPath", "keyPaths", "keyData"), loc)
    _KEY_FIELD_CHECKS[source](req[source], _where(where, index, SIGNED_BY, source))
    if "signedIdentity" in req:
        validate_identity(req["signedIdentity"], _where(where, index, SIGNED_BY, "signedIdentity"))


def _validate_sigstore_signed(req, where, index):
    loc = _where(where, index, SIGSTORE_SIGNED)
    rekor = ("rekorPublicKeyPath", "rekorPublicKeyPaths", "rekorPublicKeyData", "rekorPublicKeyDatas")
    _check_fields(req, ("type", "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "pki", "signedIdentity") + rekor,
                  loc, "the requirement")
    source = _exactly_one(req, ("keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "pki"), loc)
    floc = _where(where, index, SIGSTORE_SIGNED, source)
    if source == "fulcio":
        _validate_fulcio(req[source], floc)
    elif source == "pki":
        _validate_pki(req[source], floc)
    else:
        _KEY_FIELD_CHECKS[source](req[source], floc)
    present_rekor = [f for f in rekor if f in req]
    if len(present_rekor) > 1:
        raise PolicyError("%s: at most one of %s can be used, got %s" % (loc, ", ".join(rekor), " and ".join(present_rekor)))
    if source == "fulcio" and not present_rekor:
        raise PolicyError("%s: fulcio needs a Rekor public key: one of %s" % (loc, ", ".join(rekor)))
    for field in present_rekor:
        _KEY_FIELD_CHECKS[field](req[field], _where(where, index, SIGSTORE_SIGNED, field))
    if "signedIdentity" in req:
        validate_identity(req["signedIdentity"], _where(where, index, SIGSTORE_SIGNED, "signedIdentity"))


def _validate_fulcio(fulcio, loc):
    _check_fields(fulcio, ("caPath", "caData", "oidcIssuer", "subjectEmail"), loc, "fulcio")
    source = _exactly_one(fulcio, ("caPath", "caData"), loc)
    if source == "caPath":
        _require_abs_path(fulcio[source], loc + ".caPath")
    else:
        _require_base64(fulcio[source], loc + ".caData")
    for field in ("oidcIssuer", "subjectEmail"):
        if field not in fulcio:
            raise PolicyError("%s: %s not specified" % (loc, field))
        _require_string(fulcio[field], "%s.%s" % (loc, field))


def _validate_pki(pki, loc):
    _check_fields(pki, ("caRootsPath", "caRootsData", "caIntermediatesPath", "caIntermediatesData",
                        "subjectEmail", "subjectHostname"), loc, "pki")
    source = _exactly_one(pki, ("caRootsPath", "caRootsData"), loc)
    if source == "caRootsPath":
        _require_abs_path(pki[source], loc + ".caRootsPath")
    else:
        _require_base64(pki[source], loc + ".caRootsData")
    if "caIntermediatesPath" in pki and "caIntermediatesData" in pki:
        raise PolicyError("%s: caIntermediatesPath and caIntermediatesData cannot be used simultaneously" % loc)
    if "caIntermediatesPath" in pki:
        _require_abs_path(pki["caIntermediatesPath"], loc + ".caIntermediatesPath")
    if "caIntermediatesData" in pki:
        _require_base64(pki["caIntermediatesData"], loc + ".caIntermediatesData")
    if "subjectEmail" not in pki and "subjectHostname" not in pki:
        raise PolicyError("%s: at least one of subjectEmail, subjectHostname must be specified" % loc)
    for field in ("subjectEmail", "subjectHostname"):
        if field in pki:
            _require_string(pki[field], "%s.%s" % (loc, field))


IDENTITY_FIELDS = {
    "matchExact": (),
    "matchRepoDigestOrExact": (),
    "matchRepository": (),
    "exactReference": ("dockerReference",),
    "exactRepository": ("dockerRepository",),
    "remapIdentity": ("prefix", "signedPrefix"),
}


def validate_identity(identity, loc):
    """Validate a signedIdentity (policy reference match) object."""
    if not isinstance(identity, dict):
        raise PolicyError("%s: must be an object with a \"type\", got %s" % (loc, _json_type(identity)))
    itype = identity.get("type")
    if itype not in IDENTITY_FIELDS:
        raise PolicyError("%s: unknown signedIdentity type %s (expected one of %s)"
                          % (loc, json.dumps(itype), ", ".join(IDENTITY_FIELDS)))
    required = IDENTITY_FIELDS[itype]
    _check_fields(identity, ("type",) + required, loc, itype)
    for field in required:
        if field not in identity:
            raise PolicyError("%s: %s requires %s" % (loc, itype, field))
        _require_string(identity[field], "%s.%s" % (loc, field))
    try:
        if itype == "exactReference":
            name, tag, digest = parse_normalized_reference(identity["dockerReference"])
            if tag is None and digest is None:
                raise PolicyError('dockerReference "%s" contains neither a tag nor digest' % identity["dockerReference"])
        elif itype == "exactRepository":
            parse_normalized_reference(identity["dockerRepository"])
        elif itype == "remapIdentity":
            for field in ("prefix", "signedPrefix"):
                validate_remap_prefix(identity[field], field)
    except (PolicyError, InvalidReferenceError) as exc:
        raise PolicyError("%s: %s" % (loc, exc))


def go_clean(path):
    """Go's ``filepath.Clean`` on Unix: the canonical form containers/image compares a path scope with."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = ("/" if rooted else "") + "/".join(parts)
    return cleaned or ("/" if rooted else ".")


def _validate_path_scope(scope, transport):
    if not scope.startswith("/"):
        raise PolicyError('"%s" must be an absolute path' % scope)
    if scope == "/":
        raise PolicyError('"/" is forbidden: use the transport default scope ""')
    if go_clean(scope) != scope:
        raise PolicyError('"%s" is not in canonical form (no "//", trailing "/", "." or ".." components): '
                          'write "%s"' % (scope, go_clean(scope)))


_STORAGE_SCOPE_RE = re.compile(r"^\[(?:([^@\]]+)@)?(/[^\]+]*)(\+[^\]]*)?\](.*)\Z", re.DOTALL)


def _validate_storage_scope(scope):
    match = _STORAGE_SCOPE_RE.match(scope)
    if not match:
        raise PolicyError('"%s" must look like "[driver@/graph/root]" optionally followed by an image reference '
                          "or @image-id" % scope)
    image = match.group(4)
    if image.startswith("@"):
        if not re.fullmatch(r"@[0-9a-f]{64}", image):
            raise PolicyError('"%s": an image ID is 64 lowercase hexadecimal digits' % scope)
    elif image:
        validate_docker_scope(image.split("@", 1)[0] if "@" in image else image)


def validate_scope(transport, scope):
    """Validate a scope for its transport; raise PolicyError naming both."""
    if not isinstance(scope, str):
        raise PolicyError('transport "%s": scope must be a string' % transport)
    if scope == "":
        return
    try:
        if control_character(scope) is not None:
            raise PolicyError("control character %s is not allowed" % control_character(scope))
        if transport in DOCKER_LIKE_TRANSPORTS:
            validate_docker_scope(scope)
        elif transport in PATH_TRANSPORTS:
            _validate_path_scope(scope, transport)
        elif transport == "containers-storage":
            _validate_storage_scope(scope)
        elif transport in DEFAULT_SCOPE_ONLY_TRANSPORTS:
            raise PolicyError('transport "%s" supports only the default scope "" (containers/image refuses any '
                              'other, and podman then refuses the whole policy)' % transport)
    except (PolicyError, InvalidReferenceError) as exc:
        raise PolicyError("%s: invalid scope: %s" % (scope_label(transport, scope), exc))


# ---------------------------------------------------------------------------------------------
# Version gates and key files
# ---------------------------------------------------------------------------------------------


def version_components(text):
    """Return the leading numeric components of a version string as a tuple (e.g. "5.4.2-dev" -> (5, 4, 2))."""
    if text is None:
        return None
    match = re.match(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(text))
    if not match:
        raise PolicyError('cannot understand podman version "%s"' % text)
    return tuple(int(part) for part in match.groups() if part is not None)


def _format_version(version):
    return ".".join(str(part) for part in version)


def iter_requirements(doc):
    """Yield (location, transport, scope, index, requirement) for every requirement of a document."""
    for index, req in enumerate(doc.get("default", [])):
        yield "default", None, None, index, req
    for transport, scopes in doc.get("transports", {}).items():
        for scope, reqs in scopes.items():
            for index, req in enumerate(reqs):
                yield scope_label(transport, scope), transport, scope, index, req


def version_problems(doc, podman_version):
    """List messages for every field the given podman version cannot parse (empty when all is fine)."""
    if podman_version is None:
        return []
    problems = []
    for where, _transport, _scope, index, req in iter_requirements(doc):
        rtype = req.get("type")
        for gate_type, field, minimum, cimage in VERSION_GATES:
            if gate_type != rtype or (field is not None and field not in req):
                continue
            if tuple(podman_version) < minimum:
                problems.append("%s needs podman >= %s (containers/image >= %s), the host has podman %s; older "
                                "parsers reject the whole file with \"Unknown key\""
                                % (_where(where, index, rtype, field), _format_version(minimum), cimage,
                                   _format_version(podman_version)))
    return problems


def key_files(requirement):
    """Return [(field, path)] for every local file a requirement reads."""
    found = []
    for field in ("keyPath", "rekorPublicKeyPath"):
        if field in requirement:
            found.append((field, requirement[field]))
    for field in ("keyPaths", "rekorPublicKeyPaths"):
        for path in requirement.get(field, []):
            found.append((field, path))
    for parent, fields in (("fulcio", ("caPath",)), ("pki", ("caRootsPath", "caIntermediatesPath"))):
        for field in fields:
            if field in requirement.get(parent, {}):
                found.append(("%s.%s" % (parent, field), requirement[parent][field]))
    return found


# ---------------------------------------------------------------------------------------------
# Friendly input -> policy.json requirements
# ---------------------------------------------------------------------------------------------

TYPE_ALIASES = {
    "accept": ACCEPT,
    "insecure_accept_anything": ACCEPT,
    "signed_by": SIGNED_BY,
    "gpg": SIGNED_BY,
    "sigstore_signed": SIGSTORE_SIGNED,
    "sigstore": SIGSTORE_SIGNED,
}

FIELD_ALIASES = {
    "key_type": "keyType",
    "key_path": "keyPath",
    "key_paths": "keyPaths",
    "key_data": "keyData",
    "key_datas": "keyDatas",
    "signed_identity": "signedIdentity",
    "rekor_public_key_path": "rekorPublicKeyPath",
    "rekor_public_key_paths": "rekorPublicKeyPaths",
    "rekor_public_key_data": "rekorPublicKeyData",
    "rekor_public_key_datas": "rekorPublicKeyDatas",
    "base_layer_identity": "baseLayerIdentity",
    "ca_path": "caPath",
    "ca_data": "caData",
    "oidc_issuer": "oidcIssuer",
    "subject_email": "subjectEmail",
    "subject_hostname": "subjectHostname",
    "ca_roots_path": "caRootsPath",
    "ca_roots_data": "caRootsData",
    "ca_intermediates_path": "caIntermediatesPath",
    "ca_intermediates_data": "caIntermediatesData",
    "docker_reference": "dockerReference",
    "docker_repository": "dockerRepository",
    "signed_prefix": "signedPrefix",
}

IDENTITY_ALIASES = {
    "match_exact": "matchExact",
    "match_repo_digest_or_exact": "matchRepoDigestOrExact",
    "match_repository": "matchRepository",
    "exact_reference": "exactReference",
    "exact_repository": "exactRepository",
    "remap_identity": "remapIdentity",
}


def _encode_text(value, where):
    if isinstance(value, list):
        return [_encode_text(item, "%s[%d]" % (where, idx)) for idx, item in enumerate(value)]
    if not isinstance(value, str):
        raise PolicyError("%s: must be the key text (a string)" % where)
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def _translate_object(obj, where, nested=("fulcio", "pki", "signedIdentity", "baseLayerIdentity")):
    """Translate snake_case keys to policy.json keys; ``*_data``/``*_datas`` snake keys take key text."""
    result = {}
    for key, value in obj.items():
        target = FIELD_ALIASES.get(key, key)
        if target in result:
            raise PolicyError('%s: "%s" given twice (as "%s" and its alias)' % (where, target, key))
        if key != target and (key.endswith("_data") or key.endswith("_datas")):
            value = _encode_text(value, '%s, field "%s"' % (where, key))
        if target in nested:
            value = _translate_nested(target, value, '%s, field "%s"' % (where, target))
        result[target] = value
    return result


def _translate_nested(name, value, where):
    if name in ("signedIdentity", "baseLayerIdentity"):
        if isinstance(value, str):
            value = {"type": value}
        if isinstance(value, dict):
            value = _translate_object(value, where, nested=())
            if isinstance(value.get("type"), str):
                value["type"] = IDENTITY_ALIASES.get(value["type"], value["type"])
        return value
    if isinstance(value, dict):
        return _translate_object(value, where, nested=())
    return value


def normalize_requirement(item, where):
    """Turn one user-supplied requirement (shorthand string, snake_case or policy.json form) into policy.json form."""
    if isinstance(item, str):
        item = {"type": item}
    if not isinstance(item, dict):
        raise PolicyError("%s: a requirement is a string (accept, reject) or a mapping, got %s" % (where, _json_type(item)))
    req = _translate_object(item, where)
    if isinstance(req.get("type"), str):
        req["type"] = TYPE_ALIASES.get(req["type"], req["type"])
    if req.get("type") == SIGNED_BY and "keyType" not in req:
        # Same field order as podman image trust set writes: type, keyType, key source, identity.
        req = dict([("type", req.pop("type")), ("keyType", "GPGKeys")] + list(req.items()))
    return req


def normalize_requirements(items, where):
    """Normalize a user-supplied requirement list, or the shorthand strings accept/reject."""
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        validate_requirements(items, where)  # raises with the file-level message ("got an object")
    reqs = [normalize_requirement(item, "%s, requirement #%d" % (where, idx + 1)) for idx, item in enumerate(items)]
    validate_requirements(reqs, where)
    return reqs


# ---------------------------------------------------------------------------------------------
# Merge, render, diff
# ---------------------------------------------------------------------------------------------

_DEFAULT_IDENTITY = {"type": "matchRepoDigestOrExact"}


def canonical_requirements(reqs):
    """Requirements with implicit defaults removed, for semantic comparison."""
    result = []
    for req in reqs:
        req = dict(req)
        if req.get("type") in (SIGNED_BY, SIGSTORE_SIGNED) and req.get("signedIdentity") == _DEFAULT_IDENTITY:
            del req["signedIdentity"]
        result.append(req)
    return result


def same_requirements(left, right):
    return canonical_requirements(left) == canonical_requirements(right)


def canonical_policy(doc):
    """A semantic form of a document: implicit defaults removed, empty transports dropped."""
    if doc is None:
        return None
    result = {"default": canonical_requirements(doc["default"]), "transports": {}}
    for transport, scopes in doc.get("transports", {}).items():
        if scopes:
            result["transports"][transport] = dict(
                (scope, canonical_requirements(reqs)) for scope, reqs in scopes.items())
    return result


def same_policy(left, right):
    return canonical_policy(left) == canonical_policy(right)


def merge_policy(current, default=None, scopes=(), exclusive=False):
    """Apply the requested default and scope changes to ``current`` (may be None); return the new document.

    ``scopes`` is a list of dicts with transport, scope, state and (for present) requirements in
    policy.json form.  Unrelated content is kept unless ``exclusive``.  Requirement lists that are
    already semantically equal are kept as written, so a re-run changes nothing.
    """
    seen = set()
    for spec in scopes:
        key = (spec["transport"], spec["scope"])
        if key in seen:
            raise PolicyError("%s: listed more than once" % scope_label(*key))
        seen.add(key)
    if current is None:
        if default is None:
            raise PolicyError('"default" is required when the policy file does not exist yet')
        current = {"default": default}
    doc = copy.deepcopy(current)
    if default is not None and not same_requirements(doc["default"], default):
        doc["default"] = copy.deepcopy(default)
    transports = doc.setdefault("transports", {})
    wanted = set((s["transport"], s["scope"]) for s in scopes if s.get("state", "present") == "present")
    if exclusive:
        for transport in transports:
            for scope in list(transports[transport]):
                if (transport, scope) not in wanted:
                    del transports[transport][scope]
    for spec in scopes:
        existing = transports.get(spec["transport"], {})
        if spec.get("state", "present") == "absent":
            existing.pop(spec["scope"], None)
        elif spec["scope"] not in existing or not same_requirements(existing[spec["scope"]], spec["requirements"]):
            transports.setdefault(spec["transport"], {})[spec["scope"]] = copy.deepcopy(spec["requirements"])
    previous = current.get("transports") or {}
    for transport in list(transports):
        # Drop a transport this run emptied; keep one that was already empty unless exclusive.
        if not transports[transport] and (exclusive or previous.get(transport)):
            del transports[transport]
    if not transports and "transports" not in current:
        del doc["transports"]
    return doc


def render_policy(doc):
    """Render like ``podman image trust set``: 4-space indented JSON with a trailing newline."""
    return json.dumps(doc, indent=4, ensure_ascii=False) + "\n"


def policy_diff(before, after):
    """Semantic differences between two documents (either may be None)."""
    before_c = canonical_policy(before) or {"default": None, "transports": {}}
    after_c = canonical_policy(after) or {"default": None, "transports": {}}
    changes = []
    keys = set()
    for doc in (before_c, after_c):
        for transport, scopes in doc["transports"].items():
            keys.update((transport, scope) for scope in scopes)
    for transport, scope in sorted(keys):
        old = before_c["transports"].get(transport, {}).get(scope)
        new = after_c["transports"].get(transport, {}).get(scope)
        if old == new:
            continue
        action = "added" if old is None else "removed" if new is None else "updated"
        changes.append({"transport": transport, "scope": scope, "action": action})
    return {"default_changed": before_c["default"] != after_c["default"], "scopes": changes}
