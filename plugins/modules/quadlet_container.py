#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: quadlet_container
short_description: Install a Quadlet C(.container) unit that is secure by default, validated before it is installed
version_added: 0.1.0
description:
  - Renders one container specification into a Quadlet C(.container) unit with secure defaults (read-only root,
    no new privileges, every capability dropped, a non-root user in its own user namespace, C(noexec,nosuid,nodev)
    tmpfs with a size, memory and pids limits, ports published on 127.0.0.1, secrets as files).
  - Weakening a default needs its opt-out option by name; privileged containers are always refused.
  - Version aware; keys the host's podman does not know are never written. They become the equivalent
    C(PodmanArgs=) argument when podman has one (for example C(Memory=) before podman 5.5 becomes
    C(PodmanArgs=--memory=)), otherwise the module fails naming the key.
  - The unit is checked with the Quadlet generator's dry run (C(quadlet -dryrun), C(-user) for a rootless
    owner) in a directory holding only the candidate before it is written; a rejected unit is not installed
    and the message names the key.
  - Writes into C(/etc/containers/systemd/) (rootful) or C(~USER/.config/containers/systemd/) (O(rootless_user)).
    Does not reload systemd or restart the service; the C(podsec.hardening.hardened_container) role does that
    once per run for all changed units.
author:
  - podsec.hardening contributors (@podsec)
extends_documentation_fragment:
  - podsec.hardening.attributes
  - podsec.hardening.attributes.ALL
options:
  name:
    description:
      - Unit name; the file is C(NAME.container), the service C(NAME.service) and the container C(NAME).
      - Exactly one of O(name) and O(containers) is required.
    type: str
  containers:
    description:
      - Several units in one call, instead of O(name) and the per-unit options. Each element is a dictionary
        with the per-unit options of this module (O(name), O(image), O(command), ... O(wanted_by)) and is
        validated like them; O(state), O(rootless_user), O(header), O(podman_executable) and O(generator)
        apply to every element, the other top-level options must then be left unset.
      - The generator's dry run runs only for elements whose rendered unit differs from the installed file
        (an unchanged unit was validated when it was installed); every changed unit is validated before
        any of them is written, so one rejected unit installs nothing.
      - Results are in RV(units) and RV(changed_units); in diff mode one diff per changed unit.
      - With O(state=present) for root (no O(rootless_user)) and an element whose O(userns) is V(auto) (also
        V(auto:size=N)), the
        module also reports in RV(missing_subid_ranges) which of C(/etc/subuid) and C(/etc/subgid) lack the
        C(containers) range such containers take their host ids from.
    type: list
    elements: dict
  managed_marker:
    description:
      - With O(containers), a comment line that marks the units this caller installs; make it one of the
        O(header) lines so that the units this task writes carry it. Every regular C(.container) file in the unit
        directory with C(# MARKER) in its header (the comment lines before the first section) is listed in
        RV(managed_units), so that the caller can remove the units it no longer declares without a separate
        search of the directory.
    type: str
  report_active_state:
    description:
      - With O(containers) and O(state=present), ask systemd once (C(systemctl is-active), as O(rootless_user) with
        C(--user) for a rootless unit) for the state of every element's service and return it as
        RV(units[].active_state), so that the caller starts only what is not running. Read-only, also in check mode.
      - For a rootless unit the module must run as root (it uses C(runuser)) or as O(rootless_user); otherwise it
        fails before writing anything.
      - When systemd does not answer for each service (no bus, no user manager) every state is V(unknown) and
        the module warns, except for a rootless user without lingering, whose manager may simply not run yet.
    type: bool
    default: false
  state:
    description:
      - V(present) installs the unit, V(absent) removes the unit file (stop the service first).
    type: str
    choices: [present, absent]
    default: present
  rootless_user:
    description:
      - Install the unit for this user (rootless podman) instead of root, into the user's
        C(~/.config/containers/systemd/), owned by the user. Validated with C(quadlet -dryrun -user).
    type: str
  # BEGIN generated from plugins/module_utils/_container_schema.py (tests/docs/sync_container_schema.py)
  image:
    description:
      - Image reference. Required when O(state=present).
    type: str
  command:
    description:
      - Command and arguments (C(Exec=)). Each item is one argument, passed literally (C(%) and
        C($) are escaped); an empty argument is refused (Quadlet would drop it and every later
        one).
    type: list
    elements: str
  run_init:
    description:
      - Run an init process (catatonit, C(RunInit=true)) as PID 1 that forwards signals and reaps
        zombies. Without it, a workload that ignores SIGTERM as PID 1 (busybox httpd, many shells)
        is killed only when the stop times out, and a timed-out stop can leave the container behind.
    type: bool
    default: true
  user:
    description:
      - User (and optionally C(:group)) inside the container. Root (C(root), C(0), C(00), ...)
        is refused unless O(allow_root_user=true).
    type: str
    default: '10001'
  group:
    description:
      - Group inside the container (C(Group=)).
    type: str
  allow_root_user:
    description:
      - Opt-out that allows O(user) to be C(0) or C(root).
    type: bool
    default: false
  userns:
    description:
      - User namespace mode (C(UserNS=)). V(auto) gives each container its own range of host ids
        (rootful needs a C(containers) entry in C(/etc/subuid) and C(/etc/subgid)); V(nomap) (rootless)
        maps none of the owner's. Every other mode (V(host), V(keep-id), V(private), or the empty
        string, which writes no C(UserNS=) and leaves a rootful container in the host's user namespace)
        needs O(allow_host_userns=true).
    type: str
    default: auto
  allow_host_userns:
    description:
      - Opt-out that allows an O(userns) mode other than V(auto) and V(nomap).
    type: bool
    default: false
  read_only:
    description:
      - Read-only root file system (C(ReadOnly=true), and C(ReadOnlyTmpfs=false) so the only writable
        places are the O(tmpfs) mounts). V(false) is the opt-out.
    type: bool
    default: true
  no_new_privileges:
    description:
      - C(NoNewPrivileges=true) (setuid binaries and file capabilities gain nothing). V(false)
        is the opt-out.
    type: bool
    default: true
  drop_all_capabilities:
    description:
      - C(DropCapability=all). V(false) is the opt-out (podman's default capability set).
    type: bool
    default: true
  add_capabilities:
    description:
      - Capabilities to add back (C(AddCapability=)), for example V(NET_BIND_SERVICE). C(ALL)
        and the capabilities that reach past the container (C(SYS_ADMIN), C(SYS_MODULE), C(SYS_RAWIO),
        C(SYS_PTRACE), C(DAC_READ_SEARCH), C(BPF), C(PERFMON), C(MAC_ADMIN), ...) are refused,
        like C(--privileged).
    type: list
    elements: str
    default: []
  tmpfs:
    description:
      - Writable tmpfs mounts, always C(rw,nosuid,nodev) and C(noexec) unless O(tmpfs[].exec=true).
      - The default is one C(/tmp) of 64m, mode 1777. V([]) is the opt-out.
    type: list
    elements: dict
    default:
      - path: /tmp
    suboptions:
      path:
        description:
          - Mount point inside the container.
        type: str
        required: true
      size:
        description:
          - Size limit (C(size=)).
        type: str
        default: 64m
      mode:
        description:
          - Octal mode of the mount's root.
        type: str
        default: '1777'
      exec:
        description:
          - Opt-out that mounts it without C(noexec).
        type: bool
        default: false
  memory:
    description:
      - Memory limit (C(Memory=) from podman 5.5, C(PodmanArgs=--memory=) before). V(unlimited)
        is the opt-out.
    type: str
    default: 256m
  pids_limit:
    description:
      - Maximum number of processes (C(PidsLimit=) from podman 4.7, C(PodmanArgs=--pids-limit=)
        before). V(unlimited) is the opt-out.
    type: str
    default: '256'
  network:
    description:
      - 'Network (C(Network=)): V(none), V(private), V(bridge) (with options), V(slirp4netns)
        or V(pasta) (without options, which can open the host''s loopback), or the name of a podman
        network or C(.network) unit. V(host) needs O(allow_host_network=true); another container''s
        or pod''s namespace and namespace paths are refused.'
    type: str
  allow_host_network:
    description:
      - Opt-out that allows O(network=host).
    type: bool
    default: false
  ports:
    description:
      - Published ports, C([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]). Without an address they are
        bound to C(127.0.0.1). A non-loopback address, or an empty one (C(:8080:80), all addresses),
        needs O(publish_on_all_addresses=true).
    type: list
    elements: str
    default: []
  publish_on_all_addresses:
    description:
      - Opt-out that publishes ports without an address on every address, and allows non-loopback
        addresses.
    type: bool
    default: false
  volumes:
    description:
      - Volumes (C(Volume=SOURCE:TARGET[:OPTIONS])). A host path must lie below a data directory
        (C(/srv), C(/opt), C(/var/lib), C(/var/opt), C(/var/www), C(/mnt), C(/media), C(/data),
        C(/home)), checked as written and as the target resolves it (symlinks followed); not a
        data directory or home itself, not container storage or systemd state, not a dot file
        or directory of a home. CA certificates and time zone data (C(/etc/ssl/certs), C(/usr/share/zoneinfo),
        C(/etc/localtime), ...) may be mounted with V(ro). The options C(U) and C(idmap) are refused
        on host paths.
      - Mounting a container engine socket (podman, docker, containerd, cri-o), a directory holding
        one, or container storage needs O(allow_engine_socket=true).
    type: list
    elements: dict
    default: []
    suboptions:
      source:
        description:
          - Absolute host path, or the name of a podman volume (letters, digits, C(_ . -)).
          - A host path is judged as the target resolves it (symlinks followed).
        type: str
        required: true
      target:
        description:
          - Absolute path inside the container.
        type: str
        required: true
      options:
        description:
          - Mount options, for example V(ro).
        type: list
        elements: str
        default: []
  allow_engine_socket:
    description:
      - Opt-out that allows mounting a container engine socket or container storage (equivalent
        to root on the host).
    type: bool
    default: false
  security_label_level:
    description:
      - SELinux level of the container process (C(SecurityLabelLevel=)), for example the level
        that M(podsec.hardening.selinux_volume_label) returns for private volumes.
    type: str
  seccomp_profile:
    description:
      - Absolute path of a seccomp profile on the host (C(SeccompProfile=)) that replaces podman's
        default, below C(/etc/containers) or C(/usr/share/containers) (as the target resolves
        it), where only root writes. This is the only way to change the profile; C(unconfined)
        is refused.
    type: str
  secrets:
    description:
      - Podman secrets mounted as files (C(Secret=NAME,type=mount,...)); never as environment
        variables.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Secret name (must exist in the owner's podman secret store when the container starts).
        type: str
        required: true
      target:
        description:
          - File name or path inside the container; default C(/run/secrets/NAME).
        type: str
      mode:
        description:
          - Octal mode of the file.
        type: str
        default: '0400'
      uid:
        description:
          - Owner of the file; default the numeric O(user).
        type: str
      gid:
        description:
          - Group of the file; default the numeric O(group).
        type: str
  secret_files:
    description:
      - Files bind-mounted read-only into the container (C(Mount=type=bind,...,readonly=true)),
        for secrets kept on a tmpfs by M(podsec.hardening.tmpfs_secret). Nothing is copied to
        disk, unlike O(secrets) (podman copies a C(type=mount) secret into the container's directory
        under the graph root while it runs).
      - Sources are checked like host-path O(volumes).
    type: list
    elements: dict
    default: []
    suboptions:
      source:
        description:
          - Absolute path of the file on the host.
        type: str
        required: true
      target:
        description:
          - Absolute path inside the container; default C(/run/secrets/) plus the source's file
            name.
        type: str
      idmap:
        description:
          - Mount it idmapped, so that a file owned by host uid N is owned by uid N inside the
            container's user namespace (rootful O(userns=auto); rootless podman cannot create
            idmapped mounts).
        type: bool
        default: false
  environment:
    description:
      - Environment variables. Names or values that look like credentials (PASSWORD, SECRET, TOKEN,
        KEY ... in the name, or a long high-entropy value) are refused unless O(allow_secret_like_environment=true);
        the refusal names the variable, never the value, and happens on the controller (nothing
        reaches the target).
    type: dict
    default: {}
  allow_secret_like_environment:
    description:
      - Opt-out that allows secret-looking environment variables.
    type: bool
    default: false
  healthcheck:
    description:
      - Health check (C(HealthCmd=) and friends).
    type: dict
    suboptions:
      cmd:
        description:
          - Command run by C(/bin/sh -c) inside the container.
        type: str
        required: true
      interval:
        description:
          - Time between checks, for example V(30s).
        type: str
      timeout:
        description:
          - Time a check may take.
        type: str
      retries:
        description:
          - Failures before the container is unhealthy.
        type: int
      start_period:
        description:
          - Grace period after start.
        type: str
  podman_args:
    description:
      - 'Extra C(podman run) arguments, C(--flag=value) or C(--flag value). Only flags that cannot
        weaken the container are accepted (for example C(--hostname), C(--workdir), C(--label),
        C(--annotation), C(--dns), C(--add-host), C(--stop-signal), C(--stop-timeout), C(--cpus),
        C(--shm-size), C(--ulimit), C(--tz), C(--pull), C(--log-driver), C(--log-opt) with C(max-size)
        or C(tag)); annotations and labels in the C(run.oci.), C(io.podman.), C(io.containers.),
        C(org.systemd.) namespaces are refused (they steer the runtime: C(run.oci.seccomp_bpf_data)
        replaces the seccomp filter); C(--pid=host) and C(--ipc=host) need O(allow_host_pid) and
        O(allow_host_ipc). Every other flag is refused, naming the option to use instead where
        there is one.'
    type: list
    elements: str
    default: []
  allow_host_pid:
    description:
      - Opt-out that allows C(--pid=host) in O(podman_args).
    type: bool
    default: false
  allow_host_ipc:
    description:
      - Opt-out that allows C(--ipc=host) in O(podman_args).
    type: bool
    default: false
  extra_keys:
    description:
      - 'Further keys per section, C({SECTION: {KEY: VALUE or [VALUES]}}), SECTION one of C(Unit),
        C(Container), C(Service), C(Install). Key names must be unit-file keys (letters, digits,
        C(-)).'
      - 'Allowed: C(Container) keys that widen nothing (C(Annotation), C(Label), C(LogOpt) as
        in O(podman_args), C(HealthOnFailure), C(StopTimeout), C(Ulimit), C(Sysctl), ...); C(Service)
        restart, timeout and resource keys; C(Unit) ordering keys (C(After), C(Before)), C(Documentation),
        start limits and conditions; C(Install) C(WantedBy) with a target. Refused: keys an option
        manages, keys that switch a protection off (C(SecurityLabelDisable), C(Unmask), C(SeccompProfile),
        C(AppArmor), C(GlobalArgs), ...), C(Service) keys that run commands or steer podman (C(Exec*),
        C(Environment*), C(User)), and dependencies that would start or stop host units (C(Wants),
        C(Requires), C(Conflicts), C(OnFailure), C(RequiredBy), ...).'
    type: dict
    default: {}
  description:
    description:
      - C(Description=) of the unit; default C(Hardened container NAME).
    type: str
  restart:
    description:
      - C(Restart=) of the service.
    type: str
    default: always
    choices:
      - 'no'
      - always
      - on-success
      - on-failure
      - on-abnormal
      - on-abort
      - on-watchdog
  wanted_by:
    description:
      - C(WantedBy=) target (a C(.target) unit); default C(multi-user.target), or C(default.target)
        for a rootless owner.
    type: str
  # END generated
  header:
    description:
      - Comment lines written at the top of the unit, for example the C(ansible_managed) string.
    type: list
    elements: str
    default: []
  podman_executable:
    description:
      - podman binary used to read the version.
    type: str
    default: podman
  generator:
    description:
      - Path of the Quadlet generator used for the dry run.
    type: str
    default: /usr/libexec/podman/quadlet
requirements:
  - podman 4.4 or later (Quadlet) on the target.
notes:
  - The unit file contains no secret values (secrets are referenced by name), so it is written with mode 0644.
seealso:
  - module: podsec.hardening.selinux_volume_label
  - module: podsec.hardening.tmpfs_secret
"""

EXAMPLES = r"""
- name: Run a web server, read-only, as uid 10001, published on 127.0.0.1:8080
  podsec.hardening.quadlet_container:
    name: web
    image: localhost/podsec/busybox:latest
    command: [httpd, -f, -p, "8080"]
    ports: ["8080:8080"]
    secrets:
      - name: web_password
    healthcheck:
      cmd: wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1
      interval: 30s
    header: ["{{ ansible_managed }}"]
  register: web_unit

- name: The same for the rootless user podsec
  podsec.hardening.quadlet_container:
    name: web
    rootless_user: podsec
    image: localhost/podsec/busybox:latest
    command: [httpd, -f, -p, "8080"]
    ports: ["8081:8080"]

- name: A container that needs to bind port 80 inside, with its own /run tmpfs
  podsec.hardening.quadlet_container:
    name: proxy
    image: localhost/proxy:1
    add_capabilities: [NET_BIND_SERVICE]
    tmpfs:
      - path: /tmp
      - path: /run
        size: 8m
        mode: "0755"

- name: Install several units in one call (only changed ones run the generator's dry run)
  podsec.hardening.quadlet_container:
    containers:
      - name: web
        image: localhost/podsec/busybox:latest
        command: [httpd, -f, -p, "8080"]
        ports: ["8080:8080"]
      - name: worker
        image: localhost/podsec/busybox:latest
        command: [sleep, infinity]
    header: ["{{ ansible_managed }}", "installed by my_role"]
    managed_marker: installed by my_role
    report_active_state: true
  register: units

- name: Start the declared services that are not running (units whose file changed need a daemon-reload first)
  ansible.builtin.systemd_service:
    name: "{{ item.service_name }}"
    state: started
  loop: "{{ units.units | rejectattr('changed') | rejectattr('active_state', 'in', ['active', 'activating']) }}"
  loop_control:
    label: "{{ item.name }}"

- name: Remove a unit file (stop the service first)
  podsec.hardening.quadlet_container:
    name: web
    state: absent
"""

RETURN = r"""
path:
  description: Path of the unit file.
  returned: with O(name)
  type: str
  sample: /etc/containers/systemd/web.container
content:
  description: The rendered unit text (what is, or in check mode would be, in O(name).container).
  returned: when O(state=present), with O(name)
  type: str
  sample: "[Container]\nImage=localhost/podsec/busybox:latest\nReadOnly=true\n..."
service:
  description: The service the generator makes of the unit, as its dry run prints it.
  returned: when O(state=present), with O(name)
  type: str
  sample: "[Service]\nExecStart=/usr/bin/podman run --name web --read-only ..."
service_name:
  description: systemd service name of the container.
  returned: with O(name)
  type: str
  sample: web.service
podman_version:
  description: The podman version the unit was rendered for.
  returned: when O(state=present)
  type: str
  sample: "5.4"
rootless:
  description: Whether the unit belongs to a rootless user.
  returned: always
  type: bool
  sample: false
changed_units:
  description: Names of the elements of O(containers) whose unit file was (or in check mode would be) written or removed.
  returned: with O(containers)
  type: list
  elements: str
  sample: [web]
units:
  description: One entry per element of O(containers), in order.
  returned: with O(containers)
  type: list
  elements: dict
  contains:
    name:
      description: Unit name.
      type: str
      sample: web
    path:
      description: Path of the unit file.
      type: str
      sample: /etc/containers/systemd/web.container
    service_name:
      description: systemd service name of the container.
      type: str
      sample: web.service
    changed:
      description: Whether this unit file was (or in check mode would be) written or removed.
      type: bool
      sample: true
    content:
      description: The rendered unit text; only when O(state=present).
      type: str
      sample: "[Container]\nImage=localhost/podsec/busybox:latest\n..."
    service:
      description: The service the generator's dry run made of the unit; only for a changed unit when O(state=present).
      type: str
      sample: "[Service]\nExecStart=/usr/bin/podman run --name web --read-only ..."
    active_state:
      description:
        - What C(systemctl is-active) said of the service before this task (V(active), V(activating), V(inactive),
          V(failed), ...), or V(unknown) when systemd could not be asked (for example no user manager yet).
        - Only with O(report_active_state=true) and O(state=present).
      type: str
      sample: active
managed_units:
  description:
    - Names of the units in the unit directory whose header carries O(managed_marker), sorted, as they were before
      this task.
  returned: with O(containers) and O(managed_marker)
  type: list
  elements: str
  sample: [old_worker, web]
rootless_uid:
  description: The uid of O(rootless_user), whose systemd instance runs the units (C(/run/user/UID)).
  returned: with O(containers) and O(rootless_user)
  type: int
  sample: 1000
linger:
  description:
    - Whether lingering is enabled for O(rootless_user) (C(/var/lib/systemd/linger/USER) exists), so that the
      user's systemd instance, and with it the units, runs without a login session.
  returned: with O(containers) and O(rootless_user)
  type: bool
  sample: true
missing_subid_ranges:
  description:
    - The subordinate id files that have no C(containers) range, which rootful C(UserNS=auto) containers need.
      Empty when both have one. Both when no user C(containers) exists, since newer libsubid (shadow 4.20, podman 5.8
      on Debian sid) finds ranges of existing users only.
  returned: with O(containers), O(state=present), no O(rootless_user), and an element whose O(userns) is V(auto)
    or V(auto:size=N)
  type: list
  elements: str
  sample: [/etc/subuid, /etc/subgid]
"""

import os
import pwd
import shutil
import stat
import tempfile

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import CONTAINER_OPTIONS, argument_spec
from ansible_collections.podsec.hardening.plugins.module_utils._files import read_file_bytes, write_file_atomic
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    HostPaths,
    QuadletError,
    build_unit,
    carries_marker,
    generator_error,
    missing_subid_ranges,
    parse_active_states,
    quadlet_version,
    uses_auto_userns,
    validate_name,
)

ROOTFUL_UNIT_DIR = "/etc/containers/systemd"
ROOTLESS_UNIT_DIR = (".config", "containers", "systemd")
SUBID_FILES = ("/etc/subuid", "/etc/subgid")
LINGER_DIR = "/var/lib/systemd/linger"
_SPEC_OPTIONS = tuple(CONTAINER_OPTIONS)


class TargetPaths(HostPaths):
    """Host paths as this host resolves them (symlinks followed), for the volume and secret file checks."""

    def __init__(self, owner):
        self.home = owner.pw_dir if owner else None

    def resolve(self, path):
        return os.path.realpath(path)

    def is_socket(self, path):
        try:
            return stat.S_ISSOCK(os.stat(path).st_mode)
        except (OSError, ValueError):
            return False


def unit_directory(owner):
    """Where the units of ``owner`` (a pwd entry, None for root) live."""
    return os.path.join(owner.pw_dir, *ROOTLESS_UNIT_DIR) if owner else ROOTFUL_UNIT_DIR


class QuadletUnit(object):
    """One unit file: where it lives, what it should contain, and how to put it there."""

    def __init__(self, module, params, owner):
        self.module = module
        self.params = params
        self.name = params["name"]
        self.owner = owner
        self.path = os.path.join(unit_directory(self.owner), "%s.container" % self.name)

    def podman_version(self):
        rc, out, err = self.module.run_command([self.params["podman_executable"], "--version"])
        if rc != 0:
            self.module.fail_json(msg="cannot run %s --version: %s" % (self.params["podman_executable"], err.strip()))
        try:
            return quadlet_version(out, self.params["podman_executable"])
        except QuadletError as exc:
            self.module.fail_json(msg=str(exc))

    def render(self, version):
        spec = {key: self.params[key] for key in _SPEC_OPTIONS}
        spec["name"] = self.name
        return build_unit(spec, version, rootless=self.owner is not None, header=self.params["header"],
                          host=TargetPaths(self.owner))

    def dry_run(self, content):
        """Run the generator on the candidate alone; return the service text or fail naming the key."""
        generator = self.params["generator"]
        if not os.path.exists(generator):
            self.module.fail_json(msg="the Quadlet generator %s does not exist; cannot validate %s" % (generator, self.path))
        workdir = tempfile.mkdtemp(prefix="podsec-quadlet-")
        try:
            with open(os.path.join(workdir, "%s.container" % self.name), "wb") as handle:
                handle.write(to_bytes(content))
            argv = [generator, "-dryrun"] + (["-user"] if self.owner else [])
            rc, out, err = self.module.run_command(argv, environ_update={"QUADLET_UNIT_DIRS": workdir})
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if rc != 0 or "---%s.service---" % self.name not in out:
            key, message = generator_error(err)
            self.module.fail_json(
                msg="the Quadlet generator rejected %s.container%s: %s"
                % (self.name, " (key %s)" % key if key else "", message),
                content=content, stderr=err,
            )
        return out.split("---%s.service---" % self.name, 1)[1].strip() + "\n"

    def ensure_directory(self):
        """Create the unit directory (and for a rootless owner ~/.config/containers), owned by the owner."""
        if self.owner is None:
            os.makedirs(ROOTFUL_UNIT_DIR, mode=0o755, exist_ok=True)
            return
        path = self.owner.pw_dir
        for part in ROOTLESS_UNIT_DIR:
            path = os.path.join(path, part)
            if not os.path.isdir(path):
                os.mkdir(path, 0o700 if part == ".config" else 0o755)
                if os.geteuid() == 0:
                    os.chown(path, self.owner.pw_uid, self.owner.pw_gid)

    def write(self, content):
        self.ensure_directory()
        owner = self.owner.pw_name if self.owner and os.geteuid() == 0 else None
        write_file_atomic(self.module, self.path, to_bytes(content), mode="0644", owner=owner,
                          group=str(self.owner.pw_gid) if owner else None)


def unit_spec():
    """Argument spec of one unit: the top-level options of the single form, and each element of containers."""
    spec = argument_spec()
    spec["name"] = dict(type="str")
    return spec


_SHARED_OPTIONS = ("state", "rootless_user", "header", "podman_executable", "generator")


def element_params(module, index, element):
    """Validate one element of containers like the single form and merge in the shared options."""
    spec = unit_spec()
    label = element.get("name") or "#%d" % index
    unknown = sorted(set(element) - set(spec))
    if unknown:
        module.fail_json(msg="containers[%s]: unsupported option %s" % (label, ", ".join(unknown)))
    spec["name"]["required"] = True
    spec["state"] = dict(type="str", default=module.params["state"])
    required_if = [("state", "present", ["image"])]
    result = ArgumentSpecValidator(spec, required_if=required_if).validate(dict(element, state=module.params["state"]))
    if result.error_messages:
        module.fail_json(msg="containers[%s]: %s" % (label, "; ".join(result.error_messages)))
    params = dict(result.validated_parameters)
    for key in _SHARED_OPTIONS:
        params[key] = module.params[key]
    return params


def make_unit(module, params, owner):
    try:
        validate_name(params["name"])
    except QuadletError as exc:
        module.fail_json(msg=str(exc))
    return QuadletUnit(module, params, owner)


def lookup_owner(module, user):
    """The pwd entry of a rootless user, None for root."""
    try:
        return pwd.getpwnam(user) if user else None
    except KeyError:
        module.fail_json(msg="rootless_user %r does not exist" % user)


def read_text(path):
    before_bytes = read_file_bytes(path)
    return (to_text(before_bytes) if before_bytes is not None else ""), before_bytes is not None


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def run_one(module):
    unit = make_unit(module, module.params, lookup_owner(module, module.params["rootless_user"]))
    result = dict(changed=False, path=unit.path, service_name="%s.service" % unit.name, rootless=unit.owner is not None)
    before, exists = read_text(unit.path)

    if module.params["state"] == "absent":
        result["changed"] = exists
        if result["changed"] and not module.check_mode:
            os.unlink(unit.path)
        after = ""
    else:
        try:
            version = unit.podman_version()
            after = unit.render(version)
        except QuadletError as exc:
            module.fail_json(msg="%s: %s" % (unit.name, exc), **result)
        result["service"] = unit.dry_run(after)
        result["content"] = after
        result["podman_version"] = "%d.%d" % version
        result["changed"] = before != after
        if result["changed"] and not module.check_mode:
            unit.write(after)
    if module._diff:
        result["diff"] = dict(before=before, after=after, before_header=unit.path, after_header=unit.path)
    module.exit_json(**result)


def managed_units(module, directory, marker):
    """Names of the regular, visible .container files in ``directory`` whose header carries ``marker``."""
    try:
        entries = sorted((entry.name, entry.path) for entry in os.scandir(directory)
                         if entry.name.endswith(".container") and not entry.name.startswith(".")
                         and entry.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return []
    except OSError as exc:
        module.fail_json(msg="cannot list %s: %s" % (directory, exc))
    return [name[:-len(".container")] for name, path in entries if carries_marker(read_text(path)[0], marker)]


def systemctl_command(module, owner):
    """argv and environment of systemctl for the owner's units: the user's manager for a rootless owner."""
    argv = [module.get_bin_path("systemctl", required=True)]
    if owner is None:
        return argv, {}
    argv.append("--user")
    euid = os.geteuid()
    if euid not in (0, owner.pw_uid):
        module.fail_json(msg="report_active_state for rootless_user %s needs to run as root or as %s"
                         % (owner.pw_name, owner.pw_name))
    if euid != owner.pw_uid:
        argv = [module.get_bin_path("runuser", required=True), "-u", owner.pw_name, "--"] + argv
    return argv, {"XDG_RUNTIME_DIR": "/run/user/%d" % owner.pw_uid}


def active_states(module, services, systemctl, quiet):
    """One ``systemctl is-active`` for all services; "unknown" for each when systemd does not answer."""
    argv, environ = systemctl
    rc, out, err = module.run_command(argv + ["is-active"] + services, environ_update=environ)
    states = parse_active_states(services, out)
    if states is None:
        if not quiet:
            module.warn("systemctl is-active did not answer for each service (rc=%d: %s); every service counts as "
                        "not running" % (rc, err.strip() or "no output"))
        states = dict((service, "unknown") for service in services)
    return states


def run_many(module):
    """Render and compare every element; validate the changed ones; only then write or remove."""
    defaults = ArgumentSpecValidator(unit_spec()).validate({}).validated_parameters
    for key in _SPEC_OPTIONS:
        if module.params[key] != defaults[key]:
            module.fail_json(msg="%s cannot be combined with containers: set it in each element" % key)
    owner = lookup_owner(module, module.params["rootless_user"])
    units = [make_unit(module, element_params(module, index, element), owner)
             for index, element in enumerate(module.params["containers"])]
    names = [unit.name for unit in units]
    duplicates = sorted(set(name for name in names if names.count(name) > 1))
    if duplicates:
        module.fail_json(msg="containers: duplicate name %s" % ", ".join(duplicates))
    present = module.params["state"] == "present"
    result = dict(changed=False, rootless=bool(module.params["rootless_user"]), units=[], changed_units=[])
    version = units[0].podman_version() if present and units else None
    # Resolved before anything is written, so that a caller who cannot ask systemd fails without a change.
    systemctl = systemctl_command(module, owner) if present and units and module.params["report_active_state"] else None
    if module.params["managed_marker"]:
        result["managed_units"] = managed_units(module, unit_directory(owner), module.params["managed_marker"])
    plans = []
    for unit in units:
        before, exists = read_text(unit.path)
        entry = dict(name=unit.name, path=unit.path, service_name="%s.service" % unit.name)
        if present:
            try:
                after = unit.render(version)
            except QuadletError as exc:
                module.fail_json(msg="%s: %s" % (unit.name, exc))
            entry["content"] = after
            entry["changed"] = before != after
            if entry["changed"]:
                entry["service"] = unit.dry_run(after)
        else:
            after = ""
            entry["changed"] = exists
        plans.append((unit, before, after, entry))
        result["units"].append(entry)
    for unit, before, after, entry in plans:
        if not entry["changed"]:
            continue
        result["changed"] = True
        result["changed_units"].append(unit.name)
        if not module.check_mode:
            if present:
                unit.write(after)
            else:
                os.unlink(unit.path)
    if version:
        result["podman_version"] = "%d.%d" % version
    if owner is not None:
        result["rootless_uid"] = owner.pw_uid
        result["linger"] = os.path.exists(os.path.join(LINGER_DIR, owner.pw_name))
    if present and not module.params["rootless_user"] and any(uses_auto_userns(u.params["userns"]) for u in units):
        result["missing_subid_ranges"] = missing_subid_ranges(dict((path, read_text(path)[0]) for path in SUBID_FILES),
                                                              user_exists=user_exists("containers"))
    if systemctl:
        # A rootless user without lingering and without a session has no manager to ask: expected, not a warning.
        no_manager_expected = owner is not None and not result["linger"]
        states = active_states(module, [entry["service_name"] for entry in result["units"]], systemctl,
                               quiet=no_manager_expected)
        for entry in result["units"]:
            entry["active_state"] = states[entry["service_name"]]
    if module._diff:
        result["diff"] = [dict(before=before, after=after, before_header=unit.path, after_header=unit.path)
                          for unit, before, after, entry in plans if entry["changed"]]
    module.exit_json(**result)


def main():
    argument_spec = unit_spec()
    argument_spec.update(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        rootless_user=dict(type="str"),
        containers=dict(type="list", elements="dict"),
        header=dict(type="list", elements="str", default=[]),
        podman_executable=dict(type="str", default="podman"),
        generator=dict(type="str", default="/usr/libexec/podman/quadlet"),
        managed_marker=dict(type="str"),
        report_active_state=dict(type="bool", default=False),
    )
    module = PodsecModule(
        argument_spec=argument_spec,
        required_one_of=[("name", "containers")],
        mutually_exclusive=[("name", "containers")],
        required_if=[("state", "present", ["image", "containers"], True)],
        supports_check_mode=True,
    )
    if module.params["containers"] is not None:
        run_many(module)
    if module.params["managed_marker"] or module.params["report_active_state"]:
        module.fail_json(msg="managed_marker and report_active_state need containers")
    run_one(module)


if __name__ == "__main__":
    main()
