# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""The one schema of a container: every key, its type, its secure default and its description.

Everything else derives from it: quadlet_container's argument spec and the per-container part of its
DOCUMENTATION, the defaults _quadlet.normalize() fills in, the hardened_container role's
``meta/argument_specs.yml`` (container keys as typed sub-options) and the role's check for unknown keys.
``tests/docs/sync_container_schema.py`` writes the generated parts of the module's DOCUMENTATION and of
the role's argument specs; a unit test fails when they differ from this file.
"""

from __future__ import annotations

import copy
import difflib
import re

_TMPFS = {
    "path": {"type": "str", "required": True, "description": ["Mount point inside the container."]},
    "size": {"type": "str", "default": "64m", "description": ["Size limit (C(size=))."]},
    "mode": {"type": "str", "default": "1777", "description": ["Octal mode of the mount's root."]},
    "exec": {"type": "bool", "default": False, "description": ["Opt-out that mounts it without C(noexec)."]},
}

_VOLUME = {
    "source": {"type": "str", "required": True, "description": [
        "Absolute host path, or the name of a podman volume (letters, digits, C(_ . -)).",
        "A host path is judged as the target resolves it (symlinks followed)."]},
    "target": {"type": "str", "required": True, "description": ["Absolute path inside the container."]},
    "options": {"type": "list", "elements": "str", "default": [], "description": [
        "Mount options, for example V(ro)."]},
    "private": {"type": "bool", "default": False, "description": [
        "Host paths only: the directory belongs to the container. Podman's C(U) option makes it, at each start, "
        "the container user's as mapped on the host (O(user) and O(group) inside), so that the container user "
        "can write it and no other container's host uid owns it; create it with mode 0700. A rootless owner's "
        "directory must belong to the owner. C(U) itself in O(volumes[].options) is refused on host paths."]},
}

_SECRET = {
    "name": {"type": "str", "required": True, "description": [
        "Secret name (must exist in the owner's podman secret store when the container starts)."]},
    "target": {"type": "str", "description": ["File name or path inside the container; default C(/run/secrets/NAME)."]},
    "mode": {"type": "str", "default": "0400", "description": ["Octal mode of the file."]},
    "uid": {"type": "str", "description": ["Owner of the file; default the numeric O(user)."]},
    "gid": {"type": "str", "description": ["Group of the file; default the numeric O(group)."]},
}

_SECRET_FILE = {
    "source": {"type": "str", "required": True, "description": ["Absolute path of the file on the host."]},
    "target": {"type": "str", "description": [
        "Absolute path inside the container; default C(/run/secrets/) plus the source's file name."]},
    "idmap": {"type": "bool", "default": False, "description": [
        "Mount it idmapped, so that a file owned by host uid N is owned by uid N inside the container's user "
        "namespace (rootful O(userns=auto); rootless podman cannot create idmapped mounts)."]},
}

_HEALTHCHECK = {
    "cmd": {"type": "str", "required": True, "description": ["Command run by C(/bin/sh -c) inside the container."]},
    "interval": {"type": "str", "description": ["Time between checks, for example V(30s)."]},
    "timeout": {"type": "str", "description": ["Time a check may take."]},
    "retries": {"type": "int", "description": ["Failures before the container is unhealthy."]},
    "start_period": {"type": "str", "description": ["Grace period after start."]},
}

# The per-container options of quadlet_container, in documentation order. ``name`` is documented by the
# module itself (it also selects the single form), so it is not here.
CONTAINER_OPTIONS = {
    "image": {"type": "str", "description": [
        "Image reference. Required when O(state=present)."]},
    "command": {"type": "list", "elements": "str", "description": [
        "Command and arguments (C(Exec=)). Each item is one argument, passed literally (C(%) and C($) are "
        "escaped); an empty argument is refused (Quadlet would drop it and every later one)."]},
    "run_init": {"type": "bool", "default": True, "description": [
        "Run an init process (catatonit, C(RunInit=true)) as PID 1 that forwards signals and reaps zombies. Without "
        "it, a workload that ignores SIGTERM as PID 1 (busybox httpd, many shells) is killed only when the stop "
        "times out, and a timed-out stop can leave the container behind."]},
    "user": {"type": "str", "default": "10001", "description": [
        "User (and optionally C(:group)) inside the container. Root (C(root), C(0), C(00), ...) is refused unless "
        "O(allow_root_user=true)."]},
    "group": {"type": "str", "description": ["Group inside the container (C(Group=))."]},
    "allow_root_user": {"type": "bool", "default": False, "description": [
        "Opt-out that allows O(user) to be C(0) or C(root)."]},
    "userns": {"type": "str", "default": "auto", "description": [
        "User namespace mode (C(UserNS=)). V(auto) gives each container its own range of host ids (rootful needs a "
        "C(containers) entry in C(/etc/subuid) and C(/etc/subgid)); V(nomap) (rootless) maps none of the owner's. "
        "Every other mode (V(host), V(keep-id), V(private), or the empty string, which writes no C(UserNS=) and "
        "leaves a rootful container in the host's user namespace) needs O(allow_host_userns=true)."]},
    "allow_host_userns": {"type": "bool", "default": False, "description": [
        "Opt-out that allows an O(userns) mode other than V(auto) and V(nomap)."]},
    "read_only": {"type": "bool", "default": True, "description": [
        "Read-only root file system (C(ReadOnly=true), and C(ReadOnlyTmpfs=false) so the only writable places are "
        "the O(tmpfs) mounts). V(false) is the opt-out."]},
    "no_new_privileges": {"type": "bool", "default": True, "description": [
        "C(NoNewPrivileges=true) (setuid binaries and file capabilities gain nothing). V(false) is the opt-out."]},
    "drop_all_capabilities": {"type": "bool", "default": True, "description": [
        "C(DropCapability=all). V(false) is the opt-out (podman's default capability set)."]},
    "add_capabilities": {"type": "list", "elements": "str", "default": [], "description": [
        "Capabilities to add back (C(AddCapability=)), for example V(NET_BIND_SERVICE). C(ALL) and the capabilities "
        "that reach past the container (C(SYS_ADMIN), C(SYS_MODULE), C(SYS_RAWIO), C(SYS_PTRACE), "
        "C(DAC_READ_SEARCH), C(BPF), C(PERFMON), C(MAC_ADMIN), ...) are refused, like C(--privileged)."]},
    "tmpfs": {"type": "list", "elements": "dict", "default": [{"path": "/tmp"}], "options": _TMPFS, "description": [
        "Writable tmpfs mounts, always C(rw,nosuid,nodev) and C(noexec) unless O(tmpfs[].exec=true).",
        "The default is one C(/tmp) of 64m, mode 1777. V([]) is the opt-out."]},
    "memory": {"type": "str", "default": "256m", "description": [
        "Memory limit (C(Memory=) from podman 5.5, C(PodmanArgs=--memory=) before). V(unlimited) is the opt-out."]},
    "pids_limit": {"type": "str", "default": "256", "description": [
        "Maximum number of processes (C(PidsLimit=) from podman 4.7, C(PodmanArgs=--pids-limit=) before). "
        "V(unlimited) is the opt-out."]},
    "ulimits": {"type": "dict", "default": {"nofile": "4096:8192", "nproc": "256:256"}, "description": [
        "Resource limits of the container's processes (C(Ulimit=NAME=SOFT:HARD) from podman 4.7, "
        "C(PodmanArgs=--ulimit=) before), C({NAME: SOFT[:HARD]}) with NAME one of C(core), C(cpu), C(data), "
        "C(fsize), C(locks), C(memlock), C(msgqueue), C(nice), C(nofile), C(nproc), C(rss), C(rtprio), "
        "C(rttime), C(sigpending), C(stack), C(as).",
        "The given names are merged over the defaults: C(nofile) 4096 open files (8192 hard), C(nproc) 256 "
        "processes and threads per user (the default O(pids_limit); counted per host uid, so it holds where "
        "no cgroup controller enforces O(pids_limit)). A value of V(host) is the opt-out for that name (no "
        "C(Ulimit=): the limit podman and the host give). This is the only way to set limits (C(--ulimit) in "
        "O(podman_args) and C(Ulimit) in O(extra_keys) are refused)."]},
    "network": {"type": "str", "description": [
        "Network (C(Network=)): V(none), V(private), V(bridge) (with options), V(slirp4netns) or V(pasta) (without "
        "options, which can open the host's loopback), or the name of a podman network or C(.network) unit. "
        "V(host) needs O(allow_host_network=true); another container's or pod's namespace and namespace paths are "
        "refused."]},
    "allow_host_network": {"type": "bool", "default": False, "description": ["Opt-out that allows O(network=host)."]},
    "ports": {"type": "list", "elements": "str", "default": [], "description": [
        "Published ports, C([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]). Without an address they are bound to "
        "C(127.0.0.1). A non-loopback address, or an empty one (C(:8080:80), all addresses), needs "
        "O(publish_on_all_addresses=true)."]},
    "publish_on_all_addresses": {"type": "bool", "default": False, "description": [
        "Opt-out that publishes ports without an address on every address, and allows non-loopback addresses."]},
    "volumes": {"type": "list", "elements": "dict", "default": [], "options": _VOLUME, "description": [
        "Volumes (C(Volume=SOURCE:TARGET[:OPTIONS])). A host path must lie below a data directory (C(/srv), "
        "C(/opt), C(/var/lib), C(/var/opt), C(/var/www), C(/mnt), C(/media), C(/data), C(/home)), checked as "
        "written and as the target resolves it (symlinks followed); not a data directory or home itself, not "
        "container storage or systemd state, not a dot file or directory of a home. CA certificates and time zone "
        "data (C(/etc/ssl/certs), C(/usr/share/zoneinfo), C(/etc/localtime), ...) may be mounted with V(ro). The "
        "options C(U) and C(idmap) are refused on host paths.",
        "Mounting a container engine socket (podman, docker, containerd, cri-o), a directory holding one, or "
        "container storage needs O(allow_engine_socket=true)."]},
    "allow_engine_socket": {"type": "bool", "default": False, "description": [
        "Opt-out that allows mounting a container engine socket or container storage (equivalent to root on the "
        "host)."]},
    "security_label_level": {"type": "str", "description": [
        "SELinux level of the container process (C(SecurityLabelLevel=)), for example the level that "
        "M(podsec.hardening.selinux_volume_label) returns for private volumes."]},
    "tightened_seccomp": {"type": "bool", "default": True, "description": [
        "Run under the collection's seccomp profile (C(SeccompProfile=/etc/containers/podsec/seccomp.json), "
        "installed by this module): podman's default profile with no namespace creation (C(unshare), C(setns) "
        "and C(clone) with C(CLONE_NEW*) flags answer EPERM, C(clone3) answers ENOSYS so the C library falls back "
        "to C(clone)), so that no nested user namespace hands the container user every capability inside it; "
        "and without the key ring, C(userfaultfd), C(perf_event_open), C(bpf), C(io_uring) and the mount API "
        "(EPERM). Shells, busybox, scripts and health checks run under it.",
        "V(false) is the opt-out (podman's default profile). O(seccomp_profile) replaces it."]},
    "seccomp_profile": {"type": "str", "description": [
        "Absolute path of a seccomp profile on the host (C(SeccompProfile=)) that replaces the O(tightened_seccomp) "
        "profile and podman's default, below "
        "C(/etc/containers) or C(/usr/share/containers) (as the target resolves it), where only root writes. "
        "This is the only way to change the profile; C(unconfined) is refused."]},
    "secrets": {"type": "list", "elements": "dict", "default": [], "options": _SECRET, "no_log": False,
                "description": [
                    "Podman secrets mounted as files (C(Secret=NAME,type=mount,...)); never as environment "
                    "variables."]},
    "secret_files": {"type": "list", "elements": "dict", "default": [], "options": _SECRET_FILE, "no_log": False,
                     "description": [
                         "Files bind-mounted read-only into the container (C(Mount=type=bind,...,readonly=true)), for "
                         "secrets kept on a tmpfs by M(podsec.hardening.tmpfs_secret). Nothing is copied to disk, "
                         "unlike O(secrets) (podman copies a C(type=mount) secret into the container's directory "
                         "under the graph root while it runs).",
                         "Sources are checked like host-path O(volumes)."]},
    "environment": {"type": "dict", "default": {}, "description": [
        "Environment variables. Names or values that look like credentials (PASSWORD, SECRET, TOKEN, KEY ... in the "
        "name, or a long high-entropy value) are refused unless O(allow_secret_like_environment=true); the "
        "refusal names the variable, never the value, and happens on the controller (nothing reaches the target)."]},
    "allow_secret_like_environment": {"type": "bool", "default": False, "description": [
        "Opt-out that allows secret-looking environment variables."]},
    "healthcheck": {"type": "dict", "options": _HEALTHCHECK, "description": [
        "Health check (C(HealthCmd=) and friends)."]},
    "podman_args": {"type": "list", "elements": "str", "default": [], "description": [
        "Extra C(podman run) arguments, C(--flag=value) or C(--flag value). Only flags that cannot weaken the "
        "container are accepted (for example C(--hostname), C(--workdir), C(--label), C(--annotation), C(--dns), "
        "C(--add-host), C(--stop-signal), C(--stop-timeout), C(--cpus), C(--shm-size), C(--tz), "
        "C(--pull), C(--log-driver), C(--log-opt) with C(max-size) or C(tag)); annotations and labels in the "
        "C(run.oci.), C(io.podman.), C(io.containers.), C(org.systemd.) namespaces are refused (they steer the "
        "runtime: C(run.oci.seccomp_bpf_data) replaces the seccomp filter); C(--pid=host) and C(--ipc=host) need "
        "O(allow_host_pid) and O(allow_host_ipc). Every other flag is refused, naming the option to use instead "
        "where there is one."]},
    "allow_host_pid": {"type": "bool", "default": False, "description": [
        "Opt-out that allows C(--pid=host) in O(podman_args)."]},
    "allow_host_ipc": {"type": "bool", "default": False, "description": [
        "Opt-out that allows C(--ipc=host) in O(podman_args)."]},
    "extra_keys": {"type": "dict", "default": {}, "no_log": False, "description": [
        "Further keys per section, C({SECTION: {KEY: VALUE or [VALUES]}}), SECTION one of C(Unit), C(Container), "
        "C(Service), C(Install). Key names must be unit-file keys (letters, digits, C(-)).",
        "Allowed: C(Container) keys that widen nothing (C(Annotation), C(Label), C(LogOpt) as in O(podman_args), "
        "C(HealthOnFailure), C(StopTimeout), C(Sysctl), ...); C(Service) restart, timeout and resource "
        "keys; C(Unit) ordering keys (C(After), C(Before)), C(Documentation), start limits and conditions; C(Install) "
        "C(WantedBy) with a target. Refused: keys an option manages, keys that switch a protection off "
        "(C(SecurityLabelDisable), C(Unmask), C(SeccompProfile), C(AppArmor), C(GlobalArgs), ...), C(Service) keys "
        "that run commands or steer podman (C(Exec*), C(Environment*), C(User)), and dependencies that would start "
        "or stop host units (C(Wants), C(Requires), C(Conflicts), C(OnFailure), C(RequiredBy), ...)."]},
    "description": {"type": "str", "description": [
        "C(Description=) of the unit; default C(Hardened container NAME)."]},
    "restart": {"type": "str", "default": "always",
                "choices": ["no", "always", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog"],
                "description": ["C(Restart=) of the service."]},
    "wanted_by": {"type": "str", "description": [
        "C(WantedBy=) target (a C(.target) unit); default C(multi-user.target), or C(default.target) for a "
        "rootless owner."]},
}

# Keys the hardened_container role adds to a container, and keys of its elements it adds to the module's.
ROLE_CONTAINER_KEYS = {
    "name": {"type": "str", "required": True, "description": [
        "Unit, service and container name (letters, digits, C(_ . @ -))."]},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"], "description": [
        "V(absent) stops the container and removes its unit."]},
    "started": {"type": "bool", "default": True, "description": [
        "V(false) installs and validates the unit without starting it."]},
}
ROLE_VOLUME_KEYS = {
    "private": {"type": "bool", "description": [
        "Host paths only: the directory belongs to this container (podman's C(U) option, see "
        "M(podsec.hardening.quadlet_container)); the role creates a missing one with mode 0700, owned by the "
        "rootless owner when there is one. Default V(true), V(false) when O(volumes[].selinux) is V(shared): a "
        "volume several containers use says so with O(volumes[].selinux=shared), and V(false) is then required.",
        "V(false) with O(volumes[].selinux=private) is refused (the role would create a directory no container "
        "user can enter)."]},
    "selinux": {"type": "str", "default": "private", "choices": ["private", "shared", "none"], "description": [
        "Host paths only: V(private) gives the volume MCS categories of its own (through "
        "M(podsec.hardening.selinux_volume_label)), V(shared) the shareable C(s0) label, V(none) leaves it alone."]},
}
ROLE_SECRET_KEYS = {
    "value": {"type": "str", "no_log": True, "description": [
        "The secret itself: stored on the owner's tmpfs by M(podsec.hardening.tmpfs_secret) and bind-mounted "
        "read-only, never written to disk or passed to a logged module argument. Without it, the secret must "
        "exist in podman's secret store under its name."]},
}
# Options of the module that the role sets itself.
ROLE_MANAGED = ("secret_files",)


def _without(spec, keys):
    return dict((key, value) for key, value in spec.items() if key not in keys)


def argument_spec(options=None):
    """An AnsibleModule argument spec (no descriptions) for ``options`` (default CONTAINER_OPTIONS)."""
    result = {}
    for name, option in (CONTAINER_OPTIONS if options is None else options).items():
        entry = copy.deepcopy(_without(option, ("description", "options")))
        if "options" in option:
            entry["options"] = argument_spec(option["options"])
        result[name] = entry
    return result


def defaults():
    """The secure default of every top-level option (None where there is none)."""
    return dict((name, copy.deepcopy(option.get("default"))) for name, option in CONTAINER_OPTIONS.items())


def sub_defaults(option):
    """The defaults of the sub-options of ``option`` (tmpfs, volumes, secrets, ...)."""
    return dict((name, copy.deepcopy(sub.get("default"))) for name, sub in CONTAINER_OPTIONS[option]["options"].items())


def documentation(options=None, nested="suboptions", keys=("elements", "required", "default", "choices")):
    """``options`` as a module's DOCUMENTATION writes them (``suboptions`` for nested ones)."""
    result = {}
    for name, option in (CONTAINER_OPTIONS if options is None else options).items():
        entry = {"description": list(option["description"]), "type": option["type"]}
        for key in keys:
            if key in option:
                entry[key] = copy.deepcopy(option[key])
        if "options" in option:
            entry[nested] = documentation(option["options"], nested, keys)
        result[name] = entry
    return result


def role_container_options():
    """The options of one item of ``hardened_container_containers``: the module's, plus the role's own keys."""
    options = copy.deepcopy(ROLE_CONTAINER_KEYS)
    for name, option in CONTAINER_OPTIONS.items():
        if name in ROLE_MANAGED:
            continue
        option = copy.deepcopy(option)
        if name == "volumes":
            option["options"].update(copy.deepcopy(ROLE_VOLUME_KEYS))
        elif name == "secrets":
            option["options"].update(copy.deepcopy(ROLE_SECRET_KEYS))
        options[name] = option
    return options


def role_argument_spec(variable="hardened_container_containers"):
    """The options of one container as the role's argument_specs.yml carries them.

    Role argument specs nest with ``options`` and may mark an option ``no_log`` (the secret ``value``). An option
    reference O(...) names the role's option from its entry point: ``O(user)`` becomes
    ``O(hardened_container_containers[].user)``.
    """
    options = role_container_options()
    spec = documentation(options, "options", ("elements", "required", "default", "choices", "no_log"))
    pattern = re.compile(r"O\((%s)\b" % "|".join(sorted(options, key=len, reverse=True)))
    return _rewrite_descriptions(spec, lambda text: pattern.sub(lambda m: "O(%s[].%s" % (variable, m.group(1)), text))


def _rewrite_descriptions(spec, rewrite):
    result = {}
    for name, entry in spec.items():
        entry = dict(entry, description=[rewrite(line) for line in entry["description"]])
        if "options" in entry:
            entry["options"] = _rewrite_descriptions(entry["options"], rewrite)
        result[name] = entry
    return result


def closest(key, known):
    """The known key nearest to a mistyped one, for a message ("did you mean ...")."""
    matches = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_keys(item, options, where):
    """Messages for every key of ``item`` (nested dicts and lists of dicts too) that ``options`` does not know.

    Each message names the key and the closest valid one, never a value.
    """
    problems = []
    for key in item:
        if key not in options:
            hint = closest(str(key), options)
            problems.append("%s: unknown key %r%s" % (where, key, " (did you mean %r?)" % hint if hint else ""))
            continue
        sub = options[key].get("options")
        value = item[key]
        if sub is None or value is None:
            continue
        elements = value if isinstance(value, list) else [value]
        for index, element in enumerate(elements):
            if isinstance(element, dict):
                label = "%s.%s[%d]" % (where, key, index) if isinstance(value, list) else "%s.%s" % (where, key)
                problems.extend(unknown_keys(element, sub, label))
    return problems
