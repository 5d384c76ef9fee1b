# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Pure logic of the container_posture module: parse what podman, systemd, ss and auditctl print,
turn it into findings, and summarise them.

Nothing here runs a command or reads a file, so every rule is unit-tested with recorded output.
Secret values never leave this module: environment variables are reduced to their NAMES as soon as
the ``podman inspect`` document is parsed.
"""

from __future__ import annotations

import json
import re
import shlex

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_WEIGHT = {"critical": 25, "high": 10, "medium": 4, "low": 1, "info": 0}

ENGINE_SOCKET_NAMES = frozenset(("podman.sock", "docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock"))
ENGINE_SOCKET_DIRS = frozenset(("/run/podman", "/var/run/podman", "/run/docker", "/var/run/docker", "/run/containerd"))

DEFAULT_SENSITIVE_PATHS = (
    "/", "/etc", "/root", "/home", "/boot", "/dev", "/proc", "/sys", "/run", "/var/run", "/var",
    "/var/lib", "/var/log", "/usr", "/bin", "/sbin", "/lib", "/lib64",
)
# Subtrees where any bind mount is sensitive, not just the directory itself.
DEFAULT_SENSITIVE_SUBTREES = (
    "/root", "/boot", "/proc", "/sys", "/dev", "/etc/ssh", "/etc/sudoers.d", "/etc/shadow", "/etc/gshadow",
    "/etc/containers", "/etc/systemd", "/etc/audit", "/var/lib/containers", "/var/lib/docker",
)

DEFAULT_AUDIT_WATCHES = (
    "/usr/bin/podman", "/usr/bin/crun", "/etc/containers", "/var/lib/containers",
)

# Capabilities that give a container a path to the host kernel or other processes.
DANGEROUS_CAPABILITIES = frozenset((
    "CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_DAC_READ_SEARCH",
    "CAP_NET_ADMIN", "CAP_SYS_BOOT", "CAP_BPF", "CAP_PERFMON", "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE",
    "CAP_SYSLOG", "CAP_SYS_TIME", "CAP_LINUX_IMMUTABLE",
))

_SECRET_NAME = re.compile(
    r"(PASSW(OR)?D|(^|_)PASS($|_)|PWD$|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|"
    r"(^|_)AUTH($|_)|(^|_)SALT($|_)|CONN(ECTION)?_?STR|DSN$)",
    re.IGNORECASE,
)
# Conventional names that point at a secret instead of carrying it.
_SECRET_REFERENCE = re.compile(r"(_FILE|_PATH|_DIR)$", re.IGNORECASE)

ROOT_USERS = frozenset(("", "0", "root"))
ALL_ADDRESSES = frozenset(("", "0.0.0.0", "::", "[::]", "*"))

FIX = {
    "privileged": "Remove --privileged; deploy it with the podsec.hardening.hardened_container role "
                  "(hardened_container_containers), which never runs privileged containers.",
    "root_user": "Run as a non-root user: set `user:` for the container in hardened_container_containers "
                 "(the role defaults to a non-root user).",
    "writable_rootfs": "Make the root file system read-only: hardened_container_containers entries get ReadOnly=true "
                       "by default; give writable paths as `tmpfs:` or volumes.",
    "secret_env": "Move the values into Podman secrets mounted as files (`secrets:` in hardened_container_containers, "
                  "podsec.hardening.tmpfs_secret); do not pass them as environment variables.",
    "engine_socket": "Do not mount a container engine socket; it gives root on the host. The hardened_container role "
                     "refuses such volumes.",
    "sensitive_mount": "Mount only application data directories; replace the host path mount by a named volume or a "
                       "dedicated directory in hardened_container_containers `volumes:`.",
    "public_port": "Publish on 127.0.0.1 (the hardened_container role default) or name the address explicitly in "
                   "`ports:` of hardened_container_containers.",
    "capabilities": "Drop all capabilities (hardened_container role default DropCapability=all) and list only the "
                    "needed ones in `add_capabilities:`.",
    "no_new_privileges": "Set no-new-privileges (hardened_container role default NoNewPrivileges=true).",
    "host_namespace": "Use the container's own namespace; the hardened_container role refuses host network, pid and ipc.",
    "tcp_api": "Remove the TCP listener of the Podman API (ListenStream=HOST:PORT / `podman system service tcp://`); "
               "use the unix socket over SSH (`podman --remote` with ssh://) instead.",
    "socket_mode": "Restore SocketMode=0660 on podman.socket and remove world permissions from the socket.",
    "trust_default": "Apply the podsec.hardening.trust role (trust_* variables: default reject plus an allow-list of "
                     "signed registries; site.yml podsec_enable_trust=true).",
    "trust_invalid": "Rewrite the policy with the podsec.hardening.trust role / podsec.hardening.image_trust module; "
                     "Podman refuses every pull while the file is invalid.",
    "audit_missing": "Apply the podsec.hardening.audit role (audit_watches; site.yml podsec_enable_audit=true) to load "
                     "and persist the container-stack watches.",
    "audit_unavailable": "Nothing to fix on this host; run kernel audit on the machine that owns the kernel "
                         "(containers in nspawn/LXC cannot load audit rules).",
    "inspect_failed": "Check that podman works on the host (`podman ps`) for this user; the posture is incomplete.",
}


TITLES = {
    "container_privileged": "Privileged container",
    "container_root_user": "Runs as root",
    "container_writable_rootfs": "Writable root file system",
    "container_secret_env": "Secret in environment variables",
    "container_engine_socket": "Container engine socket mounted",
    "container_sensitive_mount": "Sensitive host path mounted",
    "container_public_port": "Port published on all addresses",
    "container_capabilities": "Capabilities kept",
    "container_no_new_privileges": "no-new-privileges missing",
    "container_host_network": "Host network namespace",
    "container_host_pid": "Host PID namespace",
    "container_host_ipc": "Host IPC namespace",
    "container_host_uts": "Host UTS namespace",
    "host_podman_tcp_api": "Podman API exposed on TCP",
    "host_podman_socket_world": "World-accessible Podman socket",
    "host_trust_accept_anything": "Trust policy accepts any image",
    "host_trust_policy_invalid": "Invalid or missing trust policy",
    "host_audit_missing_watches": "Audit watches missing",
    "host_audit_unavailable": "Kernel audit unavailable",
    "host_inspect_failed": "Containers could not be inspected",
}


def finding(fid, severity, target, message, fix_key, **details):
    """Return one finding dictionary (the unit of the report)."""
    if severity not in SEVERITIES:
        raise ValueError("unknown severity %r" % severity)
    result = {
        "id": fid,
        "title": TITLES[fid],
        "severity": severity,
        "target": target,
        "message": message,
        "fix": FIX[fix_key],
    }
    if details:
        result["details"] = details
    return result


# ---------------------------------------------------------------------------------------------
# parse
# ---------------------------------------------------------------------------------------------

def parse_inspect(text):
    """Parse ``podman inspect`` output (a JSON array) into a list of container dictionaries."""
    text = (text or "").strip()
    if not text:
        return []
    data = json.loads(text)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError("podman inspect did not print a JSON array of objects")
    return data


def env_names(env):
    """Reduce a ``Config.Env`` list (``NAME=value``) to the variable names only."""
    names = []
    for item in env or []:
        if not isinstance(item, str):
            continue
        names.append(item.split("=", 1)[0])
    return names


def is_secret_name(name, allow=()):
    """True when an environment variable NAME looks like it carries a secret value."""
    if name in allow or _SECRET_REFERENCE.search(name):
        return False
    return bool(_SECRET_NAME.search(name))


def container_name(info):
    return (info.get("Name") or info.get("Id", "")[:12] or "?").lstrip("/")


def normalize_caps(caps):
    result = []
    for cap in caps or []:
        cap = str(cap).upper()
        if not cap.startswith("CAP_"):
            cap = "CAP_" + cap
        result.append(cap)
    return sorted(set(result))


def _norm_path(path):
    path = re.sub(r"/+", "/", str(path or ""))
    if len(path) > 1:
        path = path.rstrip("/")
    return path


def _under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def mounts_of(info):
    """Return ``[{source, destination, rw, type}]`` from ``Mounts`` (bind mounts and volumes)."""
    result = []
    for mount in info.get("Mounts") or []:
        if not isinstance(mount, dict):
            continue
        result.append({
            "type": mount.get("Type", "bind"),
            "source": _norm_path(mount.get("Source", "")),
            "destination": mount.get("Destination", ""),
            "rw": bool(mount.get("RW", True)),
        })
    return result


def published_ports(info):
    """Return ``[(host_ip, host_port, container_port)]`` from HostConfig.PortBindings (or NetworkSettings.Ports)."""
    bindings = (info.get("HostConfig") or {}).get("PortBindings")
    if not bindings:
        bindings = (info.get("NetworkSettings") or {}).get("Ports") or {}
    result = []
    for container_port, hosts in sorted(bindings.items()):
        for host in hosts or []:
            result.append((host.get("HostIp", "") or "", str(host.get("HostPort", "")), container_port))
    return result


# ---------------------------------------------------------------------------------------------
# validate: container rules
# ---------------------------------------------------------------------------------------------

def container_findings(info, owner="root", secret_allow=(), sensitive_paths=DEFAULT_SENSITIVE_PATHS,
                       sensitive_subtrees=DEFAULT_SENSITIVE_SUBTREES):
    """Return the findings for one ``podman inspect`` entry run by ``owner`` (root or a user name)."""
    name = container_name(info)
    target = name if owner == "root" else "%s (rootless, user %s)" % (name, owner)
    config = info.get("Config") or {}
    host = info.get("HostConfig") or {}
    rootless = owner != "root"
    found = []

    if host.get("Privileged"):
        found.append(finding(
            "container_privileged", "high" if rootless else "critical", target,
            "Runs with --privileged: all capabilities, all host devices, no seccomp or SELinux separation.",
            "privileged"))

    user = str(config.get("User") or "")
    user_part = user.split(":", 1)[0]
    if user_part in ROOT_USERS:
        found.append(finding(
            "container_root_user", "low" if rootless else "high", target,
            "Runs as root inside the container (user %r)%s." % (
                user or "", ", mapped to the unprivileged user %s" % owner if rootless else ""),
            "root_user"))

    if not host.get("ReadonlyRootfs"):
        found.append(finding(
            "container_writable_rootfs", "medium", target,
            "The container's root file system is writable.", "writable_rootfs"))

    secret_vars = sorted({n for n in env_names(config.get("Env")) if is_secret_name(n, secret_allow)})
    if secret_vars:
        found.append(finding(
            "container_secret_env", "high", target,
            "Secret-looking environment variables (names only, values not read): %s." % ", ".join(secret_vars),
            "secret_env", variables=secret_vars))

    mounts = mounts_of(info)
    sensitive_set = set(_norm_path(p) for p in sensitive_paths)
    for mount in mounts:
        source = mount["source"]
        if mount["type"] not in ("bind", "") or not source:
            continue
        base = source.rsplit("/", 1)[-1]
        if base in ENGINE_SOCKET_NAMES or source in ENGINE_SOCKET_DIRS:
            found.append(finding(
                "container_engine_socket", "critical", target,
                "Mounts the container engine socket %s at %s: full control of the engine, root on the host."
                % (source, mount["destination"]),
                "engine_socket", source=source, destination=mount["destination"]))
            continue
        if source in sensitive_set or any(_under(source, sub) for sub in sensitive_subtrees):
            found.append(finding(
                "container_sensitive_mount", "high" if mount["rw"] else "medium", target,
                "Mounts the sensitive host path %s at %s (%s)." % (
                    source, mount["destination"], "read-write" if mount["rw"] else "read-only"),
                "sensitive_mount", source=source, destination=mount["destination"], rw=mount["rw"]))

    public = ["%s:%s->%s" % (ip or "0.0.0.0", port, cport)
              for ip, port, cport in published_ports(info) if ip in ALL_ADDRESSES]
    if public:
        found.append(finding(
            "container_public_port", "medium", target,
            "Publishes on all host addresses: %s." % ", ".join(public),
            "public_port", ports=public))

    caps = normalize_caps(info.get("EffectiveCaps"))
    added = normalize_caps(host.get("CapAdd"))
    kept = sorted(set(caps) | set(added))
    if kept and not host.get("Privileged"):
        dangerous = sorted(DANGEROUS_CAPABILITIES.intersection(kept))
        found.append(finding(
            "container_capabilities", "high" if dangerous else "low", target,
            "Keeps %d capabilities (%s)%s." % (
                len(kept), ", ".join(kept),
                "; dangerous: %s" % ", ".join(dangerous) if dangerous else ""),
            "capabilities", capabilities=kept, dangerous=dangerous))

    security_opt = [str(opt).replace("=", ":") for opt in host.get("SecurityOpt") or []]
    nnp = any(opt in ("no-new-privileges", "no-new-privileges:true") for opt in security_opt)
    if not nnp:
        found.append(finding(
            "container_no_new_privileges", "medium", target,
            "no-new-privileges is not set: setuid binaries inside can raise privileges.",
            "no_new_privileges"))

    for key, label in (("NetworkMode", "network"), ("PidMode", "pid"), ("IpcMode", "ipc"), ("UTSMode", "uts")):
        if str(host.get(key) or "") == "host":
            found.append(finding(
                "container_host_%s" % label, "medium" if label == "uts" else "high", target,
                "Shares the host's %s namespace." % label, "host_namespace"))
    return found


# ---------------------------------------------------------------------------------------------
# validate: host rules
# ---------------------------------------------------------------------------------------------

def parse_systemctl_show(text):
    """Parse ``systemctl show -p A -p B UNIT...`` output into a list of ``{key: [values]}`` blocks."""
    blocks = []
    current = {}
    for line in (text or "").splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current.setdefault(key, []).append(value)
    if current:
        blocks.append(current)
    return blocks


def _listen_address(value):
    """``'0.0.0.0:2375 (Stream)'`` -> ``('0.0.0.0', '2375')``; unix sockets and non-stream -> None."""
    value = value.strip()
    match = re.match(r"^(?P<addr>\S+) \((?P<kind>[A-Za-z]+)\)$", value)
    if not match or match.group("kind") != "Stream":
        return None
    addr = match.group("addr")
    if addr.startswith("/") or addr.startswith("@"):
        return None
    if addr.isdigit():
        return ("", addr)
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return (host.strip("[]"), port)


def _is_loopback(host):
    return host == "localhost" or host.startswith("127.") or host == "::1"


def tcp_api_findings(socket_show, ss_output, target="host"):
    """Findings for a Podman API reachable over TCP.

    ``socket_show``: ``systemctl show -p Id -p Listen -p Triggers -p ActiveState`` for socket units;
    ``ss_output``: ``ss -Hltnp`` (process names included).
    """
    found = []
    seen = set()
    for block in parse_systemctl_show(socket_show):
        unit = (block.get("Id") or [""])[0]
        triggers = " ".join(block.get("Triggers") or [])
        if "podman" not in unit and "podman" not in triggers:
            continue
        active = (block.get("ActiveState") or ["active"])[0] == "active"
        enabled = (block.get("UnitFileState") or [""])[0] in ("enabled", "enabled-runtime")
        if not (active or enabled):
            continue
        for value in block.get("Listen") or []:
            address = _listen_address(value)
            if address is None:
                continue
            host, port = address
            seen.add(port)
            local = _is_loopback(host)
            found.append(finding(
                "host_podman_tcp_api", "medium" if local else "critical", target,
                "The socket unit %s exposes the Podman API on TCP %s:%s%s (no TLS, no authentication)." % (
                    unit, host or "*", port, " (loopback only)" if local else ""),
                "tcp_api", unit=unit, address=host or "*", port=port))
    for line in (ss_output or "").splitlines():
        if '"podman"' not in line:
            continue
        fields = line.split()
        # ss -Hltnp: State Recv-Q Send-Q Local:Port Peer:Port Process
        if len(fields) < 5:
            continue
        local_field = fields[3]
        host, _sep, port = local_field.rpartition(":")
        if not port.isdigit() or port in seen:
            continue
        seen.add(port)
        host = host.strip("[]")
        local = _is_loopback(host)
        found.append(finding(
            "host_podman_tcp_api", "medium" if local else "critical", target,
            "A podman process listens on TCP %s:%s (podman system service tcp://...)%s." % (
                host or "*", port, " (loopback only)" if local else ""),
            "tcp_api", address=host or "*", port=port))
    return found


def socket_mode_findings(path, mode, target="host"):
    """Finding when the Podman socket at ``path`` (``mode``: st_mode int or None) is world accessible."""
    if mode is None:
        return []
    if mode & 0o006:
        return [finding(
            "host_podman_socket_world", "critical", target,
            "The Podman socket %s has mode %04o: every local user controls the root engine." % (path, mode & 0o7777),
            "socket_mode", path=path, mode="%04o" % (mode & 0o7777))]
    return []


def _accepts_anything(requirements):
    return any(isinstance(req, dict) and req.get("type") == "insecureAcceptAnything" for req in requirements or [])


def trust_findings(policy_text, path="/etc/containers/policy.json", target="host"):
    """Findings for a containers-policy.json(5) that accepts any image by default."""
    if policy_text is None:
        return [finding(
            "host_trust_policy_invalid", "high", target,
            "%s does not exist: Podman refuses every pull." % path, "trust_invalid", path=path)]
    try:
        policy = json.loads(policy_text)
    except ValueError as exc:
        return [finding(
            "host_trust_policy_invalid", "high", target,
            "%s is not valid JSON (%s): Podman refuses every pull." % (path, exc), "trust_invalid", path=path)]
    if not isinstance(policy, dict) or not isinstance(policy.get("default"), list):
        return [finding(
            "host_trust_policy_invalid", "high", target,
            "%s has no `default` requirement list: Podman refuses every pull." % path, "trust_invalid", path=path)]
    found = []
    if _accepts_anything(policy["default"]):
        found.append(finding(
            "host_trust_accept_anything", "high", target,
            "%s accepts any image by default (insecureAcceptAnything): unsigned images from any registry run." % path,
            "trust_default", path=path))
    transports = policy.get("transports") or {}
    docker = transports.get("docker") if isinstance(transports, dict) else None
    if isinstance(docker, dict) and _accepts_anything(docker.get("")):
        found.append(finding(
            "host_trust_accept_anything", "high", target,
            "%s accepts any image from every docker registry (transport-wide scope \"\")." % path,
            "trust_default", path=path))
    return found


def parse_auditctl_rules(text):
    """Return ``{path: perms}`` for the file watches that ``auditctl -l`` prints (both forms)."""
    watches = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("No rules"):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if words[:1] == ["-w"] and len(words) >= 2:
            perms = "rwxa"
            if "-p" in words:
                index = words.index("-p")
                if index + 1 < len(words):
                    perms = words[index + 1]
            watches[_norm_path(words[1])] = perms
            continue
        if words[:1] == ["-a"]:
            path = None
            perms = "rwxa"
            for index, word in enumerate(words):
                if word == "-F" and index + 1 < len(words):
                    key, _sep, value = words[index + 1].partition("=")
                    if key in ("path", "dir"):
                        path = value
                    elif key == "perm":
                        perms = value
            if path:
                watches[_norm_path(path)] = perms
    return watches


def audit_findings(rc, stdout, stderr, expected, target="host"):
    """Findings for missing audit watches; ``audit_unavailable`` when auditctl cannot talk to the kernel."""
    if rc is None or rc != 0:
        reason = (stderr or stdout or "auditctl not found").strip().splitlines()
        reason = reason[-1] if reason else "rc=%s" % rc
        return [finding(
            "host_audit_unavailable", "info", target,
            "Kernel audit is unavailable here (%s); audit watches were not checked." % reason,
            "audit_unavailable")], False
    watched = parse_auditctl_rules(stdout)
    missing = [path for path in expected if _norm_path(path) not in watched]
    if not missing:
        return [], True
    return [finding(
        "host_audit_missing_watches", "medium", target,
        "%d of %d expected audit watches are not loaded: %s." % (len(missing), len(expected), ", ".join(missing)),
        "audit_missing", missing=missing)], True


def inspect_failed_finding(owner, message):
    target = "host" if owner == "root" else "user %s" % owner
    return finding("host_inspect_failed", "medium", target,
                   "Could not list containers for %s: %s" % (owner, message), "inspect_failed")


# ---------------------------------------------------------------------------------------------
# render
# ---------------------------------------------------------------------------------------------

def summarize(findings):
    """Counts per severity and a 0-100 score (100 = no findings)."""
    counts = dict((sev, 0) for sev in SEVERITIES)
    for item in findings:
        counts[item["severity"]] += 1
    penalty = sum(SEVERITY_WEIGHT[item["severity"]] for item in findings)
    return {"counts": counts, "total": len(findings), "score": max(0, 100 - penalty)}


def sort_findings(findings):
    order = dict((sev, index) for index, sev in enumerate(SEVERITIES))
    return sorted(findings, key=lambda f: (order[f["severity"]], f["target"] != "host", f["target"], f["id"]))


def container_summary(info, owner, findings):
    name = container_name(info)
    return {
        "name": name,
        "id": (info.get("Id") or "")[:12],
        "image": info.get("ImageName") or (info.get("Config") or {}).get("Image") or "",
        "owner": owner,
        "findings": len(findings),
    }
