# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The hardened_container role's data, computed once on the controller and checked before any host is touched.

hardened_container_plan turns the role's container list into what its tasks need (present and absent
containers, the quadlet_container elements, the secret files on the owner's tmpfs) and refuses, naming the
key or field, anything quadlet_container would refuse, plus keys of neither the module nor the role. It
never returns a secret value; hardened_container_secret_values (used only by a no_log task) does.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import (
    CONTAINER_OPTIONS,
    role_container_options,
    unknown_keys,
)
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    check_container,
    min_quadlet_version_text,
    shape_problem,
)

# quadlet_container options the role hands on as they are; volumes and secrets are translated, secret_files
# are the role's own.
_PASSED_ON = tuple(key for key in CONTAINER_OPTIONS if key not in ("volumes", "secrets", "secret_files"))


def _check(containers):
    if not isinstance(containers, list):
        raise AnsibleFilterError("hardened_container_containers: must be a list of containers")
    options = role_container_options()
    names = []
    for index, container in enumerate(containers):
        if not isinstance(container, dict):
            raise AnsibleFilterError("hardened_container_containers[%d]: must be a dictionary" % index)
        name = container.get("name")
        label = "hardened_container_containers[%s]" % (name if isinstance(name, str) else "#%d" % index)
        problems = unknown_keys(container, options, label)
        if problems:
            raise AnsibleFilterError("; ".join(problems))
        problem = shape_problem(container, options, label)
        if problem or not isinstance(name, str):
            raise AnsibleFilterError(problem or "%s: name is required" % label)
        if container.get("state", "present") not in ("present", "absent"):
            raise AnsibleFilterError("%s.state: must be present or absent" % label)
        for volume_index, volume in enumerate(container.get("volumes") or []):
            if isinstance(volume, dict) and volume.get("selinux", "private") not in ("private", "shared", "none"):
                raise AnsibleFilterError("%s.volumes[%d].selinux: must be private, shared or none" % (label, volume_index))
        if name in names:
            raise AnsibleFilterError("%s: the name is declared twice" % label)
        names.append(name)


def _first(*values):
    """The first value that is set, as a string."""
    return str(next(value for value in values if value is not None))


def _secret_mount(container, secret, user, secrets_path):
    """The file on the owner's tmpfs that holds one secret value, and how the container mounts it.

    Rootful: owned by the container user (idmapped into the container), mode as declared. Rootless podman
    cannot idmap, and UserNS=auto maps the owner to no container uid: world-readable inside the owner's
    0700 mount.
    """
    rootless = user != "root"
    user_id = _first(container.get("user"), CONTAINER_OPTIONS["user"]["default"]).split(":", 1)[0]
    file_name = "%s.%s" % (container["name"], secret["name"])
    return {
        "container": container["name"],
        "secret": secret["name"],
        "name": file_name,
        "source": "%s/%s" % (secrets_path, file_name),
        "target": secret.get("target") or "/run/secrets/%s" % secret["name"],
        "idmap": not rootless,
        "owner": user if rootless else _first(secret.get("uid"), user_id),
        "group": user if rootless else _first(secret.get("gid"), container.get("group"), user_id),
        "mode": "0444" if rootless else _first(secret.get("mode"), "0400"),
    }


def _unit_element(container, mounts, level):
    element = dict((key, container[key]) for key in _PASSED_ON if key in container)
    element["name"] = container["name"]
    element["volumes"] = [dict((key, value) for key, value in volume.items() if key != "selinux")
                          for volume in container.get("volumes") or []]
    element["secrets"] = [dict((key, value) for key, value in secret.items() if key != "value")
                          for secret in container.get("secrets") or [] if "value" not in secret]
    element["secret_files"] = [dict(source=mount["source"], target=mount["target"], idmap=mount["idmap"])
                               for mount in mounts if mount["container"] == container["name"]]
    if container.get("security_label_level") is None and level is not None:
        element["security_label_level"] = level
    return element


def hardened_container_plan(containers, user, secrets_path, levels=None):
    """What the role does with ``containers`` for the owner ``user``; fails naming the key or field."""
    _check(containers)
    levels = levels or {}
    present = [c for c in containers if c.get("state", "present") == "present"]
    mounts = [_secret_mount(c, secret, user, secrets_path)
              for c in present for secret in c.get("secrets") or [] if "value" in secret]
    units = [_unit_element(c, mounts, levels.get(c["name"])) for c in present]
    for element in units:
        problem = check_container(element, "hardened_container_containers[%s]" % element["name"])
        if problem:
            raise AnsibleFilterError(problem)
    return {
        "present": [{"name": c["name"], "started": c.get("started", True),
                     "volumes": [dict(volume, selinux=volume.get("selinux", "private"))
                                 for volume in c.get("volumes") or []]} for c in present],
        "absent": [c["name"] for c in containers if c.get("state", "present") == "absent"],
        "units": units,
        "secret_mounts": mounts,
        "min_podman": min_quadlet_version_text(),
    }


def hardened_container_secret_values(containers, secret_mounts):
    """tmpfs_secret's ``secrets``: one entry with its value per secret file. Only for a no_log task."""
    values = {}
    for container in containers:
        for secret in container.get("secrets") or []:
            if "value" in secret:
                values[(container["name"], secret["name"])] = secret["value"]
    return [{"name": mount["name"], "content": values[(mount["container"], mount["secret"])], "owner": mount["owner"],
             "group": mount["group"], "mode": mount["mode"], "state": "present"} for mount in secret_mounts]


class FilterModule(object):
    """The hardened_container role's data filters."""

    def filters(self):
        return {
            "hardened_container_plan": hardened_container_plan,
            "hardened_container_secret_values": hardened_container_secret_values,
        }
