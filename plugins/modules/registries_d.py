#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: registries_d
short_description: Manage one containers-registries.d file (signature lookaside and sigstore attachments)
version_added: 0.1.0
description:
  - Manages one C(*.yaml) file in C(/etc/containers/registries.d) (containers-registries.d(5)), which tells
    Podman where simple-signing signatures are read from (C(lookaside)) and written to (C(lookaside-staging)),
    and whether sigstore signatures are stored as registry attachments (C(use-sigstore-attachments)), per docker
    namespace and for C(default-docker).
  - The module owns the whole file. It refuses file names not ending in C(.yaml) (containers/image silently ignores
    C(.yml)), unknown keys, non-URL lookasides, and a namespace or C(default-docker) that another C(.yaml) file of
    the directory already defines (podman fails every signature operation then).
author:
  - podsec.hardening contributors (@podsec)
extends_documentation_fragment:
  - podsec.hardening.attributes
  - podsec.hardening.attributes.ALL
options:
  name:
    description:
      - File name inside O(directory). Must end with C(.yaml); a plain name (no C(/), not starting with
        C(.)), at most 255 bytes, without control characters.
    type: str
    required: true
  directory:
    description:
      - The registries.d directory. Created (mode 0755) when missing.
      - As the host resolves it (symlinks and C(..) followed), its last component must be C(registries.d),
        as in C(/etc/containers/registries.d) or C(~/.config/containers/registries.d); anything else is refused.
    type: path
    default: /etc/containers/registries.d
  state:
    description:
      - Whether the file should exist.
    type: str
    choices: [present, absent]
    default: present
  default_docker:
    description:
      - Settings for C(default-docker), used by every namespace that does not set a key itself.
    type: dict
    suboptions:
      lookaside:
        description: URL signatures are read from (and written to, without O(default_docker.lookaside_staging)).
        type: str
      lookaside_staging:
        description: URL signatures are written to.
        type: str
      use_sigstore_attachments:
        description: Read and write sigstore signatures as registry attachments.
        type: bool
  namespaces:
    description:
      - Settings per docker namespace (a fully expanded registry host, namespace or repository, like policy scopes).
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The namespace, for example C(registry.example.com:5000/team).
        type: str
        required: true
      lookaside:
        description: As O(default_docker.lookaside), for this namespace.
        type: str
      lookaside_staging:
        description: As O(default_docker.lookaside_staging), for this namespace.
        type: str
      use_sigstore_attachments:
        description: As O(default_docker.use_sigstore_attachments), for this namespace.
        type: bool
  backup:
    description:
      - Create a backup file including the timestamp information so you can get the original file back.
    type: bool
    default: false
notes:
  - Other C(.yaml) files of the directory are read with PyYAML when the managed host has it, else with a built-in
    reader for the plain nested-mapping YAML these files use (the module fails naming a file it cannot read).
  - C($HOME/.config/containers/registries.d) replaces this directory entirely for a rootless user who has one.
seealso:
  - module: podsec.hardening.image_trust
  - name: containers-registries.d(5)
    description: The file format.
    link: https://github.com/containers/image/blob/main/docs/containers-registries.d.5.md
"""

EXAMPLES = r"""
- name: Signatures of the internal registry live next to it; sigstore signatures as attachments
  podsec.hardening.registries_d:
    name: internal.yaml
    namespaces:
      - namespace: registry.example.com
        lookaside: https://sigs.example.com/signatures
        use_sigstore_attachments: true

- name: Local lookaside for everything else
  podsec.hardening.registries_d:
    name: default.yaml
    default_docker:
      lookaside: file:///var/lib/containers/sigstore
"""

RETURN = r"""
path:
  description: The managed file.
  returned: always
  type: str
  sample: /etc/containers/registries.d/internal.yaml
config:
  description: The document in the file after the task (empty when O(state=absent)).
  returned: always
  type: dict
  sample: {"docker": {"registry.example.com": {"lookaside": "https://sigs.example.com/signatures"}}}
ignored_files:
  description: C(.yml) files in the directory, which containers/image ignores.
  returned: always
  type: list
  elements: str
  sample: ["/etc/containers/registries.d/typo.yml"]
foreign_conflicts:
  description:
    - Names (C(default-docker) or a docker namespace) that two other files of the directory both define. podman
      refuses the whole directory then ("defined both in"), whatever this task writes; each is also a warning.
  returned: always
  type: list
  elements: str
  sample: ['docker namespace "quay.io" is defined both in /etc/containers/registries.d/a.yaml and ...']
backup_file:
  description: Name of the backup file that was created.
  returned: changed and O(backup=true)
  type: str
  sample: /etc/containers/registries.d/internal.yaml.1234.2026-11-24@10:00:00~
"""

import os

from ansible_collections.podsec.hardening.plugins.module_utils import _inputs, _registries_d
from ansible_collections.podsec.hardening.plugins.module_utils._files import read_file_bytes, replace_text_file
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule

try:
    import yaml
except ImportError:
    yaml = None  # the built-in subset reader is used instead

HEADER = "# Managed by Ansible (podsec.hardening.registries_d): local changes are overwritten.\n"

ENTRY_OPTIONS = dict(
    lookaside=dict(type="str"),
    lookaside_staging=dict(type="str"),
    use_sigstore_attachments=dict(type="bool"),
)


def argument_spec():
    namespace_options = dict(namespace=dict(type="str", required=True), **ENTRY_OPTIONS)
    return dict(
        name=dict(type="str", required=True),
        directory=dict(type="path", default=_registries_d.DEFAULT_DIRECTORY),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        default_docker=dict(type="dict", options=dict(ENTRY_OPTIONS)),
        namespaces=dict(type="list", elements="dict", default=[], options=namespace_options),
        backup=dict(type="bool", default=False),
    )


class RegistriesD(object):
    """Backend: compute the file, check the rest of the directory, write."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.path = os.path.join(self.params["directory"], self.params["name"])

    def load_others(self):
        read, ignored = _registries_d.other_yaml_files(self.params["directory"], self.params["name"])
        others = {}
        for path in read:
            others[path] = _registries_d.parse(read_file_bytes(path), yaml, path)
        return others, ignored

    def run(self):
        params = self.params
        _registries_d.validate_file_name(params["name"])
        try:
            for option in ("directory", "default_docker", "namespaces"):
                _inputs.refuse_control_characters(params[option], option)
            _inputs.refuse_long_path(params["directory"], "directory")
        except _inputs.InputError as exc:
            raise _registries_d.RegistriesDError(str(exc))
        _registries_d.refuse_unwritable_text(params["default_docker"], "default_docker")
        _registries_d.refuse_unwritable_text(params["namespaces"], "namespaces")
        _registries_d.validate_directory(_inputs.resolve_on_target(params["directory"]))
        if os.path.islink(self.path):
            raise _registries_d.RegistriesDError("%s is a symlink; refusing to write through it" % self.path)
        raw_before = read_file_bytes(self.path)
        before = None
        if raw_before is not None:
            try:
                before = _registries_d.parse(raw_before, yaml, self.path)
            except _registries_d.RegistriesDError as exc:
                self.module.warn("%s; it is replaced" % exc)
        others, ignored = self.load_others()
        if params["state"] == "absent":
            after, text = None, None
        else:
            after = _registries_d.build_config(params["default_docker"], params["namespaces"])
            conflicts = _registries_d.find_conflicts(after, self.path, others)
            if conflicts:
                raise _registries_d.RegistriesDError("; ".join(conflicts))
            text = _registries_d.render(after, HEADER)
        if params["state"] == "absent":
            changed = raw_before is not None
        else:
            changed = raw_before is None or before != after
        result = dict(changed=changed, path=self.path, config=after or {}, ignored_files=ignored,
                      foreign_conflicts=_registries_d.foreign_conflicts(others))
        for message in result["foreign_conflicts"]:
            self.module.warn(message + " (files this task does not manage)")
        for path in ignored:
            self.module.warn("%s is ignored by containers/image: only *.yaml files are read" % path)
        directory = params["directory"]
        if os.path.isdir(directory) and os.stat(directory).st_mode & 0o005 != 0o005:
            self.module.warn("%s is not readable by other users: every rootless podman pull fails with "
                             "\"permission denied\" (make it mode 0755)" % directory)
        if changed:
            result.update(replace_text_file(self.module, self.path, raw_before, text, params["backup"]))
        return result


def main():
    module = PodsecModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = RegistriesD(module).run()
    except _registries_d.RegistriesDError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (exc.filename or module.params["directory"], exc.strerror or exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
