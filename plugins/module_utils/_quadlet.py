# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Turn one container specification into a hardened Quadlet ``.container`` unit.

Pure logic, no I/O: ``normalize()`` fills in the secure defaults, ``validate()`` refuses what
would weaken them without an explicit opt-out, ``render()`` writes the unit text with a stable
key order so that the same specification always gives the same bytes. Keys the target podman
does not know are never written: they fall back to the equivalent ``PodmanArgs=`` argument when
podman has one, and are refused otherwise.
"""

from __future__ import annotations

import math
import posixpath
import re

# Quadlet [Container] keys and the podman release that taught the generator each one.
KEY_MIN_VERSION = {
    "AddCapability": (4, 4),
    "Annotation": (4, 4),
    "ContainerName": (4, 4),
    "DropCapability": (4, 4),
    "Environment": (4, 4),
    "Exec": (4, 4),
    "ExposeHostPort": (4, 4),
    "Group": (4, 4),
    "Image": (4, 4),
    "Label": (4, 4),
    "Network": (4, 4),
    "NoNewPrivileges": (4, 4),
    "Notify": (4, 4),
    "PodmanArgs": (4, 4),
    "PublishPort": (4, 4),
    "ReadOnly": (4, 4),
    "RunInit": (4, 4),
    "SeccompProfile": (4, 4),
    "User": (4, 4),
    "VolatileTmp": (4, 4),
    "Volume": (4, 4),
    "HealthCmd": (4, 5),
    "HealthInterval": (4, 5),
    "HealthRetries": (4, 5),
    "HealthStartPeriod": (4, 5),
    "HealthTimeout": (4, 5),
    "Mount": (4, 5),
    "Secret": (4, 5),
    "SecurityLabelDisable": (4, 5),
    "SecurityLabelFileType": (4, 5),
    "SecurityLabelLevel": (4, 5),
    "SecurityLabelType": (4, 5),
    "Tmpfs": (4, 5),
    "UserNS": (4, 5),
    "AutoUpdate": (4, 6),
    "Mask": (4, 6),
    "Pull": (4, 6),
    "Sysctl": (4, 6),
    "Unmask": (4, 6),
    "PidsLimit": (4, 7),
    "ShmSize": (4, 7),
    "Ulimit": (4, 7),
    "GlobalArgs": (4, 8),
    "ReadOnlyTmpfs": (4, 8),
    "Memory": (5, 5),
    "AppArmor": (5, 8),
}

QUADLET_MIN_VERSION = (4, 4)

# The podman run argument that does the same as a key, for podman releases older than the key.
_FALLBACK_ARG = {
    "HealthCmd": "--health-cmd",
    "HealthInterval": "--health-interval",
    "HealthRetries": "--health-retries",
    "HealthStartPeriod": "--health-start-period",
    "HealthTimeout": "--health-timeout",
    "Memory": "--memory",
    "Mount": "--mount",
    "PidsLimit": "--pids-limit",
    "ReadOnlyTmpfs": "--read-only-tmpfs",
    "Secret": "--secret",
    "SecurityLabelLevel": "--security-opt=label=level",
    "Tmpfs": "--tmpfs",
    "UserNS": "--userns",
}

DEFAULTS = {
    "state": "present",
    "command": None,
    "run_init": True,
    "user": "10001",
    "group": None,
    "userns": "auto",
    "read_only": True,
    "no_new_privileges": True,
    "drop_all_capabilities": True,
    "add_capabilities": [],
    "allow_root_user": False,
    "tmpfs": [{"path": "/tmp"}],
    "memory": "256m",
    "pids_limit": "256",
    "network": None,
    "ports": [],
    "publish_on_all_addresses": False,
    "volumes": [],
    "security_label_level": None,
    "secrets": [],
    "secret_files": [],
    "environment": {},
    "allow_secret_like_environment": False,
    "healthcheck": None,
    "podman_args": [],
    "extra_keys": {},
    "allow_host_network": False,
    "allow_host_pid": False,
    "allow_host_ipc": False,
    "allow_host_userns": False,
    "allow_engine_socket": False,
    "description": None,
    "restart": "always",
    "wanted_by": None,
}

TMPFS_DEFAULTS = {"size": "64m", "mode": "1777", "exec": False}
SECRET_DEFAULTS = {"target": None, "mode": "0400", "uid": None, "gid": None}
SECRET_FILE_DEFAULTS = {"target": None, "idmap": False}
SECTIONS = ("Unit", "Container", "Service", "Install")

# [Container] keys an operator may not set through extra_keys, with the option to use instead.
_RESERVED_KEYS = {
    "AddCapability": "add_capabilities",
    "ContainerName": "name",
    "DropCapability": "drop_all_capabilities",
    "Environment": "environment",
    "EnvironmentFile": "environment (values in a file cannot be checked for secrets)",
    "EnvironmentHost": "environment (the host's environment may hold secrets)",
    "GIDMap": "userns",
    "Exec": "command",
    "GlobalArgs": "podman_args",
    "Group": "group",
    "HealthCmd": "healthcheck",
    "HealthInterval": "healthcheck",
    "HealthRetries": "healthcheck",
    "HealthStartPeriod": "healthcheck",
    "HealthTimeout": "healthcheck",
    "Image": "image",
    "Memory": "memory",
    "Mount": "volumes or tmpfs",
    "Network": "network",
    "NoNewPrivileges": "no_new_privileges",
    "PidsLimit": "pids_limit",
    "PodmanArgs": "podman_args",
    "PublishPort": "ports",
    "ReadOnly": "read_only",
    "ReadOnlyTmpfs": "tmpfs",
    "RemapGid": "userns",
    "RemapUid": "userns",
    "RemapUidSize": "userns",
    "RemapUsers": "userns",
    "SubGIDMap": "userns",
    "SubUIDMap": "userns",
    "UIDMap": "userns",
    "Secret": "secrets or secret_files",
    "SecurityLabelDisable": "nothing: SELinux separation cannot be switched off here",
    "SecurityLabelLevel": "security_label_level",
    "SecurityLabelType": "nothing: the container keeps the container_t domain",
    "Tmpfs": "tmpfs",
    "Unmask": "nothing: masked kernel paths stay masked",
    "User": "user",
    "UserNS": "userns",
    "VolatileTmp": "tmpfs (VolatileTmp has no noexec)",
    "Volume": "volumes",
}

# podman run flags that podman_args may not carry, with the option to use instead (None: never).
_RESERVED_ARGS = {
    "--cap-add": "add_capabilities",
    "--cap-drop": "drop_all_capabilities",
    "--env": "environment",
    "--env-file": "environment",
    "--env-host": "environment (the host's environment may hold secrets)",
    "--env-merge": "environment",
    "--memory": "memory",
    "--mount": "volumes or tmpfs",
    "--name": "name",
    "--pids-limit": "pids_limit",
    "--privileged": None,
    "--publish": "ports",
    "--publish-all": "ports",
    "--read-only": "read_only",
    "--read-only-tmpfs": "tmpfs",
    "--secret": "secrets",
    "--security-opt": "the named options (no_new_privileges, security_label_level)",
    "--tmpfs": "tmpfs",
    "--user": "user",
    "--userns": "userns",
    "--uidmap": "userns",
    "--gidmap": "userns",
    "--subuidname": "userns",
    "--subgidname": "userns",
    "--volume": "volumes",
    "--volumes-from": "volumes",
    "--cgroupns": None,
    "--uts": None,
}

# Namespace flags whose value "host" shares a host namespace, and the opt-out that allows it.
_HOST_NAMESPACE_ARGS = {
    "--network": "allow_host_network",
    "--net": "allow_host_network",
    "--pid": "allow_host_pid",
    "--ipc": "allow_host_ipc",
}

_ENGINE_SOCKETS = (
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/crio/crio.sock",
    "/var/run/crio/crio.sock",
    "/var/lib/containers/storage",
    "/var/lib/docker",
)
_USER_ENGINE_SOCKET = re.compile(r"^/run/user(/[0-9]+(/podman(/podman\.sock)?|/docker\.sock)?)?\Z")
_SOCKET_NAME = re.compile(r"(^|/)(podman|docker|containerd|crio)\.sock$")

_SECRET_NAME_WORDS = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|APIKEY|ACCESSKEY|(^|_)(PASS|PWD|KEY|AUTH)(_|$))"
)
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+]{16,}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9_.@-]+\Z")
_CAPABILITY = re.compile(r"^(CAP_)?[A-Z][A-Z0-9_]*\Z")
_SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?\Z")
_COUNT = re.compile(r"^[1-9][0-9]*\Z")
_MOUNT_PATH = re.compile(r"^/[^\s:,]*\Z")
_VOLUME_SOURCE = re.compile(r"^[^\s:,]+\Z")
_VOLUME_OPTION = re.compile(r"^[A-Za-z0-9_=.-]+\Z")
_PORT = re.compile(r"^[0-9]+(-[0-9]+)?(/(tcp|udp|sctp))?\Z")
_HOST_PORT = re.compile(r"^[0-9]+(-[0-9]+)?\Z")
_MODE = re.compile(r"^[0-7]{3,4}\Z")
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_@%$+=:,./-]+\Z")
_SYSTEMD_VALUE_FORBIDDEN = re.compile(r"[\n\r\x00]")


class QuadletError(ValueError):
    """A specification that cannot be rendered safely; the message names the offending item."""


def parse_version(text):
    """Return ``(major, minor)`` from ``podman version 5.4.2`` or ``5.4.2``."""
    match = re.search(r"([0-9]+)\.([0-9]+)", text or "")
    if not match:
        raise QuadletError("cannot read a podman version from %r" % (text,))
    return int(match.group(1)), int(match.group(2))


def _version_text(version):
    return "%d.%d" % version


# ---------------------------------------------------------------------------------------- parse


def normalize(spec):
    """Return a copy of ``spec`` with every missing option set to its secure default."""
    result = dict(DEFAULTS)
    result.update({key: value for key, value in spec.items() if value is not None})
    for key in ("add_capabilities", "ports", "volumes", "secrets", "secret_files", "podman_args", "tmpfs"):
        result[key] = list(result[key] or [])
    result["environment"] = dict(result["environment"] or {})
    result["extra_keys"] = dict(result["extra_keys"] or {})
    result["tmpfs"] = [_with_defaults(entry, TMPFS_DEFAULTS) for entry in result["tmpfs"]]
    result["secrets"] = [_with_defaults(entry, SECRET_DEFAULTS) for entry in result["secrets"]]
    result["secret_files"] = [_with_defaults(entry, SECRET_FILE_DEFAULTS) for entry in result["secret_files"]]
    result["user"] = str(result["user"])
    result["pids_limit"] = str(result["pids_limit"])
    return result


def _with_defaults(entry, defaults):
    merged = dict(defaults)
    merged.update({key: value for key, value in entry.items() if value is not None})
    return merged


def split_podman_args(args):
    """Yield ``(flag, value)`` pairs from a podman argument list (value None for a bare flag)."""
    pending = None
    for arg in args:
        if pending is not None:
            yield pending, arg
            pending = None
            continue
        if not arg.startswith("-"):
            yield None, arg
            continue
        if not arg.startswith("--"):
            raise QuadletError("podman_args: use the long form of %r so that it can be checked" % arg)
        flag, sep, value = arg.partition("=")
        if sep:
            yield flag, value
        elif flag in _HOST_NAMESPACE_ARGS:
            pending = flag
        else:
            yield flag, None
    if pending is not None:
        yield pending, None


def parse_port(port):
    """Split ``[IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`` into ``(ip, host_port, container_port)``."""
    text = str(port).strip()
    ip = None
    if text.startswith("["):
        end = text.find("]:")
        if end < 0:
            raise QuadletError("ports: cannot parse %r" % text)
        ip, text = text[1:end], text[end + 2:]
        parts = text.split(":")
        if len(parts) != 2:
            raise QuadletError("ports: %r needs HOST_PORT:CONTAINER_PORT after the address" % port)
        return ip, parts[0], parts[1]
    parts = text.split(":")
    if len(parts) == 1:
        return None, "", parts[0]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise QuadletError("ports: cannot parse %r (write IPv6 addresses in brackets)" % port)


# ------------------------------------------------------------------------------------- validate


def looks_like_secret(name, value):
    """True when an environment variable looks like it carries a credential."""
    if _SECRET_NAME_WORDS.search(name.upper()):
        return True
    return _high_entropy(str(value))


def _high_entropy(value):
    """A run of 16+ token characters mixing letters and digits, at 3 bits per character or more.

    Words joined by separators (``hc-output-control-e26d41``, UUIDs, paths, versions) have short
    runs; API keys, hex digests, base64 blobs and JWTs have long ones.
    """
    for run in _TOKEN_RUN.findall(value):
        if not (re.search(r"[A-Za-z]", run) and re.search(r"[0-9]", run)):
            continue
        counts = {}
        for char in run:
            counts[char] = counts.get(char, 0) + 1
        if -sum(n / len(run) * math.log2(n / len(run)) for n in counts.values()) >= 3.0:
            return True
    return False


def is_engine_socket(path):
    """True when mounting ``path`` exposes a container engine socket or its storage."""
    path = posixpath.normpath(path)
    if _USER_ENGINE_SOCKET.match(path) or _SOCKET_NAME.search(path):
        return True
    return any(socket == path or socket.startswith(path.rstrip("/") + "/") for socket in _ENGINE_SOCKETS)


def _is_root_user(user):
    return user.split(":", 1)[0] in ("0", "root")


def _is_loopback(ip):
    return ip == "::1" or ip == "localhost" or ip.startswith("127.")


def validate_name(name):
    """Unit names become file names: letters, digits, _ . @ - only (no path, no line break)."""
    if not _UNIT_NAME.match(name or "") or name.startswith("."):
        raise QuadletError("name: %r is not a valid unit name (letters, digits, _ . @ -)" % name)


def validate(spec):
    """Raise QuadletError for anything that weakens a secure default without its opt-out."""
    validate_name(spec.get("name"))
    if not spec.get("image"):
        raise QuadletError("image: required when state=present")
    if _is_root_user(spec["user"]) and not spec["allow_root_user"]:
        raise QuadletError("user: %r runs the container as root; set allow_root_user: true to allow it" % spec["user"])
    if spec["userns"] == "host" and not spec["allow_host_userns"]:
        raise QuadletError("userns: host shares the host user namespace; set allow_host_userns: true to allow it")
    if spec["network"] == "host" and not spec["allow_host_network"]:
        raise QuadletError("network: host shares the host network; set allow_host_network: true to allow it")
    for cap in spec["add_capabilities"]:
        if not _CAPABILITY.match(str(cap).upper()) or str(cap).upper() in ("ALL", "CAP_ALL"):
            raise QuadletError("add_capabilities: %r is not a single capability name" % cap)
    for key, pattern in (("memory", _SIZE), ("pids_limit", _COUNT)):
        if spec[key] != "unlimited" and not pattern.match(spec[key]):
            raise QuadletError("%s: %r is not a limit (use the word 'unlimited' to opt out)" % (key, spec[key]))
    _validate_tmpfs(spec["tmpfs"])
    _validate_ports(spec)
    _validate_volumes(spec)
    _validate_secrets(spec["secrets"])
    _validate_secret_files(spec["secret_files"])
    _validate_environment(spec)
    _validate_podman_args(spec)
    _validate_extra_keys(spec["extra_keys"])
    _validate_free_text(spec)


def _validate_tmpfs(mounts):
    for mount in mounts:
        path = mount.get("path") or ""
        if not _MOUNT_PATH.match(path):
            raise QuadletError("tmpfs: path %r must be absolute, without ':', ',' or spaces" % path)
        if not _SIZE.match(str(mount["size"])):
            raise QuadletError("tmpfs %s: size %r must be a number with an optional k, m or g" % (path, mount["size"]))
        if not _MODE.match(str(mount["mode"])):
            raise QuadletError("tmpfs %s: mode %r must be octal" % (path, mount["mode"]))


def _validate_ports(spec):
    for port in spec["ports"]:
        ip, host_port, container_port = parse_port(port)
        if not _PORT.match(container_port) or not (host_port == "" or _HOST_PORT.match(host_port)):
            raise QuadletError("ports: %r is not [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]" % port)
        if ip and not _is_loopback(ip) and not spec["publish_on_all_addresses"]:
            raise QuadletError(
                "ports: %r publishes on a non-loopback address; set publish_on_all_addresses: true to allow it" % port
            )


def _validate_volumes(spec):
    for volume in spec["volumes"]:
        source, target = volume.get("source") or "", volume.get("target") or ""
        if not _VOLUME_SOURCE.match(source) or not _MOUNT_PATH.match(target):
            raise QuadletError("volumes: each needs a source and an absolute target, without ':' or spaces (got %r)"
                               % (volume,))
        for option in volume.get("options") or []:
            if not _VOLUME_OPTION.match(option):
                raise QuadletError("volumes %s: option %r is not a single mount option" % (target, option))
        if source.startswith("/") and is_engine_socket(source) and not spec["allow_engine_socket"]:
            raise QuadletError(
                "volumes: %r exposes a container engine socket (root on the host); set allow_engine_socket: true "
                "to allow it" % source
            )


def _validate_secrets(secrets):
    for secret in secrets:
        name = secret.get("name") or ""
        if not 0 < len(name) <= 253 or re.search(r"[/,=\x00]", name):
            raise QuadletError("secrets: %r is not a valid secret name" % name)
        if not _MODE.match(str(secret["mode"])):
            raise QuadletError("secrets %s: mode %r must be octal" % (name, secret["mode"]))
        for key in ("target", "uid", "gid"):
            if secret[key] is not None and re.search(r"[,=\s]", str(secret[key])):
                raise QuadletError("secrets %s: %s %r may not contain ',', '=' or spaces" % (name, key, secret[key]))


def _validate_secret_files(files):
    for entry in files:
        for key in ("source", "target"):
            value = entry.get(key)
            if value is None and key == "target":
                continue
            if not value or not value.startswith("/") or re.search(r"[,\s]", value):
                raise QuadletError("secret_files: %s %r must be an absolute path without ',' or spaces" % (key, value))
        if is_engine_socket(entry["source"]):
            raise QuadletError("secret_files: %r exposes a container engine socket" % entry["source"])


def _validate_environment(spec):
    for env_name, value in spec["environment"].items():
        if not _ENV_NAME.match(env_name):
            raise QuadletError("environment: %r is not a valid variable name" % env_name)
        if not spec["allow_secret_like_environment"] and looks_like_secret(env_name, value):
            raise QuadletError(
                "environment: %s looks like a secret (name or value); deliver it with secrets (a file under "
                "/run/secrets), or set allow_secret_like_environment: true" % env_name
            )


def _validate_podman_args(spec):
    for flag, value in split_podman_args(spec["podman_args"]):
        if flag in _HOST_NAMESPACE_ARGS:
            if flag in ("--network", "--net"):
                raise QuadletError("podman_args: use the network option instead of %s" % flag)
            opt_out = _HOST_NAMESPACE_ARGS[flag]
            if value == "host" and not spec[opt_out]:
                raise QuadletError(
                    "podman_args: %s=host shares a host namespace; set %s: true to allow it" % (flag, opt_out)
                )
        elif flag in _RESERVED_ARGS:
            instead = _RESERVED_ARGS[flag]
            if instead is None:
                raise QuadletError("podman_args: %s is refused (it defeats the container's isolation)" % flag)
            raise QuadletError("podman_args: %s is managed by this module; use %s instead" % (flag, instead))


def _validate_extra_keys(extra):
    for section, keys in extra.items():
        if section not in SECTIONS:
            raise QuadletError("extra_keys: unknown section %r (one of %s)" % (section, ", ".join(SECTIONS)))
        if not isinstance(keys, dict):
            raise QuadletError("extra_keys.%s: must be a mapping of key to value" % section)
        for key in keys:
            if section == "Container" and key in _RESERVED_KEYS:
                raise QuadletError("extra_keys.Container.%s: not allowed here; use %s" % (key, _RESERVED_KEYS[key]))
            if section == "Service" and key.startswith("Exec"):
                raise QuadletError("extra_keys.Service.%s: not allowed; the generator writes the commands" % key)
    for key, value in extra.get("Container", {}).items():
        text = " ".join(_as_list(value)).lower()
        if key in ("SeccompProfile", "AppArmor") and "unconfined" in text:
            raise QuadletError("extra_keys.Container.%s: unconfined is refused" % key)


def _validate_free_text(spec):
    """Refuse line breaks anywhere a value ends up in the unit (they would inject keys)."""
    for key in ("image", "description", "network", "user", "group", "userns", "security_label_level"):
        if spec.get(key) is not None and _SYSTEMD_VALUE_FORBIDDEN.search(str(spec[key])):
            raise QuadletError("%s: line breaks are not allowed" % key)
    values = list(spec.get("command") or []) + list(spec["podman_args"]) + list(spec["environment"].values())
    values += [str(port) for port in spec["ports"]] + [str(v) for v in (spec["healthcheck"] or {}).values()]
    for volume in spec["volumes"]:
        values += [str(volume.get("source")), str(volume.get("target"))] + list(volume.get("options") or [])
    for keys in spec["extra_keys"].values():
        for key, value in keys.items():
            values += [str(key)] + _as_list(value)
    for value in values:
        if _SYSTEMD_VALUE_FORBIDDEN.search(str(value)):
            raise QuadletError("line breaks are not allowed in values (found in %r)" % (value,))


# --------------------------------------------------------------------------------------- render


def _as_list(value):
    if isinstance(value, (list, tuple)):
        return [_scalar(item) for item in value]
    return [_scalar(value)]


def _scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _literal(value):
    """Escape systemd specifiers and variable expansion so the value reaches podman unchanged."""
    return value.replace("%", "%%").replace("$", "$$")


def quote_word(word):
    """Quote one word for a Quadlet key that is split like a systemd command line."""
    if word and _PLAIN_WORD.match(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _health_pairs(health):
    if not health:
        return []
    pairs = [("HealthCmd", _literal(str(health["cmd"])))]
    for option, key in (("interval", "HealthInterval"), ("timeout", "HealthTimeout"),
                        ("retries", "HealthRetries"), ("start_period", "HealthStartPeriod")):
        if health.get(option) is not None:
            pairs.append((key, str(health[option])))
    return pairs


def _container_pairs(spec):
    """The [Container] keys in their fixed order, before version gating."""
    pairs = [("Image", spec["image"]), ("ContainerName", spec["name"])]
    if spec.get("command"):
        pairs.append(("Exec", " ".join(quote_word(_literal(str(arg))) for arg in spec["command"])))
    if spec["run_init"]:
        pairs.append(("RunInit", "true"))
    pairs.append(("User", spec["user"]))
    if spec["group"] is not None:
        pairs.append(("Group", str(spec["group"])))
    if spec["userns"]:
        pairs.append(("UserNS", spec["userns"]))
    if spec["read_only"]:
        pairs.append(("ReadOnly", "true"))
        pairs.append(("ReadOnlyTmpfs", "false"))
    if spec["no_new_privileges"]:
        pairs.append(("NoNewPrivileges", "true"))
    if spec["drop_all_capabilities"]:
        pairs.append(("DropCapability", "all"))
    for cap in sorted({_capability(cap) for cap in spec["add_capabilities"]}):
        pairs.append(("AddCapability", cap))
    for mount in spec["tmpfs"]:
        flags = ["rw", "exec" if mount["exec"] else "noexec", "nosuid", "nodev"]
        flags += ["size=%s" % mount["size"], "mode=%s" % mount["mode"]]
        pairs.append(("Tmpfs", "%s:%s" % (mount["path"], ",".join(flags))))
    if spec["memory"] != "unlimited":
        pairs.append(("Memory", spec["memory"]))
    if spec["pids_limit"] != "unlimited":
        pairs.append(("PidsLimit", spec["pids_limit"]))
    if spec["network"]:
        pairs.append(("Network", spec["network"]))
    for port in spec["ports"]:
        pairs.append(("PublishPort", _render_port(port, spec["publish_on_all_addresses"])))
    for volume in spec["volumes"]:
        options = ",".join(volume.get("options") or [])
        pairs.append(("Volume", "%s:%s%s" % (volume["source"], volume["target"], ":" + options if options else "")))
    if spec["security_label_level"]:
        pairs.append(("SecurityLabelLevel", spec["security_label_level"]))
    for secret in spec["secrets"]:
        pairs.append(("Secret", _render_secret(secret, spec["user"], spec["group"])))
    for entry in spec["secret_files"]:
        target = entry["target"] or "/run/secrets/" + posixpath.basename(entry["source"])
        mount = "type=bind,source=%s,destination=%s,readonly=true" % (entry["source"], target)
        pairs.append(("Mount", mount + (",idmap" if entry["idmap"] else "")))
    for env_name in sorted(spec["environment"]):
        pairs.append(("Environment", quote_word(_literal("%s=%s" % (env_name, spec["environment"][env_name])))))
    pairs.extend(_health_pairs(spec["healthcheck"]))
    for key in sorted(spec["extra_keys"].get("Container", {})):
        for value in _as_list(spec["extra_keys"]["Container"][key]):
            pairs.append((key, value))
    return pairs


def _capability(cap):
    cap = str(cap).upper()
    return cap if cap.startswith("CAP_") else "CAP_" + cap


def _render_port(port, all_addresses):
    ip, host_port, container_port = parse_port(port)
    if ip is None and not all_addresses:
        ip = "127.0.0.1"
    if ip is None:
        return "%s:%s" % (host_port, container_port) if host_port else container_port
    address = "[%s]" % ip if ":" in ip else ip
    return "%s:%s:%s" % (address, host_port, container_port)


def _numeric_id(text):
    return text if text is not None and str(text).isdigit() else None


def _render_secret(secret, user, group):
    fields = [secret["name"], "type=mount"]
    if secret["target"]:
        fields.append("target=%s" % secret["target"])
    uid = secret["uid"] if secret["uid"] is not None else _numeric_id(user.split(":", 1)[0])
    gid = secret["gid"] if secret["gid"] is not None else _numeric_id(group)
    if uid is not None:
        fields.append("uid=%s" % uid)
    if gid is not None:
        fields.append("gid=%s" % gid)
    fields.append("mode=%s" % secret["mode"])
    return ",".join(fields)


def gate_versions(pairs, version):
    """Drop keys ``version`` does not know: turn them into PodmanArgs, or refuse them by name."""
    if version < QUADLET_MIN_VERSION:
        raise QuadletError("podman %s has no Quadlet (needs %s)" % (_version_text(version), _version_text(QUADLET_MIN_VERSION)))
    kept, fallback_args = [], []
    for key, value in pairs:
        needed = KEY_MIN_VERSION.get(key)
        if needed is None or version >= needed:
            kept.append((key, value))
        elif key in _FALLBACK_ARG:
            flag = _FALLBACK_ARG[key]
            separator = ":" if flag.endswith("=label=level") else "="
            fallback_args.append(quote_word("%s%s%s" % (flag, separator, value)))
        else:
            raise QuadletError(
                "%s= needs podman %s, the host has %s" % (key, _version_text(needed), _version_text(version))
            )
    return kept, fallback_args


def render(spec, version, rootless=False, header=None):
    """Return the unit text for a normalized and validated ``spec`` on podman ``version``."""
    container, fallback_args = gate_versions(_container_pairs(spec), version)
    podman_args = fallback_args + [quote_word(_literal(str(arg))) for arg in spec["podman_args"]]
    if podman_args:
        container.append(("PodmanArgs", " ".join(podman_args)))
    extra = spec["extra_keys"]
    unit = [("Description", spec["description"] or "Hardened container %s" % spec["name"])]
    service = [("Restart", spec["restart"])]
    install = [("WantedBy", spec["wanted_by"] or ("default.target" if rootless else "multi-user.target"))]
    lines = [_header_comment(line) for line in _header_lines(header)]
    for section, pairs in (("Unit", unit), ("Container", container), ("Service", service), ("Install", install)):
        if section != "Container":
            pairs = pairs + [(key, value) for key in sorted(extra.get(section, {}))
                             for value in _as_list(extra[section][key])]
        if lines:
            lines.append("")
        lines.append("[%s]" % section)
        lines.extend("%s=%s" % pair for pair in pairs)
    return "\n".join(lines) + "\n"


def _header_comment(line):
    return "# %s" % line if line else "#"


def _header_lines(header):
    if not header:
        return []
    if isinstance(header, str):
        header = [header]
    return [line.rstrip() for item in header for line in str(item).splitlines()]


def build_unit(spec, version, rootless=False, header=None):
    """parse -> validate -> render in one call; raises QuadletError naming the offending item."""
    normalized = normalize(spec)
    validate(normalized)
    return render(normalized, version, rootless=rootless, header=header)


_GENERATOR_KEY = re.compile(r"key '([^']+)'")


def generator_error(stderr):
    """Pick the generator's complaint out of its dry-run log and name the key when it says one."""
    lines = [line for line in (stderr or "").splitlines() if "Loading source unit file" not in line and line.strip()]
    message = lines[-1] if lines else "the Quadlet generator rejected the unit"
    match = _GENERATOR_KEY.search(message)
    return match.group(1) if match else None, message


def carries_marker(text, marker):
    """Whether a unit's header (the lines before its first section) has the line ``# MARKER``, as render() writes it."""
    wanted = _header_comment(marker.rstrip())
    for line in text.splitlines():
        if line.startswith("["):
            return False
        if line.rstrip() == wanted:
            return True
    return False


def uses_auto_userns(userns):
    """UserNS=auto (also auto:size=N) takes a rootful container's host ids from the "containers" ranges."""
    return userns is not None and userns.split(":", 1)[0] == "auto"


def missing_subid_ranges(contents):
    """The paths among ``{path: text or None}`` that have no ``containers:`` entry."""
    return [path for path, text in contents.items()
            if not any(line.startswith("containers:") for line in (text or "").splitlines())]


def parse_active_states(services, output):
    """Map each service to the state ``systemctl is-active`` printed for it, one line each in order.

    None when systemd did not answer for each service (no bus, no user manager).
    """
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    if len(lines) != len(services):
        return None
    return dict(zip(services, lines))
