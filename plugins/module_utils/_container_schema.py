# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""The one schema of a container: every key, its type, its secure default and its description.

Everything else derives from it: quadlet_container's argument spec and the per-container part of its
DOCUMENTATION, the defaults _quadlet.normalize() fills in, the role's own keys in the hardened_container role's
``meta/argument_specs.yml``, the key tables of its docs page (docs/roles/hardened_container.md) and the role's check
for unknown keys. ``tests/docs/sync_container_schema.py`` writes the generated parts of the module's DOCUMENTATION
and of the role's argument specs; a unit test fails when they differ from this file.
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
        "Image reference. Required when O(state=present). It must name its registry host (the part before the "
        "first C(/) contains C(.) or C(:) or is C(localhost), as in C(docker.io/library/busybox) or "
        "C(localhost/app)); a short name such as C(busybox) or C(library/httpd) is refused unless "
        "O(short_name_ok=true). A transport prefix (C(oci-archive:), C(dir:), C(docker-archive:), "
        "C(docker-daemon:), C(docker://)) is always refused: the image comes from a registry, through the trust "
        "policy."]},
    "auto_update": {"type": "bool", "default": False, "description": [
        "C(AutoUpdate=registry) (before podman 4.6 the label C(io.containers.autoupdate=registry)): "
        "C(podman auto-update), run by C(podman-auto-update.timer), pulls a new digest behind the image's tag "
        "through the owner's trust policy (a refused one is not deployed) and restarts the container. With "
        "C(apply) (the role always applies), the owner's C(podman-auto-update.timer) is enabled and started when a "
        "container sets it."]},
    "short_name_ok": {"type": "bool", "default": False, "description": [
        "Allow a short O(image) name. Podman then resolves it on the host through the search registries and "
        "short-name aliases of C(registries.conf), so which registry (and which trust policy scope) the image comes "
        "from is decided by the host's configuration, not by the reference."]},
    "setuid_root_ok": {"type": "bool", "default": False, "description": [
        "Deploy the container although its image has setuid-root files (or could not be looked at for them). "
        "With C(apply) (the role always applies), each image the owner's storage holds is mounted read-only "
        "(C(podman unshare) for a rootless owner) and walked after the pull and before any unit file changes; "
        "setuid-root files fail the task naming the image, the paths and this option. Such a file gives whoever "
        "runs it root inside the container if C(no_new_privileges) is ever turned off (it is on by default); "
        "many distribution base images carry setuid-root C(su), C(passwd) or C(mount) (rebuild with "
        "C(RUN find / -xdev -perm -4000 -type f -exec chmod u-s {} +)). In check mode an image that would be "
        "pulled is not judged.",
        "The unit carries the choice as a header comment line (C(setuid_root_ok: true ...)): turning the option off "
        "changes the unit, and that redeploy looks inside the image again, also while the container runs it. "
        "What is not looked at: an image every container of it already runs with an unchanged unit (a re-run, or "
        "containers deployed before this check existed: C(container_posture inspect_images) reports those); an "
        "image pulled later by the service itself (C(Pull=) in C(extra_keys)) or by C(podman auto-update) "
        "(C(auto_update)); file capabilities are reported as findings, not refused."]},
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
        "options, which can open the host's loopback), the name of a podman network, or C(NAME.network) for a declared "
        "C(.network) unit. V(host) needs O(allow_host_network=true); another container's or pod's namespace and "
        "namespace paths are refused.",
        "Unset, the container shares no network with any other container: V(none) (a loopback only) when it "
        "publishes no port; with O(ports), V(pasta) for a rootless owner, and for root a bridge network of its own "
        "(C(NAME.network) with C(Options=isolate=strict), written by the role and the C(containers) form of "
        "M(podsec.hardening.quadlet_container); its single form leaves it on podman's default network and warns). "
        "V(bridge), V(private) or V(podman) join podman's "
        "default network, shared by every container on it: the explicit opt-out."]},
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

# Container options that join a declared unit (O(network) takes C(NAME.network) too).
CONTAINER_OPTIONS["pod"] = {"type": "str", "description": [
    "Name of a declared pod (a C(.pod) unit of the same call, or one already installed) to run the container in (C(Pod=NAME.pod), "
    "podman 5.0 or later). The container then shares the pod's network, published ports and user namespace: "
    "O(network) and O(ports) are refused with it, and O(userns) is not written (set it on the pod)."]}

_LABELS = {"type": "dict", "default": {}, "description": [
    "Labels (C(Label=NAME=VALUE)); one word each, not in the C(io.podman.), C(io.containers.), C(run.oci.) or "
    "C(org.systemd.) namespaces."]}
_UNIT_DESCRIPTION = {"type": "str", "description": ["C(Description=) of the unit; default one naming the unit."]}

# The options of one C(.network) unit (element of quadlet_container's network_units). Only bridge networks with
# netavark's own IPAM: no host interfaces (macvlan, ipvlan), no DHCP proxy, no options that pick a host interface.
NETWORK_OPTIONS = {
    "internal": {"type": "bool", "default": True, "description": [
        "C(Internal=true): the network has no route out of the host and no NAT; containers on it reach each other "
        "and nothing else. V(false) is the opt-out that lets them reach other hosts (egress)."]},
    "isolate": {"type": "str", "default": "strict", "choices": ["strict", "true", "false"], "description": [
        "netavark's C(isolate) option (C(Options=isolate=...)): V(strict) drops traffic forwarded between this "
        "network and any other bridge network, V(true) only between networks that are isolated too, V(false) is "
        "the opt-out."]},
    "subnet": {"type": "str", "description": ["C(Subnet=), an IPv4 or IPv6 network such as V(10.89.7.0/24); default "
                                              "a free one from podman's pools."]},
    "gateway": {"type": "str", "description": ["C(Gateway=), an address within the subnet (needs C(subnet))."]},
    "ip_range": {"type": "str", "description": ["C(IPRange=), a network within the subnet that addresses are "
                                                "allocated from (needs C(subnet))."]},
    "ipv6": {"type": "bool", "default": False, "description": ["C(IPv6=true): also an IPv6 subnet."]},
    "dns": {"type": "list", "elements": "str", "default": [], "description": [
        "C(DNS=) servers (IP addresses) of the containers on the network."]},
    "disable_dns": {"type": "bool", "default": False, "description": [
        "C(DisableDNS=true): no name resolution of the other containers on the network."]},
    "allow_host_users": {"type": "bool", "default": False, "description": [
        "Opt-out that lets host processes other than root open connections to the containers on a rootful "
        "network. By default the network's service adds its bridge to the nftables set C(bridges) of the table "
        "C(inet podsec_isolation), whose C(output) chain rejects new connections from non-root host processes "
        "to those bridges except to published ports: a rootless container's pasta connects from the host, so "
        "without it every rootless container reaches every port of the rootful containers on the network. Needs "
        "C(nft) on the host (the service fails without it). Rootless networks live in the owner's own network "
        "namespace and need no rule."]},
    "labels": _LABELS,
    "description": _UNIT_DESCRIPTION,
}

# The options of one C(.volume) unit: a named volume of the local driver. No Device= (a host device or a host
# path bound by Options=bind), Type=, Options=, Driver=image or User=/Group= (the container's user namespace
# decides its owner).
VOLUME_UNIT_OPTIONS = {
    "copy": {"type": "bool", "default": False, "description": [
        "C(Copy=true): the image's content at the mount point is copied into the volume on first use."]},
    "labels": _LABELS,
    "description": _UNIT_DESCRIPTION,
}

# The options of one C(.pod) unit (podman 5.0 or later): the network, published ports and user namespace its
# containers share, with the same rules and opt-outs as a container's.
POD_OPTIONS = dict((key, copy.deepcopy(CONTAINER_OPTIONS[key])) for key in (
    "userns", "allow_host_userns", "network", "allow_host_network", "ports", "publish_on_all_addresses"))
POD_OPTIONS["network"]["description"] = [
    "Network of the pod (C(Network=)), with the values and refusals of a container's O(network). Unset: V(none) "
    "when the pod publishes no port, V(pasta) for a rootless owner; a rootful pod must "
    "name one (a C(NAME.network) unit) when it publishes C(ports), so that it shares no network by default."]
POD_OPTIONS["userns"]["default"] = "auto:size=65536"
POD_OPTIONS["userns"]["description"] = [
    "User namespace of the pod and its containers (C(UserNS=)), with the values and refusals of a container's "
    "O(userns). The default V(auto:size=65536) gives the pod a range of its own that maps the containers' default "
    "uid 10001: a plain V(auto) sizes the range from the pod's infra image, which uses only uid 0, and then no "
    "container user above 1023 can start (seen with podman 5.4)."]
POD_OPTIONS["description"] = _UNIT_DESCRIPTION

# Unit kinds besides .container: (module option, role variable, file suffix, section, options).
UNIT_KINDS = (
    ("network_units", "hardened_container_networks", "network", "Network", NETWORK_OPTIONS),
    ("volume_units", "hardened_container_volumes", "volume", "Volume", VOLUME_UNIT_OPTIONS),
    ("pod_units", "hardened_container_pods", "pod", "Pod", POD_OPTIONS),
)
UNIT_NAME_OPTION = {"type": "str", "required": True, "description": [
    "Unit name (letters, digits, C(_ . @ -)); the file is C(NAME.network), C(NAME.volume) or C(NAME.pod). Containers "
    "refer to it as C(NAME.network) in their C(network), C(NAME.volume) as a volume C(source), and C(NAME) in their "
    "C(pod)."]}


def kind_options(kind):
    """The options of one unit of ``kind`` (network, volume or pod), its name included."""
    for _option, _variable, suffix, _section, options in UNIT_KINDS:
        if suffix == kind:
            result = {"name": UNIT_NAME_OPTION}
            result.update(options)
            return result
    raise KeyError(kind)


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

# Second comment line of every unit the hardened_container role installs; units carrying it are the ones its
# prune may remove and the ones container_posture calls managed.
ROLE_MARKER = "podsec.hardening.hardened_container: installed by this role, local changes are overwritten"

# The options of podsec.hardening.hardened_container_apply, the role's one step: its variables without the
# hardened_container_ prefix, with the role's defaults (the role's argument spec describes each and checks the
# lists' items; the action checks them again with the container schema). Not the containers: the action reads
# hardened_container_containers itself, so that their secret values are never in the task's arguments. The
# lists are raw, so that the plan refuses an item that is not a dictionary (a "dict" element would turn a
# "key=value" string into one), and secrets_path a string, not a path (a path would be expanded on the controller).
APPLY_OPTIONS = {
    "networks": {"type": "raw", "default": []},
    "volumes": {"type": "raw", "default": []},
    "pods": {"type": "raw", "default": []},
    "user": {"type": "str", "default": "root"},
    "prune": {"type": "bool", "default": False},
    "managed_header": {"type": "str", "default": "Ansible managed"},
    "subid_start": {"type": "int", "default": 2147483647},
    "subid_count": {"type": "int", "default": 2147483648},
    "user_manager_timeout": {"type": "int", "default": 30},
    "start_settle": {"type": "float", "default": 0.5},
    "pull": {"type": "str", "default": "missing", "choices": ["missing", "newer"]},
    "selinux_when_disabled": {"type": "str", "default": "record", "choices": ["record", "rules", "skip", "fail"]},
    "secrets_path": {"type": "str", "no_log": False},
    "secrets_size": {"type": "str", "default": "1m", "no_log": False},
    "secrets_on_no_noswap": {"type": "str", "default": "fail", "choices": ["fail", "ramfs", "allow_swap"]},
}


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


ROLE_UNIT_STATE = {"type": "str", "default": "present", "choices": ["present", "absent"], "description": [
    "V(absent) removes the unit file (the podman network, volume or pod it created stays; remove it with podman)."]}


def role_kind_options(kind):
    """The options of one item of hardened_container_networks, _volumes or _pods: the module's, plus state."""
    options = kind_options(kind)
    result = {"name": options.pop("name"), "state": ROLE_UNIT_STATE}
    result.update(options)
    return result


def kind_documentation(kind):
    """The per-unit options of network_units, volume_units or pod_units as the module's DOCUMENTATION writes them."""
    return documentation(kind_options(kind))


def role_kind_argument_spec(kind):
    """role_argument_spec() for hardened_container_networks, _volumes or _pods."""
    variable = [v for _o, v, suffix, _s, _p in UNIT_KINDS if suffix == kind][0]
    options = role_kind_options(kind)
    spec = documentation(options, "options", ("elements", "required", "default", "choices", "no_log"))
    pattern = re.compile(r"O\((%s)\b" % "|".join(sorted(options, key=len, reverse=True)))
    return _rewrite_descriptions(spec, lambda text: pattern.sub(lambda m: "O(%s[].%s" % (variable, m.group(1)), text))


def role_argument_spec(variable="hardened_container_containers"):
    """The keys of one container in the role's terms (its docs page's key table, tests/docs/role_docs.py).

    Role argument specs nest with ``options`` and may mark an option ``no_log`` (the secret ``value``). An option
    reference O(...) names the role's option from its entry point: ``O(user)`` becomes
    ``O(hardened_container_containers[].user)``.
    """
    options = role_container_options()
    spec = documentation(options, "options", ("elements", "required", "default", "choices", "no_log"))
    pattern = re.compile(r"O\((%s)\b" % "|".join(sorted(options, key=len, reverse=True)))
    return _rewrite_descriptions(spec, lambda text: pattern.sub(lambda m: "O(%s[].%s" % (variable, m.group(1)), text))


def role_keys_description(kind=None):
    """The role's own keys of one item of hardened_container_containers (``kind`` None) or of its networks, volumes
    or pods, as lines of that variable's description in the role's argument specs.

    The argument specs declare these variables lists of dictionaries without their per-key spec: Ansible's role
    validation templates, copies and sends back its whole argument spec on every host (for the container keys the
    largest part of the role's controller time per host, docs/fleet.md), and the role's step checks every key at any
    depth with this schema anyway. The keys of the module are documented with the module; these are the role's.
    Option references become code: the argument specs have no such sub-options to link to.
    """
    if kind is None:
        keys = [(name, option) for name, option in ROLE_CONTAINER_KEYS.items() if name != "name"]
        keys += [("volumes[].%s" % name, option) for name, option in ROLE_VOLUME_KEYS.items()]
        keys += [("secrets[].%s" % name, option) for name, option in ROLE_SECRET_KEYS.items()]
    else:
        keys = [("state", ROLE_UNIT_STATE)]
    lines = []
    for name, option in keys:
        facts = [option["type"]]
        if "choices" in option:
            facts.append("one of %s" % ", ".join(str(choice) for choice in option["choices"]))
        if "default" in option:
            default = option["default"]
            facts.append("default %s" % (str(default).lower() if isinstance(default, bool) else default))
        text = " ".join(option["description"])
        text = re.sub(r"O\(([^)=]+)=([^)]+)\)", r"C(\1=\2)", re.sub(r"O\(([^)=]+)\)", r"C(\1)", text))
        lines.append("C(%s) (%s): %s" % (name, "; ".join(facts), text))
    return lines


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
