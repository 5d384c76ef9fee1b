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
import posixpath
import re
import shlex

from ansible_collections.podsec.hardening.plugins.module_utils import _policy
from ansible_collections.podsec.hardening.plugins.module_utils._findings import (
    ROOT_USERS,
    SEVERITIES,
    container_name,
    finding,
)
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    SETUID_ROOT_OK_NOTE,
    carries_marker,
    looks_like_secret,
)
from ansible_collections.podsec.hardening.plugins.module_utils._inputs import is_within

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

ROOTFUL_UNIT_DIRS = ("/etc/containers/systemd", "/run/containers/systemd", "/usr/share/containers/systemd")
ALL_ADDRESSES = frozenset(("", "0.0.0.0", "::", "[::]", "*"))

# Where the engines listen by default; the module adds every /run/user/UID/podman/podman.sock it finds.
ENGINE_SOCKET_PATHS = (
    "/run/podman/podman.sock", "/run/docker.sock", "/var/run/docker.sock", "/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
)
_ROOTLESS_API_DIR = re.compile(r"^/run/user/(?P<uid>[0-9]+)/(podman|docker)(/|$)|^/run/user/(?P<uid2>[0-9]+)/docker\.sock$")

# A password in a URL's user information (scheme://user:password@host); the value is tested and dropped.
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@")


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


def secret_env(env, allow=()):
    """``{NAME: reason}`` for the ``Config.Env`` entries that carry a credential, by name or by value.

    The values are looked at here and dropped: only names and the kind of match leave this function.
    """
    found = {}
    for item in env or []:
        if not isinstance(item, str):
            continue
        name, _sep, value = item.partition("=")
        if name in allow or _SECRET_REFERENCE.search(name):
            continue
        if _SECRET_NAME.search(name):
            found[name] = "secret-looking name"
        elif _URL_PASSWORD.search(value):
            found[name] = "password in a URL"
        elif looks_like_secret("", value):
            found[name] = "token-like value"
    return found


def is_secret_name(name, allow=()):
    """True when an environment variable NAME looks like it carries a secret value."""
    if name in allow or _SECRET_REFERENCE.search(name):
        return False
    return bool(_SECRET_NAME.search(name))


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

def engine_socket_mount(source, fact=None, sockets=()):
    """What mounting the host path ``source`` exposes of a container engine API, or None.

    ``fact``: ``{resolved, dev, ino}`` of the source as the host sees it (symlinks followed), absent when it
    does not exist; ``sockets``: the engine sockets present on the host, ``{path, dev, ino, dir_dev, dir_ino,
    uid, user}``. A hard link has the socket's device and inode under another name; a symlinked or
    bind-mounted directory resolves to, or has the identity of, the socket's directory. Without a socket on
    the host (the API not started yet) the usual names and directories still count.
    Returns ``{socket, how, rootless, uid, user}``.
    """
    fact = fact or {}
    resolved = fact.get("resolved") or source
    ident = (fact.get("dev"), fact.get("ino")) if fact.get("ino") is not None else None
    for sock in sockets:
        rootless = bool(_ROOTLESS_API_DIR.match(sock["path"]))
        hit = {"socket": sock["path"], "rootless": rootless, "uid": sock.get("uid"), "user": sock.get("user")}
        if ident == (sock.get("dev"), sock.get("ino")):
            if source == sock["path"]:
                hit["how"] = "by its path"
            elif resolved == sock["path"]:
                hit["how"] = "through the symbolic link %s" % source
            else:
                hit["how"] = "through the hard link %s" % source
            return hit
        if ident == (sock.get("dir_dev"), sock.get("dir_ino")) or is_within(sock["path"], resolved):
            if source != resolved:
                hit["how"] = "through the directory %s (resolves to %s)" % (source, resolved)
            else:
                hit["how"] = "through the directory %s" % source
            return hit
    for path in (source, resolved):
        match = _ROOTLESS_API_DIR.match(path)
        if match:
            uid = int(match.group("uid") or match.group("uid2"))
            return {"socket": path, "rootless": True, "uid": uid, "user": None, "how": "by its path"}
        if path.rsplit("/", 1)[-1] in ENGINE_SOCKET_NAMES or path in ENGINE_SOCKET_DIRS:
            return {"socket": path, "rootless": False, "uid": 0, "user": "root", "how": "by its path"}
    return None


def _socket_finding(hit, mount, target):
    details = dict(source=mount["source"], destination=mount["destination"], socket=hit["socket"])
    if not hit["rootless"]:
        return finding(
            "container_engine_socket", "critical", target,
            "Mounts the container engine socket %s %s at %s: full control of the root engine, root on the host."
            % (hit["socket"], hit["how"], mount["destination"]),
            "engine_socket", **details)
    who = hit["user"] or "uid %s" % hit["uid"]
    return finding(
        "container_rootless_api", "high", target,
        "Mounts the rootless Podman API of %s (%s) %s at %s: control of that user's containers, files and "
        "everything the user can reach." % (who, hit["socket"], hit["how"], mount["destination"]),
        "rootless_api", uid=hit["uid"], **details)


def security_options(info):
    """``{name: value}`` of ``HostConfig.SecurityOpt`` (``seccomp=unconfined`` -> ``{seccomp: unconfined}``)."""
    result = {}
    for opt in (info.get("HostConfig") or {}).get("SecurityOpt") or []:
        opt = str(opt)
        # podman prints name=value; docker's older name:value form is read too.
        name, sep, value = opt.partition("=" if "=" in opt else ":")
        result[name] = value if sep else "true"
    return result


def _create_option(info, flag):
    """The value a ``podman create/run`` command line gave ``flag`` (``--userns``), or None."""
    argv = (info.get("Config") or {}).get("CreateCommand") or []
    value = None
    for index, word in enumerate(argv):
        word = str(word)
        if word.startswith(flag + "="):
            value = word.split("=", 1)[1]
        elif word == flag and index + 1 < len(argv):
            value = str(argv[index + 1])
    return value


def shares_host_userns(info):
    """True when a rootful container's root is the host's root (no user namespace).

    A running container shows ``UsernsMode`` ``private`` (or ``auto``...) when it has its own; podman
    prints an empty mode for a created or stopped one whatever it has, so its command line decides there.
    """
    mode = str((info.get("HostConfig") or {}).get("UsernsMode") or "")
    if mode not in ("", "host"):
        return False
    if mode == "host" or (info.get("State") or {}).get("Running"):
        return True
    flag = _create_option(info, "--userns")
    return flag is None or flag == "host" or flag == ""


def _security_option_findings(info, target, rootless):
    opts = security_options(info)
    found = []
    if opts.get("seccomp") == "unconfined":
        found.append(finding(
            "container_seccomp_unconfined", "high", target,
            "Runs with seccomp=unconfined: every system call reaches the host kernel.", "seccomp"))
    if opts.get("apparmor") == "unconfined" or info.get("AppArmorProfile") == "unconfined":
        found.append(finding(
            "container_apparmor_unconfined", "medium" if rootless else "high", target,
            "Runs with apparmor=unconfined: no AppArmor confinement.", "apparmor"))
    if opts.get("label") == "disable":
        found.append(finding(
            "container_label_disabled", "medium" if rootless else "high", target,
            "Runs with label=disable: SELinux does not separate it from the host and other containers.", "label"))
    if "unmask" in opts:
        what = opts["unmask"]
        found.append(finding(
            "container_unmasked_paths", "medium" if rootless else "high", target,
            "Kernel paths of /proc and /sys are unmasked (%s): %s." % (
                "unmask=ALL or systempaths=unconfined" if what.lower() == "all" else "unmask=" + what,
                "the host's kernel interfaces are readable and writable" if what.lower() == "all"
                else "those host kernel interfaces are exposed"),
            "unmask", unmasked=what))
    return found


def _port_findings(info, target):
    exposed = []
    for ip, port, cport in published_ports(info):
        if ip in ALL_ADDRESSES:
            exposed.append(("%s:%s->%s" % (ip or "0.0.0.0", port, cport), "all addresses"))
        elif not _is_loopback(ip.strip("[]")):
            exposed.append(("%s:%s->%s" % (ip, port, cport), "address %s" % ip))
    if not exposed:
        return []
    return [finding(
        "container_public_port", "medium", target,
        "Publishes beyond loopback: %s." % ", ".join("%s (%s)" % pair for pair in exposed),
        "public_port", ports=[pair[0] for pair in exposed])]


def container_findings(info, owner="root", secret_allow=(), sensitive_paths=DEFAULT_SENSITIVE_PATHS,
                       sensitive_subtrees=DEFAULT_SENSITIVE_SUBTREES, mount_facts=None, sockets=()):
    """Return the findings for one ``podman inspect`` entry run by ``owner`` (root or a user name).

    ``mount_facts`` and ``sockets``: see engine_socket_mount().
    """
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

    secrets = secret_env(config.get("Env"), secret_allow)
    if secrets:
        names = sorted(secrets)
        found.append(finding(
            "container_secret_env", "high", target,
            "Credentials in environment variables (names only, values not shown): %s." % ", ".join(
                "%s (%s)" % (var, secrets[var]) for var in names),
            "secret_env", variables=names, reasons=dict(secrets)))

    mounts = mounts_of(info)
    sensitive_set = set(_norm_path(p) for p in sensitive_paths)
    for mount in mounts:
        source = mount["source"]
        if mount["type"] not in ("bind", "") or not source:
            continue
        hit = engine_socket_mount(source, (mount_facts or {}).get(source), sockets)
        if hit:
            found.append(_socket_finding(hit, mount, target))
            continue
        if source in sensitive_set or any(_under(source, sub) for sub in sensitive_subtrees):
            found.append(finding(
                "container_sensitive_mount", "high" if mount["rw"] else "medium", target,
                "Mounts the sensitive host path %s at %s (%s)." % (
                    source, mount["destination"], "read-write" if mount["rw"] else "read-only"),
                "sensitive_mount", source=source, destination=mount["destination"], rw=mount["rw"]))

    found.extend(_port_findings(info, target))

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

    if security_options(info).get("no-new-privileges") not in ("true", ""):
        found.append(finding(
            "container_no_new_privileges", "medium", target,
            "no-new-privileges is not set: setuid binaries inside can raise privileges.",
            "no_new_privileges"))
    found.extend(_security_option_findings(info, target, rootless))

    for key, label in (("NetworkMode", "network"), ("PidMode", "pid"), ("IpcMode", "ipc"), ("UTSMode", "uts")):
        if str(host.get(key) or "") == "host":
            found.append(finding(
                "container_host_%s" % label, "medium" if label == "uts" else "high", target,
                "Shares the host's %s namespace." % label, "host_namespace"))
    if not rootless and shares_host_userns(info):
        found.append(finding(
            "container_host_userns", "high", target,
            "Runs in the host's user namespace: root in the container is root on the host.", "userns"))
    if str(host.get("CgroupMode") or host.get("CgroupnsMode") or "") == "host":
        found.append(finding(
            "container_host_cgroupns", "medium", target,
            "Shares the host's cgroup namespace: it sees and names every cgroup of the host.", "cgroupns"))
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


def exec_argv(value):
    """The argv of one ``systemctl show -p ExecStart`` value (``{ path=... ; argv[]=A B ; ... }``)."""
    match = re.search(r"argv\[\]=(.*?) ;", value or "")
    if not match:
        return []
    try:
        return shlex.split(match.group(1))
    except ValueError:
        return match.group(1).split()


def proxied_engine_socket(argv, sockets=()):
    """The engine socket a ``systemd-socket-proxyd`` command forwards to, or None."""
    if not argv or posixpath.basename(argv[0]) != "systemd-socket-proxyd":
        return None
    targets = [arg for arg in argv[1:] if not arg.startswith("-")]
    if not targets:
        return None
    dest = targets[-1]
    if not dest.startswith("/"):
        return None
    known = [sock["path"] for sock in sockets]
    if dest in known or engine_socket_mount(_norm_path(dest)) is not None:
        return dest
    return None


def _tcp_finding(unit, host, port, how, target):
    local = _is_loopback(host)
    return finding(
        "host_podman_tcp_api", "medium" if local else "critical", target,
        "%s exposes the Podman API on TCP %s:%s%s (no TLS, no authentication)." % (
            how, host or "*", port, " (loopback only)" if local else ""),
        "tcp_api", unit=unit, address=host or "*", port=port)


def tcp_api_findings(socket_show, ss_output, target="host", service_show="", sockets=()):
    """Findings for a Podman API reachable over TCP.

    ``socket_show``: ``systemctl show -p Id -p Listen -p Triggers -p ActiveState -p UnitFileState`` for socket
    units; ``service_show``: ``systemctl show -p Id -p ExecStart`` for the services they trigger (a
    ``systemd-socket-proxyd`` forwarding to an engine socket makes a TCP socket unit an engine API);
    ``ss_output``: ``ss -Hltnp`` (process names included).
    """
    proxies = {}
    for block in parse_systemctl_show(service_show):
        unit = (block.get("Id") or [""])[0]
        for value in block.get("ExecStart") or []:
            dest = proxied_engine_socket(exec_argv(value), sockets)
            if dest:
                proxies[unit] = dest
    found = []
    seen = set()
    for block in parse_systemctl_show(socket_show):
        unit = (block.get("Id") or [""])[0]
        triggers = block.get("Triggers") or []
        triggered = " ".join(triggers).split()
        proxied = [proxies[name] for name in triggered if name in proxies]
        if "podman" not in unit and "podman" not in " ".join(triggered) and not proxied:
            continue
        active = (block.get("ActiveState") or ["active"])[0] == "active"
        enabled = (block.get("UnitFileState") or [""])[0] in ("enabled", "enabled-runtime")
        if not (active or enabled):
            continue
        how = "The socket unit %s" % unit
        if proxied:
            how += " (systemd-socket-proxyd to %s)" % proxied[0]
        for value in block.get("Listen") or []:
            address = _listen_address(value)
            if address is None:
                continue
            host, port = address
            seen.add(port)
            found.append(_tcp_finding(unit, host, port, how, target))
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
        found.append(_tcp_finding(None, host.strip("[]"), port,
                                  "A podman process (podman system service tcp://...)", target))
    return found


def proxy_services(socket_show):
    """Service units triggered by socket units with a TCP listener (to ask for their ExecStart)."""
    services = []
    for block in parse_systemctl_show(socket_show):
        if not any(_listen_address(value) for value in block.get("Listen") or []):
            continue
        for name in " ".join(block.get("Triggers") or []).split():
            if name.endswith(".service") and name not in services:
                services.append(name)
    return services


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
    """Findings for a containers-policy.json(5), parsed and validated as containers/image does.

    A file podman refuses (missing, not JSON, a duplicate key, an unknown field or requirement type...) makes
    every pull fail: critical. A valid one that accepts any image by default: high.
    """
    if policy_text is None:
        return [finding(
            "host_trust_policy_invalid", "critical", target,
            "%s does not exist: Podman refuses every pull." % path, "trust_invalid", path=path)]
    try:
        policy = _policy.parse_policy(policy_text)
    except _policy.PolicyError as exc:
        return [finding(
            "host_trust_policy_invalid", "critical", target,
            "%s is refused by Podman (%s): every pull fails." % (path, exc), "trust_invalid", path=path,
            error=str(exc))]
    found = []
    if _accepts_anything(policy["default"]):
        found.append(finding(
            "host_trust_accept_anything", "high", target,
            "%s accepts any image by default (insecureAcceptAnything): unsigned images from any registry run." % path,
            "trust_default", path=path))
    docker = (policy.get("transports") or {}).get("docker") or {}
    if _accepts_anything(docker.get("")):
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
    """Counts per severity and a 0-100 score: 100 only while no finding above ``info`` is open."""
    counts = dict((sev, 0) for sev in SEVERITIES)
    for item in findings:
        counts[item["severity"]] += 1
    penalty = sum(SEVERITY_WEIGHT[item["severity"]] for item in findings)
    score = max(0, 100 - penalty)
    if any(item["severity"] != "info" for item in findings):
        score = min(score, 99)
    return {"counts": counts, "total": len(findings), "score": score}


def sort_findings(findings):
    order = dict((sev, index) for index, sev in enumerate(SEVERITIES))
    return sorted(findings, key=lambda f: (order[f["severity"]], f["target"] != "host", f["target"], f["id"]))


def quadlet_file_name(info):
    """``web.container`` for a container Quadlet runs (label PODMAN_SYSTEMD_UNIT=web.service), else None."""
    labels = (info.get("Config") or {}).get("Labels") or {}
    unit = labels.get("PODMAN_SYSTEMD_UNIT") or ""
    if not unit.endswith(".service") or "/" in unit:
        return None
    return unit[:-len(".service")] + ".container"


def quadlet_paths(info, owner, home=None):
    """Where the Quadlet file that runs the container of ``owner`` (whose home is ``home``) would be, in the
    order Quadlet reads them; none for a container that no Quadlet unit runs."""
    name = quadlet_file_name(info)
    if name is None:
        return []
    if owner == "root":
        dirs = ROOTFUL_UNIT_DIRS
    else:
        dirs = (posixpath.join(home, ".config", "containers", "systemd"),) if home else ()
    return [posixpath.join(directory, name) for directory in dirs]


def management(info, unit_text, marker):
    """Who deploys the container: ``podsec.hardening`` (its Quadlet unit carries the role's marker line),
    ``systemd`` (another systemd unit or Quadlet file runs it) or ``unmanaged``."""
    if unit_text is not None and marker and carries_marker(unit_text, marker):
        return "podsec.hardening"
    labels = (info.get("Config") or {}).get("Labels") or {}
    if labels.get("PODMAN_SYSTEMD_UNIT"):
        return "systemd"
    return "unmanaged"


def unit_container_keys(text):
    """``{key: [values]}`` of the ``[Container]`` section of a Quadlet unit."""
    keys = {}
    section = None
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if sep and section == "Container":
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def opt_outs(info, unit_text=None, rootless=False):
    """The secure defaults switched off for a container, as hardened_container options.

    From the collection's Quadlet unit when there is one (what the operator chose), else from ``podman
    inspect`` (resource limits only: the other weaknesses are findings of their own).
    """
    if unit_text is None:
        host = info.get("HostConfig") or {}
        result = []
        if not host.get("Memory"):
            result.append("memory: unlimited")
        if host.get("PidsLimit") in (None, 0, -1):
            result.append("pids_limit: unlimited")
        return result
    keys = unit_container_keys(unit_text)
    result = []
    if "Memory" not in keys:
        result.append("memory: unlimited")
    if "PidsLimit" not in keys:
        result.append("pids_limit: unlimited")
    if keys.get("ReadOnly") != ["true"]:
        result.append("read_only: false")
    if keys.get("NoNewPrivileges") != ["true"]:
        result.append("no_new_privileges: false")
    if "all" not in keys.get("DropCapability", []):
        result.append("drop_all_capabilities: false")
    if keys.get("AddCapability"):
        result.append("add_capabilities: %s" % ", ".join(keys["AddCapability"]))
    if not rootless and keys.get("UserNS", ["host"]) == ["host"]:
        result.append("userns: host")
    for key, option in (("Network", "network"), ("PodmanArgs", "podman_args")):
        if any(value.split("=")[-1] == "host" or "host" in value.split() for value in keys.get(key, [])):
            result.append("%s: host" % option)
    if any(value.count(":") < 2 or value.startswith(("0.0.0.0:", "[::]:")) for value in keys.get("PublishPort", [])):
        result.append("publish_on_all_addresses: true")
    if carries_marker(unit_text, SETUID_ROOT_OK_NOTE):
        result.append("setuid_root_ok: true")
    return result


def opt_out_finding(info, owner, choices):
    name = container_name(info)
    target = name if owner == "root" else "%s (rootless, user %s)" % (name, owner)
    return finding(
        "container_opt_outs", "info", target,
        "Secure defaults switched off for this container: %s." % "; ".join(choices),
        "opt_outs", opt_outs=list(choices))


def container_summary(info, owner, findings, managed="unmanaged", choices=()):
    name = container_name(info)
    return {
        "name": name,
        "id": (info.get("Id") or "")[:12],
        "image": info.get("ImageName") or (info.get("Config") or {}).get("Image") or "",
        "owner": owner,
        "state": str((info.get("State") or {}).get("Status") or "unknown"),
        "managed": managed,
        "opt_outs": list(choices),
        "findings": len([item for item in findings if item["severity"] != "info"]),
    }


def assess_container(info, owner, unit_text, params, mount_facts=None, sockets=()):
    """``(findings, summary)`` of one container of ``owner``: its own findings, the secure defaults its
    podsec.hardening unit (``unit_text``) switched off, and its line in the report. ``params``: the module's
    ``ignore_env_names``, ``sensitive_paths`` and ``managed_marker``."""
    found = container_findings(info, owner=owner, secret_allow=params["ignore_env_names"],
                               sensitive_paths=params["sensitive_paths"], mount_facts=mount_facts, sockets=sockets)
    managed = management(info, unit_text, params["managed_marker"])
    choices = opt_outs(info, unit_text if managed == "podsec.hardening" else None, rootless=owner != "root")
    if choices:
        found.append(opt_out_finding(info, owner, choices))
    return found, container_summary(info, owner, found, managed, choices)


def posture(findings, containers, checked, audit_available):
    """The module's result: the counts and score, the findings sorted, the containers and the owners checked."""
    result = summarize(findings)
    result.update({"findings": sort_findings(findings), "containers": containers, "checked": checked,
                   "audit_available": audit_available})
    return result
