# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The hardened_container role's data, computed once on the controller and checked before any host is touched.

hardened_container_plan turns the role's container list into what its step needs (present and absent
containers, the quadlet_container elements, the secret files on the owner's tmpfs) and refuses, naming the
key or field, anything quadlet_container would refuse, plus keys of neither the module nor the role. It
never returns a secret value. The role's step (the hardened_container_apply action) calls it, then
secret_values (handed only to tmpfs_secret, run as a no_log task) and with_levels.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import (
    CONTAINER_OPTIONS,
    UNIT_KINDS,
    role_container_options,
    role_kind_options,
    unknown_keys,
)
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    QuadletError,
    check_container,
    check_units,
    internal_network_problem,
    min_quadlet_version_text,
    shape_problem,
    validate_name,
)

# quadlet_container options the role hands on as they are; volumes and secrets are translated, secret_files
# are the role's own.
_PASSED_ON = tuple(key for key in CONTAINER_OPTIONS if key not in ("volumes", "secrets", "secret_files"))


def _plain(value):
    """``value`` with every mapping a dict, every list a list and every tuple a tuple, all the way down.

    ansible-core 2.19 hands a filter lazy containers: each holds the templar and its variables, and a deep
    copy (ArgumentSpecValidator copies the parameters of each container it checks) copies them too. The
    plan of 30 containers took 0.6 to 2.8 s of controller CPU per host that way, and more the more variables
    a host has, against about 0.01 s on plain data. Reading each value once here renders it as before.
    """
    if isinstance(value, Mapping):
        return dict((key, _plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value


def _label(variable, name, index):
    """VARIABLE[NAME] for a valid unit name, else VARIABLE[#INDEX]: a message never repeats a raw value (a line
    break of its own, or a name of any length)."""
    try:
        validate_name(name)
    except QuadletError:
        return "%s[#%d]" % (variable, index)
    return "%s[%s]" % (variable, name)


def _refuse_absent_name(name, label):
    """An absent item's name is what is stopped or removed (and is logged with the module's arguments on the
    host): it must be a unit name too, as check_container and check_unit require of a present one."""
    try:
        validate_name(name)
    except QuadletError as exc:
        raise AnsibleFilterError("%s: %s" % (label, exc))


def _check(containers):
    if not isinstance(containers, list):
        raise AnsibleFilterError("hardened_container_containers: must be a list of containers")
    options = role_container_options()
    names = []
    for index, container in enumerate(containers):
        if not isinstance(container, dict):
            raise AnsibleFilterError("hardened_container_containers[%d]: must be a dictionary" % index)
        name = container.get("name")
        label = _label("hardened_container_containers", name, index)
        problems = unknown_keys(container, options, label)
        if problems:
            raise AnsibleFilterError("; ".join(problems))
        problem = shape_problem(container, options, label)
        if problem or not isinstance(name, str):
            raise AnsibleFilterError(problem or "%s: name is required" % label)
        if container.get("state", "present") not in ("present", "absent"):
            raise AnsibleFilterError("%s.state: must be present or absent" % label)
        if container.get("state") == "absent":
            _refuse_absent_name(name, label)
        if not isinstance(container.get("started", True), bool):
            # not coerced: the string "false" (an AWX survey answer) is true in the plan's hands
            raise AnsibleFilterError("%s.started: must be true or false (a boolean, not %s)"
                                     % (label, type(container["started"]).__name__))
        for secret_index, secret in enumerate(container.get("secrets") or []):
            # checked here, not only by check_container: the secret files are planned before it runs
            if isinstance(secret, dict) and not isinstance(secret.get("name"), str):
                raise AnsibleFilterError("%s.secrets[%d].name: is required" % (label, secret_index))
        for volume_index, volume in enumerate(container.get("volumes") or []):
            problem = _volume_problem(volume)
            if problem:
                raise AnsibleFilterError("%s.volumes[%d].%s" % (label, volume_index, problem))
        if name in names:
            raise AnsibleFilterError("%s: the name is declared twice" % label)
        names.append(name)


def _volume_problem(volume):
    """What is wrong with a volume's role keys (selinux, private), or None."""
    if not isinstance(volume, dict):
        return None
    selinux = volume.get("selinux", "private")
    if selinux not in ("private", "shared", "none"):
        return "selinux: must be private, shared or none"
    private = volume.get("private")
    if private is not None and not isinstance(private, bool):
        return "private: must be true or false"
    if private and selinux == "shared":
        return "private: a volume declared shared (selinux: shared) cannot belong to one container"
    if private is False and selinux == "private":
        return ("private: false needs selinux: shared or none (the role would create the directory mode 0700 "
                "for a container user who does not own it)")
    return None


def _is_private(volume):
    """Host-path volumes belong to their container unless they are declared shared."""
    if not str(volume.get("source") or "").startswith("/"):
        return False
    return volume.get("private", volume.get("selinux", "private") != "shared")


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


def _check_secret_files(mounts):
    """Two secrets may not share a file on the owner's tmpfs: CONTAINER.SECRET of container a, secret b.c and
    of container a.b, secret c are both a.b.c (one would get the other's value). Refused before any value is
    sent; tmpfs_secret would refuse it on the host."""
    seen = {}
    for mount in mounts:
        earlier = seen.setdefault(mount["name"], mount)
        if earlier is not mount:
            raise AnsibleFilterError(
                "hardened_container_containers[%s].secrets[%s]: its file on the owner's tmpfs, %s, is also that of "
                "hardened_container_containers[%s].secrets[%s]; rename one of the secrets"
                % (mount["container"], mount["secret"], mount["name"], earlier["container"], earlier["secret"]))


def _unit_element(container, mounts, level):
    element = dict((key, container[key]) for key in _PASSED_ON if key in container)
    element["name"] = container["name"]
    element["volumes"] = [dict([(key, value) for key, value in volume.items() if key not in ("selinux", "private")]
                               + [("private", _is_private(volume))])
                          for volume in container.get("volumes") or []]
    element["secrets"] = [dict((key, value) for key, value in secret.items() if key != "value")
                          for secret in container.get("secrets") or [] if "value" not in secret]
    element["secret_files"] = [dict(source=mount["source"], target=mount["target"], idmap=mount["idmap"])
                               for mount in mounts if mount["container"] == container["name"]]
    if container.get("security_label_level") is None and level is not None:
        element["security_label_level"] = level
    return element


def _check_other_units(declared):
    """The role's networks, volumes and pods: lists of units, each with a unique name and the role's state key.

    Returns {module option: [elements without state]} of the present ones and the file names of the absent ones.
    """
    present, absent = {}, []
    for option, variable, suffix, _section, _options in UNIT_KINDS:
        units = declared.get(variable)
        if units is None:
            units = []
        if not isinstance(units, list):
            raise AnsibleFilterError("%s: must be a list" % variable)
        names = []
        for index, unit in enumerate(units):
            if not isinstance(unit, dict):
                raise AnsibleFilterError("%s[%d]: must be a dictionary" % (variable, index))
            name = unit.get("name")
            label = _label(variable, name, index)
            problems = unknown_keys(unit, role_kind_options(suffix), label)
            if problems:
                raise AnsibleFilterError("; ".join(problems))
            if unit.get("state", "present") not in ("present", "absent"):
                raise AnsibleFilterError("%s.state: must be present or absent" % label)
            if unit.get("state", "present") == "absent":
                _refuse_absent_name(name, label)
            if name in names:
                raise AnsibleFilterError("%s: the name is declared twice" % label)
            names.append(name)
        present[option] = [dict((k, v) for k, v in unit.items() if k != "state")
                           for unit in units if unit.get("state", "present") == "present"]
        absent.extend("%s.%s" % (unit["name"], suffix) for unit in units if unit.get("state", "present") == "absent")
        problem = check_units({option: present[option]}, {option: variable})
        if problem:
            raise AnsibleFilterError(problem)
    return present, absent


def hardened_container_plan(containers, user, secrets_path, levels=None, networks=None, volumes=None, pods=None):
    """What the role does with ``containers`` (and the ``networks``, ``volumes`` and ``pods`` they use) for the
    owner ``user``; fails naming the key or field."""
    containers, networks, volumes, pods = _plain(containers), _plain(networks), _plain(volumes), _plain(pods)
    _check(containers)
    other_units, other_absent = _check_other_units(dict(
        hardened_container_networks=networks, hardened_container_volumes=volumes, hardened_container_pods=pods))
    levels = levels or {}
    present = [c for c in containers if c.get("state", "present") == "present"]
    mounts = [_secret_mount(c, secret, user, secrets_path)
              for c in present for secret in c.get("secrets") or [] if "value" in secret]
    _check_secret_files(mounts)
    units = [_unit_element(c, mounts, levels.get(c["name"])) for c in present]
    for element in units:
        problem = check_container(element, "hardened_container_containers[%s]" % element["name"])
        if problem:
            raise AnsibleFilterError(problem)
    problem = internal_network_problem(units, other_units["network_units"], other_units["pod_units"],
                                       "hardened_container_containers")
    if problem:
        raise AnsibleFilterError(problem.replace("pod_units[", "hardened_container_pods["))
    return {
        "started": [c["name"] for c in present if c.get("started", True)],
        "host_volumes": any(isinstance(volume.get("source"), str) and volume["source"].startswith("/")
                            for c in present for volume in c.get("volumes") or []),
        "present": [{"name": c["name"], "started": c.get("started", True),
                     "volumes": [dict(volume, selinux=volume.get("selinux", "private"), private=_is_private(volume))
                                 for volume in c.get("volumes") or []]} for c in present],
        "absent": [c["name"] for c in containers if c.get("state", "present") == "absent"],
        "units": units,
        "other_units": other_units,
        "other_absent": other_absent,
        "secret_mounts": mounts,
        "min_podman": min_quadlet_version_text(),
    }


def with_levels(units, levels):
    """The plan's ``units`` with the SELinux level of each container that has one and declares none itself.

    Lets the role check and plan once, before the volumes are labelled, and add the levels the labelling
    returned afterwards without checking and planning again (what _unit_element does with ``levels``).
    """
    if not levels:
        return units
    return [dict(unit, security_label_level=levels[unit["name"]])
            if unit.get("security_label_level") is None and levels.get(unit["name"]) is not None else unit
            for unit in units]


def secret_values(containers, secret_mounts):
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
        }
