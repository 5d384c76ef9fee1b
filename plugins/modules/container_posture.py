#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_posture
short_description: Gather the container security posture of a Podman host
version_added: 0.1.0
description:
  - Read-only fact gathering. Inspects every container of root and of each rootless user, whatever its state
    (created, running, exited), with C(podman ps -a -q) and one C(podman inspect) per user, and the host's Podman
    API sockets, image trust policies and kernel audit watches.
  - "Container findings: privileged, runs as root, writable root file system, credentials in the environment
    (secret-looking variable NAMES, and values that are a URL with a password or a token: only the names enter the
    result), container engine sockets mounted by their path, through a hard link (same device and inode), a
    symbolically linked or bind-mounted directory (resolved on the host), a user's rootless API directory
    C(/run/user/UID/podman), sensitive host path mounts, ports published on any non-loopback address, capabilities
    kept, no-new-privileges missing, C(seccomp=unconfined), C(apparmor=unconfined), C(label=disable),
    C(unmask=...)/C(systempaths=unconfined), host network/pid/ipc/uts/user/cgroup namespace."
  - "Host findings: Podman API on TCP (a podman socket unit with a TCP C(ListenStream), a TCP socket unit whose
    service is C(systemd-socket-proxyd) forwarding to an engine socket, or a podman process listening on TCP), a
    world-accessible Podman socket, a trust policy that Podman refuses (validated as containers/image does:
    critical, every pull fails) or that accepts any image by default (high), for the system and for each rootless
    user, expected audit watches missing (or audit unavailable, for example inside systemd-nspawn)."
  - Each finding names the target, its severity, what is wrong, a one-line fix naming the podsec.hardening role
    option or the command that fixes it, and the podman-security-bench (CIS Docker Benchmark) check number.
  - Each container is marked as deployed by this collection (its Quadlet unit carries the hardened_container
    role's marker line), by another systemd unit (label C(PODMAN_SYSTEMD_UNIT)) or unmanaged, and the secure
    defaults it switched off (opt-outs such as C(memory=unlimited)) are listed as an C(info) finding.
  - Never changes anything; C(changed) is always false.
author:
  - podsec.hardening contributors (@podsec)
extends_documentation_fragment:
  - podsec.hardening.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode gives the same result.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  rootful:
    description: Inspect the containers of root.
    type: bool
    default: true
  users:
    description:
      - Rootless users whose containers are inspected too, through C(runuser -u USER -- podman ...) with the user's
        C(XDG_RUNTIME_DIR) (C(/run/user/UID)) when it exists. Users without Podman storage in their home are skipped.
      - Their per-user trust policy (C(~/.config/containers/policy.json)), when present, is checked as well.
      - Added to the users that O(discover_users) finds.
    type: list
    elements: str
    default: []
  discover_users:
    description:
      - Also inspect every user (root excluded) that lingers (C(/var/lib/systemd/linger/USER)), or has Podman
        storage (C(~/.local/share/containers/storage)) or Quadlet units (C(~/.config/containers/systemd/*.container))
        under the home directory.
    type: bool
    default: true
  managed_marker:
    description:
      - The header line that marks a Quadlet unit as written by the collection; containers whose unit carries it
        are reported as C(managed=podsec.hardening), and their opt-outs are read from the unit.
      - The default is the marker of the podsec.hardening.hardened_container role.
    type: str
    default: "podsec.hardening.hardened_container: installed by this role, local changes are overwritten"
  policy_path:
    description: The system trust policy to check.
    type: path
    default: /etc/containers/policy.json
  socket_path:
    description: The rootful Podman API socket whose permissions are checked.
    type: path
    default: /run/podman/podman.sock
  check_audit:
    description: Compare the loaded kernel audit watches with O(expected_audit_watches).
    type: bool
    default: true
  expected_audit_watches:
    description:
      - Paths that should carry an audit watch. Paths that do not exist on the host are not expected.
      - The default is a core subset of the podsec.hardening.audit role's container-stack watch set.
    type: list
    elements: path
    default: [/usr/bin/podman, /usr/bin/crun, /etc/containers, /var/lib/containers]
  sensitive_paths:
    description:
      - Host paths whose bind mount into a container is reported (exact match). Mounts below V(/root), V(/proc),
        V(/sys), V(/boot), V(/dev), V(/etc/ssh), V(/etc/containers), V(/var/lib/containers) and similar subtrees
        are always reported.
    type: list
    elements: path
    default: [/, /etc, /root, /home, /boot, /dev, /proc, /sys, /run, /var/run, /var, /var/lib, /var/log, /usr, /bin,
              /sbin, /lib, /lib64]
  ignore_env_names:
    description: Environment variable names that look like secrets but are known not to be (not reported).
    type: list
    elements: str
    default: []
  inspect_images:
    description:
      - Look inside the image of each container of every owner checked (root and each rootless user of O(users) or
        discovered). One C(podman image inspect) per owner reports the configured user
        (root when unset), exposed ports, declared volumes and the C(RUN), C(INSTALL) and C(UNINSTALL) labels that
        C(podman container runlabel) would run; then each image is mounted read-only (C(podman image mount)),
        searched for setuid and setgid files and files with capabilities without following symbolic links, and
        unmounted in the same command, also when the search fails. Findings name the paths inside the image (a
        setuid-root file is a high finding) and, for a rootless user's image, the user.
      - A rootless user's image is mounted inside the user's namespace (C(podman unshare)), as that user.
      - Read-only, also in check mode; nothing stays mounted.
    type: bool
    default: false
notes:
  - The environment of a container is read by C(podman inspect) on the host, but only the variable names enter
    the module's result.
seealso:
  - module: podsec.hardening.image_trust
  - module: podsec.hardening.audit_watch
"""

EXAMPLES = r"""
- name: Gather the container security posture (rootless users are discovered)
  podsec.hardening.container_posture:

- name: Only root's containers, and the named user's
  podsec.hardening.container_posture:
    discover_users: false
    users: [podsec]

- name: Show the findings
  ansible.builtin.debug:
    msg: "{{ item.severity }} {{ item.target }}: {{ item.message }} -> {{ item.fix }}"
  loop: "{{ ansible_facts.podsec_posture.findings }}"

- name: Fail when a critical finding exists
  ansible.builtin.assert:
    that: ansible_facts.podsec_posture.counts.critical == 0
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    podsec_posture:
      description: The host's container security posture.
      type: dict
      contains:
        score:
          description:
            - 100 minus weighted findings (critical 25, high 10, medium 4, low 1), at least 0.
            - 100 only while no finding above V(info) is open (at most 99 otherwise).
          type: int
          sample: 61
        total:
          description: Number of findings.
          type: int
          sample: 7
        counts:
          description: Number of findings per severity.
          type: dict
          sample: {critical: 1, high: 2, medium: 3, low: 1, info: 0}
        findings:
          description: Findings, most severe first.
          type: list
          elements: dict
          contains:
            id:
              description: Stable identifier of the rule, for example V(container_privileged).
              type: str
            title:
              description: Short human title of the rule, for example V(Privileged container).
              type: str
            severity:
              description: One of V(critical), V(high), V(medium), V(low), V(info).
              type: str
            target:
              description: V(host), or the container name (with the rootless user when not root).
              type: str
            message:
              description: What is wrong. Never contains an environment variable value.
              type: str
            fix:
              description: One line on what to do, naming the collection role option or the command.
              type: str
            bench:
              description:
                - The podman-security-bench (CIS Docker Benchmark numbering) check the rule corresponds to, for example
                  V(5.4) for privileged containers; empty when there is none.
              type: str
            details:
              description: Machine-readable details (variable names, mount paths, ports, capabilities).
              type: dict
              returned: when the rule has details
          sample:
            - id: container_secret_env
              title: Secret in environment variables
              severity: high
              target: legacy-db
              message: "Credentials in environment variables (names only, values not shown): DB_PASSWORD (secret-looking name)."
              fix: Move the values into Podman secrets mounted as files ...
              bench: "4.10"
              details: {variables: [DB_PASSWORD], reasons: {DB_PASSWORD: secret-looking name}}
        containers:
          description:
            - Every container that was inspected, whatever its state.
            - V(managed) is V(podsec.hardening) (its Quadlet unit carries O(managed_marker)), V(systemd) (run by
              another systemd unit) or V(unmanaged); V(opt_outs) lists the secure defaults it switched off, as
              hardened_container options; V(findings) counts its findings above V(info).
          type: list
          elements: dict
          sample: [{name: web, id: 0123456789ab, image: localhost/podsec/busybox:latest, owner: root, state: running,
                    managed: podsec.hardening, opt_outs: ["memory: unlimited"], findings: 0}]
        audit_available:
          description: Whether C(auditctl -l) worked, so that audit watches could be checked.
          type: bool
        checked:
          description: The owners (V(root) and user names, given or discovered) whose containers were inspected.
          type: list
          elements: str
"""

import glob
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podsec.hardening.plugins.module_utils import _image_inspect, _posture, _runas, _users
from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import ROLE_MARKER
from ansible_collections.podsec.hardening.plugins.module_utils._inputs import resolve_on_target

LINGER_DIR = "/var/lib/systemd/linger"
SOCKET_GLOBS = ("/run/user/*/podman/podman.sock", "/run/user/*/docker.sock")


class PostureBackend(object):
    """Runs the read-only commands and feeds their output to the pure rules in _posture."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.podman = module.get_bin_path("podman")
        self.findings = []
        self.containers = []
        self.checked = []
        self.sockets = self.engine_sockets()

    def run(self, args, cwd=None):
        return self.module.run_command(args, cwd=cwd, environ_update={"LC_ALL": "C"})

    @staticmethod
    def _home(user):
        try:
            return pwd.getpwnam(user).pw_dir
        except KeyError:
            return None

    @staticmethod
    def engine_sockets():
        """The engine API sockets present on this host (rootful and every user's), with their identities."""
        paths = list(_posture.ENGINE_SOCKET_PATHS)
        for pattern in SOCKET_GLOBS:
            paths += sorted(glob.glob(pattern))
        sockets, seen = [], set()
        for path in paths:
            try:
                info = os.stat(path)
                parent = os.stat(os.path.dirname(path))
            except OSError:
                continue
            if not stat.S_ISSOCK(info.st_mode) or (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            try:
                user = pwd.getpwuid(info.st_uid).pw_name
            except KeyError:
                user = None
            sockets.append({"path": path, "dev": info.st_dev, "ino": info.st_ino, "dir_dev": parent.st_dev,
                            "dir_ino": parent.st_ino, "uid": info.st_uid, "user": user})
        return sockets

    @staticmethod
    def mount_facts(info):
        """``{source: {resolved, dev, ino}}`` for the container's bind mounts, as this host resolves them."""
        facts = {}
        for mount in _posture.mounts_of(info):
            source = mount["source"]
            if mount["type"] not in ("bind", "") or not source.startswith("/") or source in facts:
                continue
            resolved = resolve_on_target(source)
            try:
                found = os.stat(resolved)
            except OSError:
                facts[source] = {"resolved": resolved}
                continue
            facts[source] = {"resolved": resolved, "dev": found.st_dev, "ino": found.st_ino}
        return facts

    @staticmethod
    def discover_users():
        """Users with lingering, or with Podman storage or Quadlet units under their home (root excluded)."""
        try:
            lingering = set(os.listdir(LINGER_DIR))
        except OSError:
            lingering = set()
        users = []
        for entry in _users.home_entries():
            if entry.pw_uid == 0 or entry.pw_name in users:
                continue
            storage = os.path.isdir(os.path.join(entry.pw_dir, ".local", "share", "containers", "storage"))
            units = glob.glob(os.path.join(entry.pw_dir, ".config", "containers", "systemd", "*.container"))
            if entry.pw_name in lingering or storage or units:
                users.append(entry.pw_name)
        return users

    def _user_prefix(self, user):
        """Command prefix running podman as ``user``, or None (with a reason) when it cannot."""
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            return None, "no such user", None
        storage = os.path.join(entry.pw_dir, ".local", "share", "containers", "storage")
        if not os.path.isdir(storage):
            return None, None, None
        prefix = _runas.as_user(self.module, entry, required=False)
        if prefix is None:
            return None, "runuser not found", None
        return prefix, None, entry.pw_dir

    def unit_text(self, info, owner):
        """The Quadlet file that runs the container, when there is one."""
        for path in _posture.quadlet_paths(info, owner, None if owner == "root" else self._home(owner)):
            text = self._read(path)
            if text is not None:
                return text
        return None

    def inspect_owner(self, owner):
        if owner == "root":
            prefix, reason, cwd = [], None, "/"
        else:
            prefix, reason, cwd = self._user_prefix(owner)
            if prefix is None:
                if reason:
                    self.findings.append(_posture.inspect_failed_finding(owner, reason))
                return
        self.checked.append(owner)
        # Every container, whatever its state: a created or stopped one runs as it is at the next start.
        rc, out, err = self.run(prefix + [self.podman, "ps", "-a", "-q", "--no-trunc"], cwd=cwd)
        if rc != 0:
            self.findings.append(_posture.inspect_failed_finding(owner, "podman ps: %s" % err.strip()))
            return
        ids = [line.strip() for line in out.splitlines() if line.strip()]
        if not ids:
            return
        # One inspect for all containers; one removed in between only shortens the list.
        rc, out, err = self.run(prefix + [self.podman, "container", "inspect"] + ids, cwd=cwd)
        try:
            infos = _posture.parse_inspect(out)
        except ValueError as exc:
            self.findings.append(_posture.inspect_failed_finding(owner, "podman inspect: %s" % exc))
            return
        if rc != 0 and not infos:
            self.findings.append(_posture.inspect_failed_finding(owner, "podman inspect: %s" % err.strip()))
            return
        for info in infos:
            found, summary = _posture.assess_container(info, owner, self.unit_text(info, owner), self.params,
                                                       mount_facts=self.mount_facts(info), sockets=self.sockets)
            self.findings.extend(found)
            self.containers.append(summary)
        if self.params["inspect_images"]:
            self.inspect_images(prefix, owner, infos)
        del infos

    def inspect_images(self, prefix, owner, infos):
        """Look inside the images of the owner's containers (_image_inspect: mounted read-only, walked, unmounted)."""
        images = _image_inspect.images_of(infos)
        seen = _image_inspect.inspect_images(self.module, prefix, self.podman, [item[0] for item in images],
                                             _image_inspect.is_rootless(prefix))
        self.findings.extend(_image_inspect.report(images, seen, owner))

    def _show(self, systemctl, units, props):
        if not units:
            return ""
        argv = [systemctl, "show", "--no-pager"]
        for prop in props:
            argv += ["-p", prop]
        rc, out, _err = self.run(argv + units)
        return out if rc == 0 else ""

    def check_sockets(self):
        systemctl = self.module.get_bin_path("systemctl")
        show = services = ""
        if systemctl:
            rc, out, _err = self.run([systemctl, "list-units", "--type=socket", "--all", "--plain",
                                      "--no-legend", "--no-pager"])
            units = [line.split()[0] for line in out.splitlines() if rc == 0 and line.split()]
            units = [unit for unit in units if unit.endswith(".socket")]
            show = self._show(systemctl, units, ("Id", "Listen", "Triggers", "ActiveState", "UnitFileState"))
            # Services behind TCP socket units: a systemd-socket-proxyd there may forward to an engine socket.
            services = self._show(systemctl, _posture.proxy_services(show), ("Id", "ExecStart"))
        ss_out = ""
        ss = self.module.get_bin_path("ss")
        if ss:
            rc, ss_out, _err = self.run([ss, "-Hltnp"])
            if rc != 0:
                ss_out = ""
        self.findings.extend(_posture.tcp_api_findings(show, ss_out, service_show=services, sockets=self.sockets))
        try:
            mode = os.stat(self.params["socket_path"]).st_mode
        except OSError:
            mode = None
        self.findings.extend(_posture.socket_mode_findings(self.params["socket_path"], mode))

    @staticmethod
    def _read(path):
        try:
            with open(path, "r") as handle:
                return handle.read()
        except (IOError, OSError, UnicodeDecodeError):
            return None

    def check_trust(self, users):
        path = self.params["policy_path"]
        self.findings.extend(_posture.trust_findings(self._read(path), path))
        for user in users:
            home = self._home(user)
            if home is None:
                continue
            # Podman as this user reads this file instead of the system one when it exists.
            user_policy = os.path.join(home, ".config", "containers", "policy.json")
            if os.path.lexists(user_policy):
                self.findings.extend(_posture.trust_findings(self._read(user_policy), user_policy,
                                                             target="user %s" % user))

    def check_audit(self):
        auditctl = self.module.get_bin_path("auditctl")
        if not auditctl:
            found, available = _posture.audit_findings(None, "", "auditctl is not installed", [])
        else:
            rc, out, err = self.run([auditctl, "-l"])
            expected = [p for p in self.params["expected_audit_watches"] if os.path.exists(p)]
            found, available = _posture.audit_findings(rc, out, err, expected)
        self.findings.extend(found)
        return available

    def users(self):
        users = list(self.params["users"])
        if self.params["discover_users"]:
            users += [user for user in PostureBackend.discover_users() if user not in users]
        return users

    def gather(self):
        audit_available = False
        users = self.users()
        if not self.podman:
            self.module.warn("podman is not installed; no container was inspected")
        else:
            owners = (["root"] if self.params["rootful"] else []) + users
            for owner in owners:
                self.inspect_owner(owner)
        self.check_sockets()
        self.check_trust(users)
        if self.params["check_audit"]:
            audit_available = self.check_audit()
        return _posture.posture(self.findings, self.containers, self.checked, audit_available)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rootful=dict(type="bool", default=True),
            users=dict(type="list", elements="str", default=[]),
            discover_users=dict(type="bool", default=True),
            managed_marker=dict(type="str", default=ROLE_MARKER),
            policy_path=dict(type="path", default="/etc/containers/policy.json"),
            socket_path=dict(type="path", default="/run/podman/podman.sock"),
            check_audit=dict(type="bool", default=True),
            expected_audit_watches=dict(type="list", elements="path", default=list(_posture.DEFAULT_AUDIT_WATCHES)),
            sensitive_paths=dict(type="list", elements="path", default=list(_posture.DEFAULT_SENSITIVE_PATHS)),
            ignore_env_names=dict(type="list", elements="str", default=[]),
            inspect_images=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    posture = PostureBackend(module).gather()
    module.exit_json(changed=False, ansible_facts={"podsec_posture": posture})


if __name__ == "__main__":
    main()
