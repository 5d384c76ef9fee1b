#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: image_trust
short_description: Manage the container image trust policy (containers-policy.json)
version_added: 0.1.0
description:
  - Manages the signature verification policy that Podman, Buildah and Skopeo enforce on every pull,
    C(/etc/containers/policy.json) (containers-policy.json(5)) - the global C(default) requirements and
    per-transport, per-scope requirements (C(insecureAcceptAnything), C(reject), C(signedBy) with GPG keys,
    C(sigstoreSigned) with sigstore keys, Fulcio or PKI).
  - Validates like containers/image before writing, and more strictly, because one bad key makes every pull on
    the host fail - strict keys, non-empty requirement lists, exactly one key source, C(signedIdentity) rules,
    scope syntax per transport (fully expanded docker references, C(*.example.com) wildcards, absolute paths
    for C(dir) and C(oci)), key files present on the host, and fields the host's podman is too old to parse.
    The file on the host is never left half-written or invalid.
  - Keeps scopes it is not told about (for example the C(registry.redhat.io) entries of a RHEL host) unless
    O(exclusive=true). Compares semantically, so a re-run does not rewrite an equivalent file.
  - Reports per-user policy files (C(~/.config/containers/policy.json)) that replace the system policy for
    rootless Podman.
author:
  - podsec.hardening contributors (@podsec)
extends_documentation_fragment:
  - podsec.hardening.attributes
  - podsec.hardening.attributes.ALL
options:
  path:
    description:
      - The policy file to manage.
    type: path
    default: /etc/containers/policy.json
  default:
    description:
      - The global default requirement list, applied to every image no scope matches.
      - Either a list of requirements (see O(scopes[].requirements)) or one of the shorthands C(reject) and
        C(accept).
      - When omitted, the current default is kept. Required when O(path) does not exist yet.
      - C(reject) plus an allow-list in O(scopes) is the recommended profile.
    type: raw
  scopes:
    description:
      - Scopes to add, change or remove.
    type: list
    elements: dict
    default: []
    suboptions:
      transport:
        description:
          - The transport the scope belongs to, as in C(podman pull TRANSPORT:REFERENCE).
        type: str
        default: docker
        choices: [docker, atomic, containers-storage, dir, docker-archive, docker-daemon, oci, oci-archive, ostree, sif, tarball]
      scope:
        description:
          - The scope. For C(docker) a fully expanded reference or prefix of one
            (C(docker.io/library/busybox), C(quay.io/podman), C(localhost:5000)) or a C(*.example.com) wildcard;
            for C(dir), C(oci), C(oci-archive), C(sif) and C(ostree) an absolute path in canonical form (no
            C(//), C(.), C(..) or trailing C(/)); for C(containers-storage) C([driver@/graph/root]) optionally
            followed by a reference or C(@IMAGE_ID); C(docker-archive), C(docker-daemon) and C(tarball) take
            only C(""), as containers/image refuses any other scope there and podman then refuses the whole
            policy. C("") is the transport-wide default. Control characters are refused in every string.
        type: str
        required: true
      state:
        description:
          - Whether the scope should be in the policy.
        type: str
        choices: [present, absent]
        default: present
      requirements:
        description:
          - All requirements that must hold for an image in this scope. Required when O(scopes[].state=present).
          - Each element is either the string C(accept) (C(insecureAcceptAnything)) or C(reject), or a mapping in
            policy.json form (C(type), C(keyType), C(keyPath), C(keyPaths), C(keyData), C(keyDatas),
            C(signedIdentity), C(fulcio), C(pki), C(rekorPublicKeyPath)...) or the same keys in snake_case
            (C(type=signed_by), C(key_path), C(key_paths), C(signed_identity), C(rekor_public_key_path)...).
          - C(type) may be C(accept), C(reject), C(signedBy) (alias C(signed_by), C(gpg)) or C(sigstoreSigned)
            (alias C(sigstore_signed), C(sigstore)). C(keyType) defaults to C(GPGKeys) for C(signedBy).
          - C(keyData)/C(keyDatas) in camelCase are base64 as in the file; the snake_case C(key_data),
            C(key_datas), C(rekor_public_key_data), C(ca_data)... take the key text itself and are encoded by the
            module.
          - C(signed_identity) may be a string (C(matchRepository)) or a mapping with C(type) and, depending on the
            type, C(docker_reference), C(docker_repository), C(prefix) and C(signed_prefix).
        type: list
        elements: raw
  exclusive:
    description:
      - Remove every scope of every transport not listed with O(scopes[].state=present).
    type: bool
    default: false
  check_key_files:
    description:
      - Fail when a key, certificate or Rekor key file named by a requirement this task sets does not exist on
        the host (containers/image only notices at pull time). Missing files referenced by scopes the task does
        not manage are reported as warnings.
    type: bool
    default: true
  expected_key_files:
    description:
      - Key files that an earlier task of the same play creates. In check mode that task did not create them, so
        they are not reported missing. Outside check mode they must exist like any other key file.
    type: list
    elements: path
    default: []
  podman_version:
    description:
      - The podman version whose parser must accept the file, for example C(4.9.3). Fields that version cannot
        parse (C(pki) before 5.4, C(keyPaths) for sigstore before 5.3, C(fulcio) before 4.4...) fail the task.
      - When omitted, detected with C(podman version); when podman is not installed no gate applies.
    type: str
  backup:
    description:
      - Create a backup file including the timestamp information so you can get the original file back.
    type: bool
    default: false
notes:
  - C(podman image trust set) writes the same format (4-space indented JSON, mode 0644). The new file keeps the
    owner, group and mode of the file it replaces; a new file gets mode 0644.
  - C(sigstoreSigned) requirements also need C(use-sigstore-attachments) for the registry in
    containers-registries.d(5), see M(podsec.hardening.registries_d).
seealso:
  - module: podsec.hardening.registries_d
  - name: containers-policy.json(5)
    description: The policy file format.
    link: https://github.com/containers/image/blob/main/docs/containers-policy.json.5.md
"""

EXAMPLES = r"""
- name: Reject everything except two allow-listed, signed namespaces
  podsec.hardening.image_trust:
    default: reject
    scopes:
      - scope: registry.example.com/prod
        requirements:
          - type: signedBy
            key_path: /etc/pki/containers/prod.gpg
      - scope: registry.example.com/sigstore
        requirements:
          - type: sigstoreSigned
            key_path: /etc/pki/containers/cosign.pub
            signed_identity: matchRepository
      - transport: containers-storage
        scope: ""
        requirements: [accept]

- name: Remove a scope, keep everything else
  podsec.hardening.image_trust:
    scopes:
      - scope: docker.io
        state: absent

- name: Own the whole file, for a podman 4.9 fleet
  podsec.hardening.image_trust:
    default: reject
    exclusive: true
    podman_version: "4.9"
    scopes:
      - scope: quay.io/podman
        requirements: [accept]
"""

RETURN = r"""
policy:
  description: The policy document after the task (what is, or in check mode would be, in O(path)).
  returned: always
  type: dict
  sample: {"default": [{"type": "reject"}], "transports": {"docker": {"quay.io/podman": [{"type": "insecureAcceptAnything"}]}}}
changed_scopes:
  description: Scopes added, updated or removed.
  returned: always
  type: list
  elements: dict
  sample: [{"transport": "docker", "scope": "quay.io/podman", "action": "added"}]
default_changed:
  description: Whether the global default requirements changed.
  returned: always
  type: bool
  sample: true
user_overrides:
  description:
    - Per-user policy files found (C(/root/.config/containers/policy.json), C(/home/*/.config/containers/policy.json)
      and the home directories of the password database). Podman run by that user reads it instead of O(path).
  returned: always
  type: list
  elements: str
  sample: ["/home/alice/.config/containers/policy.json"]
podman_version:
  description: The podman version used for the feature gates, or null when none was given or detected.
  returned: always
  type: str
  sample: "5.4.2"
backup_file:
  description: Name of the backup file that was created.
  returned: changed and O(backup=true)
  type: str
  sample: /etc/containers/policy.json.1234.2026-11-24@10:00:00~
"""

import glob
import os
import re

from ansible_collections.podsec.hardening.plugins.module_utils import _inputs, _policy, _runas
from ansible_collections.podsec.hardening.plugins.module_utils._files import read_file_bytes, replace_text_file
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule
from ansible_collections.podsec.hardening.plugins.module_utils._users import home_directories

TRANSPORT_CHOICES = list(_policy.KNOWN_TRANSPORTS)

# Key text given in snake_case (key_data, key_datas, ...) is PEM with newlines; the module base64-encodes
# it, so it is the one kind of string that may carry line breaks.
_KEY_TEXT_FIELD = re.compile(r"_datas?(\[\d+\])?\Z")


def refuse_control_characters(params):
    """Refuse a control character in any string of the parameters (key text excepted), naming the field."""
    for option in ("path", "default", "scopes", "expected_key_files", "podman_version"):
        for field, text in _inputs.walk_strings(params[option], option):
            if not _KEY_TEXT_FIELD.search(field):
                _inputs.refuse_control_characters(text, field)
        _inputs.refuse_surrogates(params[option], option)
    _inputs.refuse_long_path(params["path"], "path")


def argument_spec():
    return dict(
        path=dict(type="path", default=_policy.DEFAULT_POLICY_PATH),
        default=dict(type="raw"),
        scopes=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                transport=dict(type="str", default="docker", choices=TRANSPORT_CHOICES),
                scope=dict(type="str", required=True),
                state=dict(type="str", default="present", choices=["present", "absent"]),
                requirements=dict(type="list", elements="raw"),
            ),
            required_if=[("state", "present", ["requirements"])],
        ),
        exclusive=dict(type="bool", default=False),
        check_key_files=dict(type="bool", default=True, no_log=False),
        expected_key_files=dict(type="list", elements="path", default=[], no_log=False),
        podman_version=dict(type="str"),
        backup=dict(type="bool", default=False),
    )


def find_user_overrides(homes):
    """Per-user policy files that replace the system policy for rootless podman."""
    candidates = (os.path.join(home, ".config", "containers", "policy.json") for home in homes)
    return sorted(set(path for path in candidates if os.path.isfile(path)))


class ImageTrust(object):
    """Backend: turns the module parameters into the wanted policy document and writes it."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.path = self.params["path"]
        self.warnings = []

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def podman_version(self):
        given = self.params["podman_version"]
        if given:
            return given
        version, problem = _runas.podman_version(self.module)
        if problem:
            self.warnings.append("could not detect the podman version (%s); no feature gate applied" % problem)
        return version

    def requested(self):
        """Return (default, scopes) in policy.json form, validated."""
        default = self.params["default"]
        if default is not None:
            default = _policy.normalize_requirements(default, "default")
        scopes = []
        for spec in self.params["scopes"]:
            label = _policy.scope_label(spec["transport"], spec["scope"])
            _policy.validate_scope(spec["transport"], spec["scope"])
            item = {"transport": spec["transport"], "scope": spec["scope"], "state": spec["state"]}
            if spec["state"] == "present":
                item["requirements"] = _policy.normalize_requirements(spec["requirements"], label)
            scopes.append(item)
        return default, scopes

    def current(self):
        """Return (raw bytes or None, parsed document or None)."""
        if os.path.isdir(self.path):
            self.fail("%s is a directory" % self.path)
        raw = read_file_bytes(self.path)
        if raw is None:
            return None, None
        try:
            return raw, _policy.parse_policy(raw)
        except _policy.PolicyError as exc:
            if not (self.params["exclusive"] and self.params["default"] is not None):
                self.fail("the existing %s is invalid (%s); every pull on this host fails until it is fixed. "
                          "Set exclusive=true together with default to replace it." % (self.path, exc))
            self.warnings.append("the existing %s is invalid and is replaced entirely: %s" % (self.path, exc))
        return raw, None

    def check_key_files(self, doc, default, scopes):
        managed = []
        if default is not None:
            managed.extend(("default", idx, req) for idx, req in enumerate(doc["default"]))
        for spec in scopes:
            if spec["state"] == "present":
                reqs = doc["transports"][spec["transport"]][spec["scope"]]
                label = _policy.scope_label(spec["transport"], spec["scope"])
                managed.extend((label, idx, req) for idx, req in enumerate(reqs))
        managed_ids = set(id(req) for _where, _idx, req in managed)
        expected = set(self.params["expected_key_files"]) if self.module.check_mode else set()
        missing = []
        for where, _transport, _scope, idx, req in _policy.iter_requirements(doc):
            for field, key_path in _policy.key_files(req):
                if os.path.exists(key_path) or key_path in expected:
                    continue
                message = '%s, requirement #%d (%s), field "%s": key file %s does not exist on the host' % (
                    where, idx + 1, req.get("type"), field, key_path)
                if id(req) in managed_ids:
                    missing.append(message)
                else:
                    self.warnings.append(message + " (scope not managed by this task)")
        if missing:
            self.fail("; ".join(missing) + ". Distribute the key first, or set check_key_files=false.")

    def run(self):
        try:
            refuse_control_characters(self.params)
            default, scopes = self.requested()
        except (_policy.PolicyError, _inputs.InputError) as exc:
            self.fail(str(exc))
        raw_before, before = self.current()
        try:
            after = _policy.merge_policy(before, default, scopes, self.params["exclusive"])
            text = _policy.render_policy(after)
            # Never write what containers/image (or this validator) would not read back.
            after = _policy.parse_policy(text)
        except _policy.PolicyError as exc:
            self.fail(str(exc))
        version_text = self.podman_version()
        try:
            version = _policy.version_components(version_text)
        except _policy.PolicyError as exc:
            self.fail(str(exc))
        problems = _policy.version_problems(after, version)
        if problems:
            self.fail("; ".join(problems), podman_version=version_text)
        if self.params["check_key_files"]:
            self.check_key_files(after, default, scopes)

        changes = _policy.policy_diff(before, after)
        changed = raw_before is None or before is None or not _policy.same_policy(before, after)
        result = dict(
            changed=changed,
            policy=after,
            changed_scopes=changes["scopes"],
            default_changed=changes["default_changed"] if before is not None else True,
            podman_version=version_text,
        )
        if changed:
            result.update(replace_text_file(self.module, self.path, raw_before, text, self.params["backup"]))
        if raw_before is not None and os.stat(self.path).st_mode & 0o004 == 0:
            self.warnings.append("%s is not readable by other users: rootless podman cannot read it and every "
                                 "rootless pull fails (make it mode 0644)" % self.path)
        # /root and /home/* too: users a directory service has but getpwall() does not enumerate.
        result["user_overrides"] = find_user_overrides(home_directories(extra=["/root"] + glob.glob("/home/*")))
        for override in result["user_overrides"]:
            self.warnings.append("%s exists: rootless podman run by its owner reads it instead of %s, so this "
                                 "policy does not apply to that user" % (override, self.path))
        for warning in self.warnings:
            self.module.warn(warning)
        return result


def main():
    module = PodsecModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = ImageTrust(module).run()
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (exc.filename or module.params["path"], exc.strerror or exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
