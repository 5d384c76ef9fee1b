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
    owner) in a directory holding only the candidates of the call (and the network, volume and pod units
    already installed, which they may refer to) before it is written; a rejected unit is not installed
    and the message names the unit and the key.
  - Containers share no network unless they declare one (see O(network)); C(.network), C(.volume) and C(.pod)
    units (O(network_units), O(volume_units), O(pod_units)) are installed in the same call as the containers.
  - Installs the collection's tightened seccomp profile at C(/etc/containers/podsec/seccomp.json) (mode 0644, owned
    by root, written atomically, only when it differs) in the same run, before any unit that uses it is written,
    when a unit uses it (O(tightened_seccomp), the default). That needs root, also for a O(rootless_user).
  - Writes into C(/etc/containers/systemd/) (rootful) or C(~USER/.config/containers/systemd/) (O(rootless_user)).
    Does not reload systemd or restart the service unless O(apply) is set (with O(containers)); then one call
    installs the units, reloads systemd once, restarts exactly the changed services, starts the stopped ones
    and fails naming each service that did not come up, with its journal lines.
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
      - The generator's dry run runs only when a rendered unit differs from its installed file (an unchanged
        unit was validated when it was installed); then it runs once on every unit of the call together (with
        O(network_units), O(volume_units), O(pod_units) and the network, volume and pod units already installed,
        which containers refer to), before any of them is written, so one rejected unit installs nothing.
      - A rootful element that publishes O(ports) without a O(network) gets a network of its own, C(NAME.network),
        written in the same call (see O(network)).
      - Results are in RV(units) and RV(changed_units); in diff mode one diff per changed unit.
      - With O(state=present) for root (no O(rootless_user)) and an element whose O(userns) is V(auto) (also
        V(auto:size=N)), the
        module also reports in RV(missing_subid_ranges) which of C(/etc/subuid) and C(/etc/subgid) lack the
        C(containers) range such containers take their host ids from.
    type: list
    elements: dict
  network_units:
    description:
      - Quadlet C(.network) units (bridge networks) installed in the same call as O(containers), which join one with
        O(network=NAME.network).
      - Internal (C(Internal=true), no route out) and isolated from every other network (C(Options=isolate=strict))
        unless opted out; only bridge networks with netavark's IPAM (no macvlan, no host interface, no DHCP).
      - Validated by the generator's dry run together with the containers; with O(managed_marker) they are listed in
        RV(managed_unit_files). Changing an existing network's unit does not change the podman network (Quadlet never
        updates one); remove it with C(podman network rm) and restart.
    type: list
    elements: dict
    suboptions:
      # BEGIN generated from plugins/module_utils/_container_schema.py (tests/docs/sync_container_schema.py): network units
      name:
        description:
          - Unit name (letters, digits, C(_ . @ -)); the file is C(NAME.network), C(NAME.volume) or
            C(NAME.pod). Containers refer to it as C(NAME.network) in their C(network), C(NAME.volume)
            as a volume C(source), and C(NAME) in their C(pod).
        type: str
        required: true
      internal:
        description:
          - 'C(Internal=true): the network has no route out of the host and no NAT; containers on
            it reach each other and nothing else. V(false) is the opt-out that lets them reach other
            hosts (egress).'
        type: bool
        default: true
      isolate:
        description:
          - 'netavark''s C(isolate) option (C(Options=isolate=...)): V(strict) drops traffic forwarded
            between this network and any other bridge network, V(true) only between networks that
            are isolated too, V(false) is the opt-out.'
        type: str
        default: strict
        choices:
          - strict
          - 'true'
          - 'false'
      subnet:
        description:
          - C(Subnet=), an IPv4 or IPv6 network such as V(10.89.7.0/24); default a free one from podman's
            pools.
        type: str
      gateway:
        description:
          - C(Gateway=), an address within the subnet (needs C(subnet)).
        type: str
      ip_range:
        description:
          - C(IPRange=), a network within the subnet that addresses are allocated from (needs C(subnet)).
        type: str
      ipv6:
        description:
          - 'C(IPv6=true): also an IPv6 subnet.'
        type: bool
        default: false
      dns:
        description:
          - C(DNS=) servers (IP addresses) of the containers on the network.
        type: list
        elements: str
        default: []
      disable_dns:
        description:
          - 'C(DisableDNS=true): no name resolution of the other containers on the network.'
        type: bool
        default: false
      allow_host_users:
        description:
          - 'Opt-out that lets host processes other than root open connections to the containers on
            a rootful network. By default the network''s service adds its bridge to the nftables set
            C(bridges) of the table C(inet podsec_isolation), whose C(output) chain rejects new connections
            from non-root host processes to those bridges except to published ports: a rootless container''s
            pasta connects from the host, so without it every rootless container reaches every port
            of the rootful containers on the network. Needs C(nft) on the host (the service fails
            without it). Rootless networks live in the owner''s own network namespace and need no
            rule.'
        type: bool
        default: false
      labels:
        description:
          - Labels (C(Label=NAME=VALUE)); one word each, not in the C(io.podman.), C(io.containers.),
            C(run.oci.) or C(org.systemd.) namespaces.
        type: dict
        default: {}
      description:
        description:
          - C(Description=) of the unit; default one naming the unit.
        type: str
      # END generated: network units
  volume_units:
    description:
      - Quadlet C(.volume) units (named volumes of the local driver) installed in the same call as O(containers),
        which mount one with a volume C(source) of C(NAME.volume). No host devices or bind options.
    type: list
    elements: dict
    suboptions:
      # BEGIN generated from plugins/module_utils/_container_schema.py (tests/docs/sync_container_schema.py): volume units
      name:
        description:
          - Unit name (letters, digits, C(_ . @ -)); the file is C(NAME.network), C(NAME.volume) or
            C(NAME.pod). Containers refer to it as C(NAME.network) in their C(network), C(NAME.volume)
            as a volume C(source), and C(NAME) in their C(pod).
        type: str
        required: true
      copy:
        description:
          - 'C(Copy=true): the image''s content at the mount point is copied into the volume on first
            use.'
        type: bool
        default: false
      labels:
        description:
          - Labels (C(Label=NAME=VALUE)); one word each, not in the C(io.podman.), C(io.containers.),
            C(run.oci.) or C(org.systemd.) namespaces.
        type: dict
        default: {}
      description:
        description:
          - C(Description=) of the unit; default one naming the unit.
        type: str
      # END generated: volume units
  pod_units:
    description:
      - Quadlet C(.pod) units (podman 5.0 or later) installed in the same call as O(containers), which join one with
        O(pod). A pod's O(ports) and O(network) follow a container's rules.
    type: list
    elements: dict
    suboptions:
      # BEGIN generated from plugins/module_utils/_container_schema.py (tests/docs/sync_container_schema.py): pod units
      name:
        description:
          - Unit name (letters, digits, C(_ . @ -)); the file is C(NAME.network), C(NAME.volume) or
            C(NAME.pod). Containers refer to it as C(NAME.network) in their C(network), C(NAME.volume)
            as a volume C(source), and C(NAME) in their C(pod).
        type: str
        required: true
      userns:
        description:
          - 'User namespace of the pod and its containers (C(UserNS=)), with the values and refusals
            of a container''s O(userns). The default V(auto:size=65536) gives the pod a range of its
            own that maps the containers'' default uid 10001: a plain V(auto) sizes the range from
            the pod''s infra image, which uses only uid 0, and then no container user above 1023 can
            start (seen with podman 5.4).'
        type: str
        default: auto:size=65536
      allow_host_userns:
        description:
          - Opt-out that allows an O(userns) mode other than V(auto) and V(nomap).
        type: bool
        default: false
      network:
        description:
          - 'Network of the pod (C(Network=)), with the values and refusals of a container''s O(network).
            Unset: V(none) when the pod publishes no port, V(pasta) for a rootless owner; a rootful
            pod must name one (a C(NAME.network) unit) when it publishes C(ports), so that it shares
            no network by default.'
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
      description:
        description:
          - C(Description=) of the unit; default one naming the unit.
        type: str
      # END generated: pod units
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
  apply:
    description:
      - With O(containers) and O(state=present), bring the owner's services to the declared state in the same
        call, after the units are written, so that a host's whole change is one module call.
      - Before any unit file (or the seccomp profile) is written, each image of O(containers) that the owner's
        storage lacks (one C(podman image inspect) for all of them) is pulled as the owner (root, or O(rootless_user)
        through C(runuser) with the user's own environment), so the owner's trust policy (C(containers-policy.json))
        judges it now; a refused image fails the task with podman's error naming the image, and nothing is
        installed, removed or restarted. In check mode nothing is pulled; RV(images) says what would be. For a
        rootless user without a runtime directory yet (no lingering, no session) check mode runs no podman and
        every image counts as one to pull.
      - Then, in this order, each step only when needed. Enable lingering for O(rootless_user) and wait for its systemd instance; add the
        C(containers) range to the subordinate id files that lack one (see RV(missing_subid_ranges)); stop and
        remove the units of O(apply.absent) or, with O(apply.prune), every unit carrying O(managed_marker) that
        O(containers) does not declare; one C(systemctl daemon-reload) when a unit was written or removed; one
        C(systemctl restart) (C(--user) for a rootless owner) for the services whose unit or O(apply.restart)
        entry changed and the declared services that are not running (restart starts a stopped service).
      - Then one C(systemctl show) after O(apply.settle) seconds; a service that is not running, waits for an
        automatic restart or was restarted since fails the task, and the message names each with its last
        O(apply.journal_lines) journal lines (C(journalctl -u), the user's journal entries of the unit for a rootless owner).
      - Implies O(report_active_state). What was done is in RV(apply) and RV(units[].action); in check mode
        nothing is done and RV(apply) says what would be. The module must run as root or as O(rootless_user).
    type: dict
    version_added: 0.1.0
    suboptions:
      started:
        description: Names of the elements whose service must run. Default all of O(containers).
        type: list
        elements: str
      absent:
        description: Unit names to stop and remove (only those carrying O(managed_marker)).
        type: list
        elements: str
        default: []
      absent_files:
        description:
          - File names of C(.network), C(.volume) and C(.pod) units to remove (only those carrying
            O(managed_marker) that this call does not declare), for example V(backend.network).
        type: list
        elements: str
        default: []
      prune:
        description:
          - Stop and remove every container unit carrying O(managed_marker) that O(containers) does not declare,
            and remove every C(.network), C(.volume) and C(.pod) unit carrying it that this call does not write.
        type: bool
        default: false
      restart:
        description: Names to restart although their unit did not change (for example a changed secret file).
        type: list
        elements: str
        default: []
      subid_start:
        description: First host id of the C(containers) range added to C(/etc/subuid) and C(/etc/subgid).
        type: int
        default: 2147483647
      subid_count:
        description: Size of that range.
        type: int
        default: 2147483648
      user_manager_timeout:
        description: Seconds to wait for the systemd instance of O(rootless_user) after lingering is enabled.
        type: int
        default: 30
      settle:
        description:
          - Seconds between the C(systemctl restart) and the state query, so that a container whose command
            exits right after its start is caught (systemd reports it started first).
        type: float
        default: 0.5
      journal_lines:
        description: Journal lines shown for each service that did not come up.
        type: int
        default: 30
      pull:
        description:
          - V(missing) pulls only the images the owner's storage lacks (no registry query on a re-run).
          - V(newer) pulls every image on each run, so a tag that moved to a new digest in the registry is
            fetched (through the same trust policy; a refused new digest fails the task and changes nothing).
          - Either way, a running container whose image ID differs from the one its reference now names in
            the owner's storage (see RV(images[].id); for example a new digest pulled now or by hand since) is
            restarted, and only those. Check mode pulls nothing.
        type: str
        choices: [missing, newer]
        default: missing
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
      - 'Image reference. Required when O(state=present). It must name its registry host (the
        part before the first C(/) contains C(.) or C(:) or is C(localhost), as in C(docker.io/library/busybox)
        or C(localhost/app)); a short name such as C(busybox) or C(library/httpd) is refused unless
        O(short_name_ok=true). A transport prefix (C(oci-archive:), C(dir:), C(docker-archive:),
        C(docker-daemon:), C(docker://)) is always refused: the image comes from a registry, through
        the trust policy.'
    type: str
  auto_update:
    description:
      - 'C(AutoUpdate=registry) (before podman 4.6 the label C(io.containers.autoupdate=registry)):
        C(podman auto-update), run by C(podman-auto-update.timer), pulls a new digest behind the
        image''s tag through the owner''s trust policy (a refused one is not deployed) and restarts
        the container. With C(apply) (the role always applies), the owner''s C(podman-auto-update.timer)
        is enabled and started when a container sets it.'
    type: bool
    default: false
  short_name_ok:
    description:
      - Allow a short O(image) name. Podman then resolves it on the host through the search registries
        and short-name aliases of C(registries.conf), so which registry (and which trust policy
        scope) the image comes from is decided by the host's configuration, not by the reference.
    type: bool
    default: false
  setuid_root_ok:
    description:
      - Deploy the container although its image has setuid-root files (or could not be looked
        at for them). With C(apply) (the role always applies), each image the owner's storage
        holds is mounted read-only (C(podman unshare) for a rootless owner) and walked after the
        pull and before any unit file changes; setuid-root files fail the task naming the image,
        the paths and this option. Such a file gives whoever runs it root inside the container
        if C(no_new_privileges) is ever turned off (it is on by default); many distribution base
        images carry setuid-root C(su), C(passwd) or C(mount) (rebuild with C(RUN find / -xdev
        -perm -4000 -type f -exec chmod u-s {} +)). In check mode an image that would be pulled
        is not judged.
      - 'The unit carries the choice as a header comment line (C(setuid_root_ok: true ...)): turning
        the option off changes the unit, and that redeploy looks inside the image again, also
        while the container runs it. What is not looked at: an image every container of it already
        runs with an unchanged unit (a re-run, or containers deployed before this check existed:
        C(container_posture inspect_images) reports those); an image pulled later by the service
        itself (C(Pull=) in C(extra_keys)) or by C(podman auto-update) (C(auto_update)); file
        capabilities are reported as findings, not refused.'
    type: bool
    default: false
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
  ulimits:
    description:
      - 'Resource limits of the container''s processes (C(Ulimit=NAME=SOFT:HARD) from podman 4.7,
        C(PodmanArgs=--ulimit=) before), C({NAME: SOFT[:HARD]}) with NAME one of C(core), C(cpu),
        C(data), C(fsize), C(locks), C(memlock), C(msgqueue), C(nice), C(nofile), C(nproc), C(rss),
        C(rtprio), C(rttime), C(sigpending), C(stack), C(as).'
      - 'The given names are merged over the defaults: C(nofile) 4096 open files (8192 hard),
        C(nproc) 256 processes and threads per user (the default O(pids_limit); counted per host
        uid, so it holds where no cgroup controller enforces O(pids_limit)). A value of V(host)
        is the opt-out for that name (no C(Ulimit=): the limit podman and the host give). This
        is the only way to set limits (C(--ulimit) in O(podman_args) and C(Ulimit) in O(extra_keys)
        are refused).'
    type: dict
    default:
      nofile: 4096:8192
      nproc: 256:256
  network:
    description:
      - 'Network (C(Network=)): V(none), V(private), V(bridge) (with options), V(slirp4netns)
        or V(pasta) (without options, which can open the host''s loopback), the name of a podman
        network, or C(NAME.network) for a declared C(.network) unit. V(host) needs O(allow_host_network=true);
        another container''s or pod''s namespace and namespace paths are refused.'
      - 'Unset, the container shares no network with any other container: V(none) (a loopback
        only) when it publishes no port; with O(ports), V(pasta) for a rootless owner, and for
        root a bridge network of its own (C(NAME.network) with C(Options=isolate=strict), written
        by the role and the C(containers) form of M(podsec.hardening.quadlet_container); its single
        form leaves it on podman''s default network and warns). V(bridge), V(private) or V(podman)
        join podman''s default network, shared by every container on it: the explicit opt-out.'
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
      private:
        description:
          - 'Host paths only: the directory belongs to the container. Podman''s C(U) option makes
            it, at each start, the container user''s as mapped on the host (O(user) and O(group)
            inside), so that the container user can write it and no other container''s host uid
            owns it; create it with mode 0700. A rootless owner''s directory must belong to the
            owner. C(U) itself in O(volumes[].options) is refused on host paths.'
        type: bool
        default: false
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
  tightened_seccomp:
    description:
      - 'Run under the collection''s seccomp profile (C(SeccompProfile=/etc/containers/podsec/seccomp.json),
        installed by this module): podman''s default profile with no namespace creation (C(unshare),
        C(setns) and C(clone) with C(CLONE_NEW*) flags answer EPERM, C(clone3) answers ENOSYS
        so the C library falls back to C(clone)), so that no nested user namespace hands the container
        user every capability inside it; and without the key ring, C(userfaultfd), C(perf_event_open),
        C(bpf), C(io_uring) and the mount API (EPERM). Shells, busybox, scripts and health checks
        run under it.'
      - V(false) is the opt-out (podman's default profile). O(seccomp_profile) replaces it.
    type: bool
    default: true
  seccomp_profile:
    description:
      - Absolute path of a seccomp profile on the host (C(SeccompProfile=)) that replaces the
        O(tightened_seccomp) profile and podman's default, below C(/etc/containers) or C(/usr/share/containers)
        (as the target resolves it), where only root writes. This is the only way to change the
        profile; C(unconfined) is refused.
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
        C(--shm-size), C(--tz), C(--pull), C(--log-driver), C(--log-opt) with C(max-size) or C(tag));
        annotations and labels in the C(run.oci.), C(io.podman.), C(io.containers.), C(org.systemd.)
        namespaces are refused (they steer the runtime: C(run.oci.seccomp_bpf_data) replaces the
        seccomp filter); C(--pid=host) and C(--ipc=host) need O(allow_host_pid) and O(allow_host_ipc).
        Every other flag is refused, naming the option to use instead where there is one.'
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
        in O(podman_args), C(HealthOnFailure), C(StopTimeout), C(Sysctl), ...); C(Service) restart,
        timeout and resource keys; C(Unit) ordering keys (C(After), C(Before)), C(Documentation),
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
  pod:
    description:
      - 'Name of a declared pod (a C(.pod) unit of the same call, or one already installed) to
        run the container in (C(Pod=NAME.pod), podman 5.0 or later). The container then shares
        the pod''s network, published ports and user namespace: O(network) and O(ports) are refused
        with it, and O(userns) is not written (set it on the pod).'
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

- name: Two containers that talk over an internal network of their own (no route out), a named volume
  podsec.hardening.quadlet_container:
    containers:
      - name: app
        image: localhost/podsec/busybox:latest
        command: [httpd, -f, -p, "8080"]
        network: backend.network
        volumes:
          - source: app-data.volume
            target: /data
      - name: worker
        image: localhost/podsec/busybox:latest
        command: [sleep, infinity]
        network: backend.network
    network_units:
      - name: backend
    volume_units:
      - name: app-data

- name: Start the declared services that are not running (units whose file changed need a daemon-reload first)
  ansible.builtin.systemd_service:
    name: "{{ item.service_name }}"
    state: started
  loop: "{{ units.units | rejectattr('changed') | rejectattr('active_state', 'in', ['active', 'activating']) }}"
  loop_control:
    label: "{{ item.name }}"

- name: Install, prune, reload once, restart the changed and start the stopped services, in one call
  podsec.hardening.quadlet_container:
    containers:
      - name: web
        image: localhost/podsec/busybox:latest
        command: [httpd, -f, -p, "8080"]
    header: ["{{ ansible_managed }}", "installed by my_role"]
    managed_marker: installed by my_role
    apply:
      prune: true

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
  description:
    - Names of the elements of O(containers) whose unit file was (or in check mode would be) written or removed,
      and of those that use the tightened seccomp profile when it changed (see RV(seccomp_profile)).
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
    action:
      description: What O(apply) did with the service, V(restarted), V(started) or V(none).
      returned: with O(apply)
      type: str
      sample: restarted
seccomp_profile:
  description:
    - The tightened seccomp profile this run installed or found in place, when a unit uses it.
    - With O(containers), the units that use a changed profile are in RV(changed_units) too (their running
      containers still have the old filter until they restart).
  returned: when O(state=present) and a unit uses O(tightened_seccomp)
  type: dict
  contains:
    path:
      description: Where the profile is.
      type: str
      sample: /etc/containers/podsec/seccomp.json
    changed:
      description: Whether the profile was (or in check mode would be) written.
      type: bool
      sample: false
managed_units:
  description:
    - Names of the units in the unit directory whose header carries O(managed_marker), sorted, as they were before
      this task.
  returned: with O(containers) and O(managed_marker)
  type: list
  elements: str
  sample: [old_worker, web]
managed_unit_files:
  description:
    - File names of the unit files of every kind (C(.container), C(.network), C(.volume), C(.pod)) in the unit
      directory whose header carries O(managed_marker), sorted, as they were before this task.
  returned: with O(containers) and O(managed_marker)
  type: list
  elements: str
  sample: [backend.network, web.container, web.network]
other_units:
  description:
    - One entry per network, volume and pod unit of this call, in order (O(network_units), O(volume_units),
      O(pod_units)), then the networks of their own of rootful containers that publish ports without a network.
  returned: with O(containers)
  type: list
  elements: dict
  contains:
    name:
      description: Unit name.
      type: str
      sample: backend
    kind:
      description: V(network), V(volume) or V(pod).
      type: str
      sample: network
    file:
      description: File name of the unit.
      type: str
      sample: backend.network
    path:
      description: Path of the unit file.
      type: str
      sample: /etc/containers/systemd/backend.network
    service_name:
      description: The service the generator makes of it.
      type: str
      sample: backend-network.service
    changed:
      description: Whether this unit file was (or in check mode would be) written or removed.
      type: bool
      sample: true
    content:
      description: The rendered unit text; only when O(state=present).
      type: str
      sample: "[Network]\nDriver=bridge\nInternal=true\n..."
changed_other_units:
  description: File names of the network, volume and pod units that were (or in check mode would be) written or removed.
  returned: with O(containers)
  type: list
  elements: str
  sample: [backend.network]
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
images:
  description:
    - The images of O(containers), each once, with the containers that use it and whether it was pulled (in
      check mode, would be) because the owner's storage lacked it.
  returned: with O(apply)
  type: list
  elements: dict
  contains:
    image:
      description: The image reference as declared.
      type: str
    containers:
      description: The containers of this call that use it.
      type: list
      elements: str
    pulled:
      description: Whether it was pulled (in check mode, would be).
      type: bool
    id:
      description: The image ID the reference names in the owner's storage after the pull (none when missing).
      type: str
    updated:
      description: Whether the pull brought an image ID the storage did not have under this reference.
      type: bool
    findings:
      description:
        - What is inside the image, as the owner's podman has it, as container_posture's image findings (the same
          ids and fields); setuid-root files (V(image_setuid_root)), other setuid, setgid and capability files,
          a root default user, C(RUN)/C(INSTALL)/C(UNINSTALL) labels, exposed ports and declared volumes.
        - The image is mounted read-only (C(podman image mount), inside C(podman unshare) for a rootless owner),
          walked without following links and unmounted again; also in check mode.
      type: list
      elements: dict
      returned: when the image was looked at - the owner's storage holds it (in check mode, not an image that
        would be pulled) and a container of it does not run that image ID yet (a re-run that changes nothing
        mounts no image)
    setuid_root_files:
      description:
        - Paths inside the image of its setuid-root files. The task fails, before any unit file changes, naming
          them and the option C(setuid_root_ok), unless every container using the image sets it.
      type: list
      elements: str
      returned: when the image was looked at (as RV(images[].findings))
  sample:
    - image: localhost:5000/trusted/sigstore:latest
      containers: [web]
      pulled: true
      id: 7ab4f0977a7261ca33a8d50a0b0c05288f3ecc54412c55b8aacf1fe528a1d47c
      updated: true
apply:
  description:
    - What O(apply) did (in check mode would do), for the owner of the units.
  returned: with O(apply)
  type: dict
  contains:
    linger_enabled:
      description: Whether lingering was enabled for O(rootless_user).
      type: bool
    subid_ranges_added:
      description: The subordinate id files the C(containers) range was added to.
      type: list
      elements: str
    containers_user_created:
      description:
        - Whether the system user C(containers) was created, which newer libsubid (shadow 4.20, podman 5.8) needs
          to find the C(containers) ranges of O(apply.subid_start) for rootful C(UserNS=auto).
      type: bool
    removed:
      description: Units stopped and removed.
      type: list
      elements: str
    removed_files:
      description: C(.network), C(.volume) and C(.pod) unit files removed.
      type: list
      elements: str
    reloaded:
      description: Whether systemd was reloaded (once).
      type: bool
    restarted:
      description: Units restarted because their unit file, an O(apply.restart) entry or their image (see O(apply.pull)) changed.
      type: list
      elements: str
    started:
      description: Declared units that were not running and were started.
      type: list
      elements: str
    failed:
      description: The services that did not come up, each with C(name), C(why) and C(journal) (its last lines).
      type: list
      elements: dict
    auto_update_timer_enabled:
      description: Whether C(podman-auto-update.timer) of the owner was enabled and started (a container sets
        O(auto_update) and the timer was not enabled and active).
      type: bool
  sample:
    linger_enabled: false
    subid_ranges_added: []
    containers_user_created: false
    removed: [old_worker]
    removed_files: [old_backend.network]
    reloaded: true
    restarted: [web]
    started: [worker]
    failed: []
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

import pwd

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import (
    CONTAINER_OPTIONS,
    UNIT_KINDS,
    argument_spec,
    kind_options,
)
from ansible_collections.podsec.hardening.plugins.module_utils._module import PodsecModule
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    QuadletError,
    effective_network,
    internal_network_problem,
    own_network_spec,
    validate_name,
)
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet_host import QuadletUnit, converge


def unit_spec():
    """Argument spec of one unit: the top-level options of the single form, and each element of containers."""
    spec = argument_spec()
    spec["name"] = dict(type="str")
    return spec


_SHARED_OPTIONS = ("state", "rootless_user", "header", "podman_executable", "generator")


def element_params(module, index, element, options=None, where="containers", image=True):
    """Validate one element of containers (or of network_units, ... with their ``options``) like the single form
    and merge in the shared options."""
    spec = unit_spec() if options is None else argument_spec(options)
    label = element.get("name") or "#%d" % index
    unknown = sorted(set(element) - set(spec))
    if unknown:
        module.fail_json(msg="%s[%s]: unsupported option %s" % (where, label, ", ".join(unknown)))
    spec["name"]["required"] = True
    spec["state"] = dict(type="str", default=module.params["state"])
    required_if = [("state", "present", ["image"])] if image else []
    result = ArgumentSpecValidator(spec, required_if=required_if).validate(dict(element, state=module.params["state"]))
    if result.error_messages:
        module.fail_json(msg="%s[%s]: %s" % (where, label, "; ".join(result.error_messages)))
    params = dict(result.validated_parameters)
    for key in _SHARED_OPTIONS:
        params[key] = module.params[key]
    return params


def make_unit(module, params, owner, kind="container", own_network=False):
    try:
        validate_name(params["name"])
    except QuadletError as exc:
        module.fail_json(msg=str(exc))
    return QuadletUnit(module, params, owner, kind, own_network)


def lookup_owner(module, user):
    """The pwd entry of a rootless user, None for root."""
    try:
        return pwd.getpwnam(user) if user else None
    except KeyError:
        module.fail_json(msg="rootless_user %r does not exist" % user)


def run_one(module):
    """The single form: the list form's flow with one container (no network of its own), validated every time."""
    owner = lookup_owner(module, module.params["rootless_user"])
    unit = make_unit(module, module.params, owner)
    present = module.params["state"] == "present"
    if present and owner is None and effective_network(module.params, False) is None:
        module.warn("%s publishes ports without a network: the single form leaves it on podman's default "
                    "network, shared with every container on it; use containers (a network of its own) or set "
                    "network" % unit.name)
    converged, plans = converge(module, owner, [unit], [], validate_always=True)
    _unit, before, after, entry = plans[0]
    result = dict(changed=converged["changed"], path=unit.path, service_name="%s.service" % unit.name,
                  rootless=owner is not None)
    if present:
        result.update(service=entry["service"], content=after, podman_version=converged["podman_version"])
    if "seccomp_profile" in converged:
        result["seccomp_profile"] = converged["seccomp_profile"]
    if module._diff:
        result["diff"] = dict(before=before, after=after, before_header=unit.path, after_header=unit.path)
    module.exit_json(**result)


def other_units(module, owner):
    """The network, volume and pod units of this call: the declared ones, then one network of its own per rootful
    container that publishes ports without a network (named like it)."""
    units = []
    for option, _variable, suffix, _section, options in UNIT_KINDS:
        for index, element in enumerate(module.params[option] or []):
            params = element_params(module, index, element, kind_options(suffix), option, image=False)
            units.append(make_unit(module, params, owner, suffix))
    return units


def run_many(module):
    """Render and compare every element; validate all of them together when one changed; only then write or remove."""
    defaults = ArgumentSpecValidator(unit_spec()).validate({}).validated_parameters
    for key in CONTAINER_OPTIONS:
        if module.params[key] != defaults[key]:
            module.fail_json(msg="%s cannot be combined with containers: set it in each element" % key)
    owner = lookup_owner(module, module.params["rootless_user"])
    present = module.params["state"] == "present"
    containers = []
    for index, element in enumerate(module.params["containers"]):
        params = element_params(module, index, element)
        own = present and owner is None and effective_network(params, False, True) == "%s.network" % params["name"]
        containers.append(make_unit(module, params, owner, own_network=own))
    others = other_units(module, owner)
    problem = present and internal_network_problem([unit.params for unit in containers],
                                                   [unit.params for unit in others if unit.kind == "network"],
                                                   [unit.params for unit in others if unit.kind == "pod"])
    if problem:
        module.fail_json(msg=problem)
    for unit in containers:
        if unit.own_network:
            others.append(make_unit(module, dict(own_network_spec(unit.name), header=module.params["header"]), owner,
                                    "network"))
    units = containers + others
    names = [unit.file_name for unit in units]
    duplicates = sorted(set(name[:-len(".container")] if name.endswith(".container") else name
                            for name in names if names.count(name) > 1))
    if duplicates:
        module.fail_json(msg="containers: duplicate name %s (a rootful container that publishes ports without a "
                         "network has a network of its own named like it)" % ", ".join(duplicates))
    result, _plans = converge(module, owner, containers, others)
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
        apply=dict(type="dict", options=dict(
            started=dict(type="list", elements="str"),
            absent=dict(type="list", elements="str", default=[]),
            absent_files=dict(type="list", elements="str", default=[]),
            prune=dict(type="bool", default=False),
            restart=dict(type="list", elements="str", default=[]),
            subid_start=dict(type="int", default=2147483647),
            subid_count=dict(type="int", default=2147483648),
            user_manager_timeout=dict(type="int", default=30),
            settle=dict(type="float", default=0.5),
            journal_lines=dict(type="int", default=30),
            pull=dict(type="str", default="missing", choices=["missing", "newer"]),
        )),
    )
    argument_spec.update(
        network_units=dict(type="list", elements="dict"),
        volume_units=dict(type="list", elements="dict"),
        pod_units=dict(type="list", elements="dict"),
    )
    module = PodsecModule(
        argument_spec=argument_spec,
        required_one_of=[("name", "containers")],
        mutually_exclusive=[("name", "containers")],
        required_if=[("state", "present", ["image", "containers"], True)],
        supports_check_mode=True,
    )
    apply = module.params["apply"]
    if apply is not None and module.params["containers"] is not None:
        if module.params["state"] != "present":
            module.fail_json(msg="apply needs state=present (apply.absent and apply.prune remove units)")
        if (apply["absent"] or apply["prune"]) and not module.params["managed_marker"]:
            module.fail_json(msg="apply.absent and apply.prune remove only units that carry managed_marker: set it")
        # The services' states decide what to start.
        module.params["report_active_state"] = True
    if module.params["containers"] is not None:
        run_many(module)
    if module.params["managed_marker"] or module.params["report_active_state"] or module.params["apply"] is not None:
        module.fail_json(msg="managed_marker, report_active_state and apply need containers")
    for option, _variable, _suffix, _section, _options in UNIT_KINDS:
        if module.params[option] is not None:
            module.fail_json(msg="%s needs containers (an empty list when there are none)" % option)
    run_one(module)


if __name__ == "__main__":
    main()
