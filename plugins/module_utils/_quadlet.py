# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Turn one container specification into a hardened Quadlet ``.container`` unit.

Pure logic, no I/O: ``normalize()`` fills in the secure defaults (from module_utils/_container_schema),
``validate()`` refuses what would weaken them without an explicit opt-out and any value that would not
mean what was written, ``render()`` writes the unit text with a stable key order so that the same
specification always gives the same bytes; every line goes through ``unit_line()``, the one place where
keys are checked and values escaped. Keys the target podman does not know are never written: they fall
back to the equivalent ``PodmanArgs=`` argument when podman has one, and are refused otherwise.
"""

from __future__ import annotations

import ipaddress
import math
import posixpath
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import (
    CONTAINER_OPTIONS,
    UNIT_KINDS,
    argument_spec,
    defaults,
    kind_options,
    sub_defaults,
    unknown_keys,
)
from ansible_collections.podsec.hardening.plugins.module_utils._reference import (
    InvalidReferenceError,
    parse_normalized_reference,
)
from ansible_collections.podsec.hardening.plugins.module_utils._seccomp_profile import PATH as TIGHTENED_SECCOMP_PATH
from ansible_collections.podsec.hardening.plugins.module_utils._inputs import (
    InputError,
    control_character,
    describe,
    image_registry,
    is_within,
    refuse_control_characters,
)

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
    "Pod": (5, 0),
    "ReadOnlyTmpfs": (4, 8),
    "Memory": (5, 5),
    "ReloadCmd": (5, 5),
    "ReloadSignal": (5, 5),
    "Retry": (5, 5),
    "RetryDelay": (5, 5),
    "HttpProxy": (5, 7),
    "AppArmor": (5, 8),
}

QUADLET_MIN_VERSION = (4, 4)

# The podman run argument that does the same as a key, for podman releases older than the key.
_FALLBACK_ARG = {
    "AutoUpdate": "--label=io.containers.autoupdate",
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
    "Ulimit": "--ulimit",
}

TMPFS_DEFAULTS = sub_defaults("tmpfs")
SECRET_DEFAULTS = sub_defaults("secrets")
SECRET_FILE_DEFAULTS = sub_defaults("secret_files")
VOLUME_DEFAULTS = sub_defaults("volumes")
SECTIONS = ("Unit", "Container", "Service", "Install")

# [Container] keys an option of this module manages, with the option to use instead. extra_keys may not
# set them, so that no default is undone on the side.
_MANAGED_KEYS = {
    "AddCapability": "add_capabilities",
    "ContainerName": "name",
    "DropCapability": "drop_all_capabilities",
    "Environment": "environment",
    "EnvironmentFile": "environment (values in a file cannot be checked for secrets)",
    "EnvironmentHost": "environment (the host's environment may hold secrets)",
    "Exec": "command",
    "GIDMap": "userns",
    "GlobalArgs": "nothing: global podman arguments choose the runtime, storage and configuration",
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
    "RunInit": "run_init",
    "SeccompProfile": "seccomp_profile",
    "Secret": "secrets or secret_files",
    "SecurityLabelLevel": "security_label_level",
    "SubGIDMap": "userns",
    "SubUIDMap": "userns",
    "Tmpfs": "tmpfs",
    "UIDMap": "userns",
    "Ulimit": "ulimits",
    "User": "user",
    "UserNS": "userns",
    "VolatileTmp": "tmpfs (VolatileTmp has no noexec)",
    "Volume": "volumes",
}

# The other [Container] keys extra_keys may set: none of them widens what the container can reach. Any
# other key (AppArmor, SecurityLabelDisable/Type/FileType/Nested, Unmask, AddDevice, Rootfs, Pod,
# ContainersConfModule, CgroupsMode, ...) is refused: unknown keys fail rather than pass.
_EXTRA_CONTAINER_KEYS = frozenset((
    "AddHost", "Annotation", "AutoUpdate", "DNS", "DNSOption", "DNSSearch", "Entrypoint", "ExposeHostPort",
    "HealthLogDestination", "HealthMaxLogCount", "HealthMaxLogSize", "HealthOnFailure", "HealthStartupCmd",
    "HealthStartupInterval", "HealthStartupRetries", "HealthStartupSuccess", "HealthStartupTimeout", "HostName",
    "HttpProxy", "IP", "IP6", "Label", "LogDriver", "LogOpt", "Mask", "NetworkAlias", "Notify", "Pull", "ReloadCmd",
    "ReloadSignal", "Retry", "RetryDelay", "ShmSize", "StopSignal", "StopTimeout", "Sysctl", "Timezone",
    "WorkingDir",
))
# Keys of the other sections extra_keys may set. [Service] keys that run commands or steer podman itself
# (Exec*, Environment*, PassEnvironment, User, Group, KillMode, Type, ...) and [Install] aliases are refused.
_EXTRA_SECTION_KEYS = {
    # Ordering only: dependencies (Wants, Requires, Conflicts, OnFailure, ...) would start or stop host units.
    "Unit": frozenset((
        "Documentation", "After", "Before", "StartLimitIntervalSec", "StartLimitBurst", "RequiresMountsFor",
        "WantsMountsFor",
    )),
    "Service": frozenset((
        "RestartSec", "RestartSteps", "RestartMaxDelaySec", "TimeoutStartSec", "TimeoutStopSec", "TimeoutSec",
        "TimeoutAbortSec", "RuntimeMaxSec", "WatchdogSec", "SuccessExitStatus", "RestartPreventExitStatus",
        "RestartForceExitStatus", "OOMPolicy", "Nice", "CPUWeight", "CPUQuota", "IOWeight", "MemoryHigh", "MemoryMax",
        "MemorySwapMax", "TasksMax", "LimitNOFILE", "LimitNPROC", "LimitCORE",
    )),
    "Install": frozenset(("WantedBy",)),
}
# [Unit] conditions and assertions only decide whether the unit starts.
_UNIT_CONDITION = re.compile(r"^(Condition|Assert)[A-Za-z]+\Z")

_LOG_DRIVERS = ("journald", "k8s-file", "none", "passthrough", "passthrough-tty")
# Log options that cannot name a host file (podman reads the option name case-insensitively).
_LOG_OPTION = re.compile(r"^(?i:max-size|tag)=[A-Za-z0-9_@%+:,./{}-]*\Z")
# Annotation and label namespaces that the runtime, podman or systemd read as instructions
# (run.oci.seccomp_bpf_data replaces the seccomp filter, run.oci.keep_original_groups keeps host groups).
_RESERVED_ANNOTATION = re.compile(r"^(?i:run\.oci\.|io\.podman\.|io\.containers\.|org\.systemd\.|io\.kubernetes\.|"
                                  r"io\.crun\.|org\.opencontainers\.)")
# Capabilities that reach past the container whatever its namespaces: refused, like --privileged.
_BREAKOUT_CAPABILITIES = frozenset("CAP_" + name for name in (
    "SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_PTRACE", "SYS_BOOT", "SYS_TIME", "SYS_RESOURCE", "MAC_ADMIN",
    "MAC_OVERRIDE", "DAC_READ_SEARCH", "BPF", "PERFMON", "SYSLOG", "LINUX_IMMUTABLE", "AUDIT_CONTROL", "AUDIT_READ",
    "WAKE_ALARM", "BLOCK_SUSPEND", "CHECKPOINT_RESTORE"))
# Where a seccomp profile may live: root's container configuration, which no volume may mount.
_SECCOMP_DIRECTORIES = ("/etc/containers", "/usr/share/containers")

# podman run flags podman_args may carry, with the grammar of their value (None: a flag without a value).
# Anything else is refused: flags that weaken the container (--privileged, --device, --security-opt, --rootfs,
# --pidfile or --log-opt path= that write host files, ...) and flags an option of this module manages.
_ARG_WORD = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+\Z")
_ARG_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?\Z")
_ALLOWED_ARGS = {
    "--add-host": _ARG_WORD,
    "--annotation": _ARG_WORD,
    "--cpu-shares": _ARG_NUMBER,
    "--cpus": _ARG_NUMBER,
    "--cpuset-cpus": re.compile(r"^[0-9,-]+\Z"),
    "--cpuset-mems": re.compile(r"^[0-9,-]+\Z"),
    "--dns": _ARG_WORD,
    "--dns-option": _ARG_WORD,
    "--dns-search": _ARG_WORD,
    "--expose": re.compile(r"^[0-9]+(-[0-9]+)?(/(tcp|udp|sctp))?\Z"),
    "--group-add": re.compile(r"^(?!keep-groups\Z)[A-Za-z0-9_][A-Za-z0-9_.-]*\Z"),
    "--health-on-failure": re.compile(r"^(none|kill|restart|stop)\Z"),
    "--hostname": _ARG_WORD,
    "--http-proxy": re.compile(r"^(true|false)\Z"),
    "--init": None,
    "--ipc": re.compile(r"^(private|shareable|none|host)\Z"),
    "--label": _ARG_WORD,
    "--log-driver": re.compile(r"^(%s)\Z" % "|".join(_LOG_DRIVERS)),
    "--log-opt": _LOG_OPTION,
    "--memory-reservation": re.compile(r"^[1-9][0-9]*[kKmMgG]?\Z"),
    "--no-healthcheck": None,
    "--no-hosts": None,
    "--pid": re.compile(r"^(private|host)\Z"),
    "--pull": re.compile(r"^(always|missing|never|newer)\Z"),
    "--shm-size": re.compile(r"^[1-9][0-9]*[kKmMgG]?\Z"),
    "--stop-signal": re.compile(r"^[A-Z0-9+]+\Z"),
    "--stop-timeout": re.compile(r"^[0-9]+\Z"),
    "--sysctl": re.compile(r"^(net|kernel\.(msg|sem|shm|mqueue))[A-Za-z0-9_./-]*=[A-Za-z0-9_ .:/-]*\Z"),
    "--tz": _ARG_WORD,
    "--umask": re.compile(r"^[0-7]{1,4}\Z"),
    "--workdir": re.compile(r"^/[^\s]*\Z"),
}
# Flags an option of this module manages, for the message (the rest are refused without an alternative).
_MANAGED_ARGS = {
    "--cap-add": "add_capabilities", "--cap-drop": "drop_all_capabilities", "--env": "environment",
    "--env-file": "environment", "--env-host": "environment", "--env-merge": "environment", "--memory": "memory",
    "--mount": "volumes or tmpfs", "--name": "name", "--network": "network", "--net": "network",
    "--pids-limit": "pids_limit", "--ulimit": "ulimits",
    "--publish": "ports", "--publish-all": "ports", "--read-only": "read_only",
    "--read-only-tmpfs": "tmpfs", "--secret": "secrets", "--security-opt": "no_new_privileges, seccomp_profile or "
    "security_label_level", "--tmpfs": "tmpfs", "--user": "user", "--userns": "userns", "--uidmap": "userns",
    "--gidmap": "userns", "--subuidname": "userns", "--subgidname": "userns", "--volume": "volumes",
    "--volumes-from": "volumes", "--health-cmd": "healthcheck", "--health-interval": "healthcheck",
    "--health-retries": "healthcheck", "--health-timeout": "healthcheck", "--health-start-period": "healthcheck",
}
# Namespace flags whose value "host" shares a host namespace, and the opt-out that allows it.
_HOST_NAMESPACE_ARGS = {"--pid": "allow_host_pid", "--ipc": "allow_host_ipc"}

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
_USER_ENGINE_DIRECTORY = re.compile(r"^/run/user/[0-9]+/podman(/podman\.sock)?\Z")
_ENGINE_DIRECTORIES = ("/run/podman", "/run/docker", "/run/containerd", "/run/crio", "/var/lib/containers/storage",
                       "/var/lib/docker")

# Host paths a volume or secret file may come from: data directories, and a few read-only system data trees.
# Everything else (/etc, /usr, /root, /boot, ...) is refused: a deny-list of system paths always misses one
# (/etc/cron.hourly, /lib/systemd/system, /etc/profile.d) that a writable mount turns into root on the host.
_DATA_ROOTS = ("/srv", "/opt", "/var/lib", "/var/opt", "/var/www", "/mnt", "/media", "/data", "/home")
_READ_ONLY_SYSTEM_DATA = ("/etc/ssl/certs", "/etc/pki/ca-trust/extracted", "/etc/pki/tls/certs",
                          "/usr/share/zoneinfo", "/etc/localtime", "/etc/timezone")
# Secret files: the tmpfs mounts of podsec.hardening.tmpfs_secret (the role uses /run/podsec-secrets-OWNER).
_SECRET_FILE_ROOT = re.compile(r"^/run/podsec-[A-Za-z0-9_.@-]+/")
# Below the data roots, these with everything below them: container storage and the state of systemd.
_HOST_TREES = ("/var/lib/containers", "/var/lib/systemd", "/var/lib/docker", "/var/lib/dpkg", "/var/lib/apt",
               "/var/lib/sss", "/var/lib/polkit-1", "/var/lib/sudo")
_SECRET_NAME_WORDS = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|APIKEY|ACCESSKEY|(^|_)(PASS|PWD|KEY|AUTH)(_|$))"
)
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+]{16,}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9_.@-]+\Z")
_TARGET = re.compile(r"^[A-Za-z0-9_.@:-]+\.target\Z")
# A unit-file key: systemd's grammar, letters, digits and "-" (no spaces, no "=").
_UNIT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9-]*\Z")
_CAPABILITY = re.compile(r"^(CAP_)?[A-Z][A-Z0-9_]*\Z")
_SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?\Z")
_COUNT = re.compile(r"^[1-9][0-9]*\Z")
_MOUNT_PATH = re.compile(r"^/[^\s:,\"'\\]*\Z")
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_VOLUME_OPTIONS = re.compile(r"^(ro|rw|z|Z|U|O|nosuid|nodev|noexec|exec|bind|rbind|private|rprivate|copy|nocopy|"
                             r"noatime|idmap)\Z")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*\Z")
_ID_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_USERNS = re.compile(r"^(auto|host|keep-id|nomap|private)(:[A-Za-z0-9=,_./-]+)?\Z")
_NETWORK = re.compile(r"^(none|private|host|bridge|slirp4netns|pasta)(:[A-Za-z0-9=,_./-]+)?\Z|"
                      r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_ULIMIT_NAMES = ("as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
                 "rtprio", "rttime", "sigpending", "stack")
_ULIMIT_VALUE = re.compile(r"^([0-9]+)(:([0-9]+))?\Z")
_LABEL_LEVEL = re.compile(r"^s[0-9]+(-s[0-9]+)?(:c[0-9]+([.,]c[0-9]+)*)?\Z")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}\Z")
_SECRET_TARGET = re.compile(r"^[^\s,=:\"'\\]+\Z")
_NUMERIC_ID = re.compile(r"^[0-9]+\Z")
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+\Z|^[0-9]+\Z")
_PORT_NUMBERS = re.compile(r"^([0-9]{1,5})(-([0-9]{1,5}))?\Z")
_MODE = re.compile(r"^[0-7]{3,4}\Z")
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_@%$+=:,./-]+\Z")
# Values of extra [Container] keys: one word. Quadlet splits some keys (Label, Annotation, ...) at white space
# and quotes, so a value with either would not mean what was written.
_EXTRA_CONTAINER_VALUE = re.compile(r"^[^\s\"'\\]+\Z")


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


def quadlet_version(text, executable="podman"):
    """``(major, minor)`` of ``podman --version`` output ``text``; QuadletError naming the version found and
    the minimum if that podman has no Quadlet, so a caller can refuse before it changes anything."""
    version = parse_version(text)
    if version < QUADLET_MIN_VERSION:
        found = re.search(r"[0-9]+\.[0-9]+(\.[0-9]+)?", text).group(0)
        raise QuadletError("podman %s (%s) has no Quadlet: podsec.hardening needs podman %s or later"
                           % (found, executable, _version_text(QUADLET_MIN_VERSION)))
    return version


def min_quadlet_version_text():
    """The oldest podman with Quadlet, as ``major.minor`` (what the hardened_container role checks)."""
    return _version_text(QUADLET_MIN_VERSION)


def _fail(field, message, value=None):
    """Raise QuadletError naming ``field``; ``value`` (not a secret) is shown cut short."""
    raise QuadletError("%s: %s%s" % (field, message, "" if value is None else " (got %s)" % describe(value)))


# ---------------------------------------------------------------------------------------- parse


def normalize(spec):
    """Return a copy of ``spec`` with every missing option set to its secure default."""
    result = defaults()
    result.update({key: value for key, value in spec.items() if value is not None})
    for key in ("add_capabilities", "ports", "volumes", "secrets", "secret_files", "podman_args", "tmpfs"):
        result[key] = list(result[key] or [])
    result["environment"] = dict(result["environment"] or {})
    result["extra_keys"] = dict(result["extra_keys"] or {})
    result["tmpfs"] = [_with_defaults(entry, TMPFS_DEFAULTS) for entry in result["tmpfs"]]
    result["volumes"] = [_with_defaults(entry, VOLUME_DEFAULTS) for entry in result["volumes"]]
    result["secrets"] = [_with_defaults(entry, SECRET_DEFAULTS) for entry in result["secrets"]]
    result["secret_files"] = [_with_defaults(entry, SECRET_FILE_DEFAULTS) for entry in result["secret_files"]]
    # Named limits are merged over the defaults: naming one never drops another.
    result["ulimits"] = dict(CONTAINER_OPTIONS["ulimits"]["default"], **(spec.get("ulimits") or {}))
    for key in ("user", "pids_limit", "memory"):
        result[key] = str(result[key])
    return result


def _with_defaults(entry, entry_defaults):
    merged = dict(entry_defaults)
    if isinstance(entry, dict):
        merged.update({key: value for key, value in entry.items() if value is not None})
    return merged


def split_podman_args(args):
    """Yield ``(flag, value)`` pairs from a podman argument list (value None for a flag without one).

    A flag listed with a value grammar takes ``--flag=value`` or the next argument; a word that is no
    flag is yielded with flag None (podman would take it for the image).
    """
    pending = None
    for arg in args:
        if pending is not None:
            yield pending, arg
            pending = None
            continue
        if not arg.startswith("-"):
            yield None, arg
            continue
        flag, sep, value = arg.partition("=")
        if sep:
            yield flag, value
        elif _ALLOWED_ARGS.get(flag) is not None:
            pending = flag
        else:
            yield flag, None
    if pending is not None:
        yield pending, None


def parse_port(port, field="ports"):
    """Split ``[IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`` into ``(ip, host_port, container_port)``.

    ``ip`` is None when none is written and ``""`` when it is written empty (``:8080:80``: every address).
    """
    text = str(port)
    if text.startswith("["):
        end = text.find("]:")
        if end < 0:
            _fail(field, "an IPv6 address in brackets must be followed by :HOST_PORT:CONTAINER_PORT", port)
        parts = text[end + 2:].split(":")
        if len(parts) != 2:
            _fail(field, "needs HOST_PORT:CONTAINER_PORT after the address", port)
        return text[1:end], parts[0], parts[1]
    parts = text.split(":")
    if len(parts) == 1:
        return None, "", parts[0]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    _fail(field, "cannot parse (write IPv6 addresses in brackets)", port)


# ------------------------------------------------------------------------------------- validate


def looks_like_secret(name, value):
    """True when an environment variable looks like it carries a credential.

    ``NAME_FILE=/run/secrets/...`` (the convention of images that read a secret from a file) names where the
    secret is, not the secret: a path is no credential.
    """
    if name.upper().endswith("_FILE") and str(value).startswith("/") and not _high_entropy(str(value)):
        return False
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


def host_path_problem(path, home=None, read_only=False, roots=None):
    """Why the host path ``path`` (absolute, normalised) may not be mounted into a container, or None.

    It must lie below a data root (read-only system data such as CA certificates only with ``ro``), not be a
    data root or a home directory itself, nor container storage or systemd state, nor a dot file or directory
    of a home (``.ssh``, ``.bashrc``, ``.config``, ...), the rootless owner's ``home`` included.
    """
    roots = roots or _DATA_ROOTS
    if read_only and any(is_within(path, tree) for tree in _READ_ONLY_SYSTEM_DATA):
        return None
    if path in roots:
        return "is a data directory itself; mount a directory below it"
    if not any(is_within(path, root) for root in roots):
        return ("is not below %s (read-only %s also with the ro option); put application configuration under /srv "
                "or /opt, or deliver it as a secret" % (", ".join(roots), ", ".join(_READ_ONLY_SYSTEM_DATA)))
    for tree in _HOST_TREES:
        if is_within(path, tree):
            return "is %s or below it (container storage or system state)" % tree
    for base in ("/home",) + ((posixpath.dirname(posixpath.normpath(home)),) if home else ()):
        if is_within(path, base):
            parts = path[len(base.rstrip("/")) + 1:].split("/")
            if len(parts) == 1:
                return "is a home directory itself"
            if parts[1].startswith("."):
                return "is a user's configuration (a dot file or directory of a home)"
    return None


def _is_root_user(user):
    name = user.split(":", 1)[0]
    return name == "root" or (name.isdigit() and int(name) == 0)


def validate_name(name):
    """Unit names become file names: letters, digits, _ . @ - only (no path, no line break)."""
    if not isinstance(name, str) or not _UNIT_NAME.match(name) or name.startswith("."):
        raise QuadletError("name: %s is not a valid unit name (letters, digits, _ . @ -)" % describe(name))


class HostPaths(object):
    """What the target says about host paths: how it resolves them, and which are sockets.

    The default answers from the path as written (for a check on the controller, where the target's file
    system cannot be seen); the module passes the target's own answers.
    """

    home = None

    def resolve(self, path):
        return posixpath.normpath(path)

    def is_socket(self, path):
        return False


def validate(spec, host=None):
    """Raise QuadletError, naming the field, for anything unsafe or weakening a default without its opt-out."""
    host = host or HostPaths()
    validate_name(spec.get("name"))
    refuse_text(spec)
    if not spec.get("image"):
        raise QuadletError("image: required when state=present")
    if not _IMAGE.match(spec["image"]):
        _fail("image", "is not an image reference", spec["image"])
    try:
        parse_normalized_reference(spec["image"])
    except InvalidReferenceError as exc:
        # A transport prefix (oci-archive:/path, dir:, docker-archive:, docker-daemon:, docker://) would take the
        # image from a file or daemon on the host instead of a registry, past registries.conf and the registry
        # scopes of the trust policy.
        _fail("image", "is not a registry image reference (%s); transport prefixes such as oci-archive: or "
              "docker:// are refused" % exc, spec["image"])
    if image_registry(spec["image"]) is None and not spec.get("short_name_ok"):
        _fail("image", "is a short name (no registry host before the first /): podman would pick the registry from "
              "the host's search list; name the registry (for example docker.io/library/busybox) or set "
              "short_name_ok: true", spec["image"])
    _validate_command(spec.get("command"))
    _validate_identity(spec)
    for cap in spec["add_capabilities"]:
        if not _CAPABILITY.match(str(cap).upper()) or str(cap).upper() in ("ALL", "CAP_ALL"):
            _fail("add_capabilities", "is not a single capability name", cap)
        if _capability(cap) in _BREAKOUT_CAPABILITIES:
            _fail("add_capabilities", "%s is refused: it reaches past the container (kernel modules, raw devices, "
                  "other processes, any file, the kernel's security settings)" % _capability(cap))
    for key, pattern in (("memory", _SIZE), ("pids_limit", _COUNT)):
        if spec[key] != "unlimited" and not pattern.match(spec[key]):
            _fail(key, "is not a limit (use the word 'unlimited' to opt out)", spec[key])
    _validate_ulimits(spec)
    _validate_network(spec)
    _validate_pod(spec)
    _validate_tmpfs(spec["tmpfs"])
    _validate_ports(spec)
    _validate_volumes(spec, host)
    _validate_secrets(spec["secrets"])
    _validate_secret_files(spec, host)
    _validate_environment(spec)
    _validate_healthcheck(spec.get("healthcheck"))
    _validate_podman_args(spec)
    _validate_extra_keys(spec["extra_keys"])
    _validate_service(spec, host)


def refuse_text(spec):
    """No control character in any string of the specification, dictionary keys included.

    Environment values are named, never shown: a value refused here may be a credential.
    """
    try:
        for key, value in spec.items():
            refuse_control_characters(value, str(key), secret=key == "environment")
    except InputError as exc:
        raise QuadletError(str(exc))


def _validate_command(command):
    for index, arg in enumerate(command or []):
        if arg == "":
            _fail("command[%d]" % index, "an empty argument is refused: Quadlet drops it and every later one")


def _validate_identity(spec):
    user = spec["user"]
    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?\Z", user):
        _fail("user", "is not USER or USER:GROUP (names or numbers)", user)
    if _is_root_user(user) and not spec["allow_root_user"]:
        _fail("user", "runs the container as root; set allow_root_user: true to allow it", user)
    if spec["group"] is not None and not _ID_NAME.match(str(spec["group"])):
        _fail("group", "is not a group name or number", spec["group"])
    userns = spec["userns"] or ""
    if userns and not _USERNS.match(userns):
        _fail("userns", "must be auto, host, keep-id, nomap or private, with options after ':' (joining a "
              "namespace by path is refused)", userns)
    if userns.split(":", 1)[0] not in ("auto", "nomap") and not spec["allow_host_userns"]:
        _fail("userns", "%s maps container ids to the host's or the owner's own ids (only auto and nomap give the "
              "container ids of its own); set allow_host_userns: true to allow it" % (userns or "an empty userns"))


def _validate_ulimits(spec):
    for name, value in spec["ulimits"].items():
        field = "ulimits.%s" % name
        if name not in _ULIMIT_NAMES:
            _fail("ulimits", "%s is not a limit name (one of %s)" % (describe(name), ", ".join(_ULIMIT_NAMES)))
        if str(value) == "host":
            continue
        match = _ULIMIT_VALUE.match(str(value))
        if not match:
            _fail(field, "must be SOFT or SOFT:HARD (whole numbers), or host to keep the limit podman and the host "
                  "give", value)
        if match.group(3) is not None and int(match.group(1)) > int(match.group(3)):
            _fail(field, "the soft limit is above the hard limit", value)


def _validate_network(spec):
    network = spec["network"]
    if network is None:
        return
    if not _NETWORK.match(network) or network.endswith((".container", ".pod")) or re.match(
            r"^(pasta|slirp4netns):", network):
        _fail("network", "must be none, private, bridge (with options), slirp4netns, pasta (without options: they "
              "can open the host's loopback), host or a network name (another container's or pod's network and a "
              "namespace path are refused)", network)
    if network.split(":", 1)[0] == "host" and not spec["allow_host_network"]:
        _fail("network", "host shares the host network; set allow_host_network: true to allow it")


def _validate_pod(spec):
    pod = spec.get("pod")
    if pod is None:
        return
    if not isinstance(pod, str) or not _UNIT_NAME.match(pod) or pod.startswith(".") or pod.endswith(".pod"):
        _fail("pod", "is not the name of a pod unit (letters, digits, _ . @ -, without .pod)", pod)
    for key in ("network", "ports"):
        if spec.get(key):
            _fail(key, "cannot be combined with pod: the container uses the pod's network and ports (set them on the "
                  "pod)")


def effective_network(spec, rootless, own_network=False):
    """The Network= value of a container (or pod): what it declares, else one it shares with no other container.

    No published port: ``none``. With ports: ``pasta`` for a rootless owner; for root, ``NAME.network`` (a
    network of its own, written by the caller) when ``own_network``, else None (podman's default network).
    """
    if spec.get("network") is not None or spec.get("pod"):
        return spec.get("network")
    if not spec.get("ports"):
        return "none"
    if rootless:
        return "pasta"
    return "%s.network" % spec["name"] if own_network else None


def own_network_spec(name):
    """The network of its own of a rootful container with published ports: not internal (published ports need a
    route), isolated from every other bridge network."""
    return dict(name=name, internal=False, isolate="strict",
                description="Network of its own of the hardened container %s" % name)


def _validate_tmpfs(mounts):
    for index, mount in enumerate(mounts):
        field = "tmpfs[%d]" % index
        if not _MOUNT_PATH.match(str(mount.get("path") or "")):
            _fail(field + ".path", "must be absolute, without ':', ',', quotes or spaces", mount.get("path"))
        if not _SIZE.match(str(mount["size"])):
            _fail(field + ".size", "must be a number with an optional k, m or g", mount["size"])
        if not _MODE.match(str(mount["mode"])):
            _fail(field + ".mode", "must be octal", mount["mode"])


def _port_range(text, field, port):
    match = _PORT_NUMBERS.match(text)
    if not match:
        _fail(field, "is not PORT or PORT-PORT", port)
    first = int(match.group(1))
    last = int(match.group(3)) if match.group(3) else first
    if not 1 <= first <= last <= 65535:
        _fail(field, "ports must be 1-65535, a range ascending", port)
    return last - first


def _validate_ports(spec):
    for index, port in enumerate(spec["ports"]):
        field = "ports[%d]" % index
        ip, host_port, container_port = parse_port(port, field)
        container_port, _slash, proto = container_port.partition("/")
        if _slash and proto not in ("tcp", "udp", "sctp"):
            _fail(field, "protocol must be tcp, udp or sctp", port)
        width = _port_range(container_port, field, port)
        if host_port and _port_range(host_port, field, port) != width:
            _fail(field, "the host and container port ranges must have the same length", port)
        if ip:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                _fail(field, "the address is not an IPv4 or IPv6 address", port)
            if not address.is_loopback and not spec["publish_on_all_addresses"]:
                _fail(field, "publishes on a non-loopback address; set publish_on_all_addresses: true to allow it",
                      port)
        elif ip == "" and not spec["publish_on_all_addresses"]:
            _fail(field, "an empty address publishes on every address; set publish_on_all_addresses: true to allow "
                  "it", port)


def _is_engine_path(path, host):
    """An engine socket, an engine's socket directory or its storage: what allow_engine_socket allows."""
    return bool(host.is_socket(path) or _SOCKET_NAME.search(path) or _USER_ENGINE_DIRECTORY.match(path)
                or any(is_within(path, directory) for directory in _ENGINE_DIRECTORIES))


def _check_host_path(field, path, spec, host, read_only=False, roots=None):
    """Refuse a host path that is, as written or as the target resolves it, outside the data roots or a socket.

    allow_engine_socket allows an engine socket and container storage, nothing else outside the data roots.
    """
    for candidate in (posixpath.normpath(path), host.resolve(path)):
        socket = is_engine_socket(candidate) or host.is_socket(candidate)
        if socket and not spec["allow_engine_socket"]:
            _fail(field, "%s exposes a socket or container storage (a container engine socket is root on the "
                  "host); set allow_engine_socket: true to allow it" % candidate, path)
        problem = host_path_problem(candidate, host.home, read_only, roots)
        if problem and not (spec["allow_engine_socket"] and _is_engine_path(candidate, host)):
            _fail(field, "%s %s" % (candidate, problem), path)


def _validate_volumes(spec, host):
    for index, volume in enumerate(spec["volumes"]):
        field = "volumes[%d]" % index
        source, target = str(volume.get("source") or ""), str(volume.get("target") or "")
        if not _MOUNT_PATH.match(target):
            _fail(field + ".target", "must be an absolute path without ':', ',', quotes or spaces", target)
        for option in volume.get("options") or []:
            if not _VOLUME_OPTIONS.match(str(option)):
                _fail(field + ".options", "is not a mount option this module allows (ro, rw, z, Z, U, nosuid, "
                      "nodev, noexec, ...)", option)
        if source.startswith("/"):
            if not _MOUNT_PATH.match(source):
                _fail(field + ".source", "must be an absolute path without ':', ',', quotes or spaces", source)
            options = [str(option) for option in volume.get("options") or []]
            for option in ("U", "idmap"):
                if option in options:
                    _fail(field + ".options", "%s on a host path would hand host files to container ids "
                          "(U chowns the tree, idmap maps host ids in); set private: true on a directory that "
                          "belongs to this container" % option)
            _check_host_path(field + ".source", source, spec, host, read_only="ro" in options)
        elif not _VOLUME_NAME.match(source):
            _fail(field + ".source", "is neither an absolute host path nor a volume name (letters, digits, _ . -)",
                  source)
        elif volume.get("private"):
            _fail(field + ".private", "applies to host paths only (podman gives a named volume to the container "
                  "that creates it)")


def _validate_secrets(secrets):
    for index, secret in enumerate(secrets):
        field = "secrets[%d]" % index
        if not _SECRET_NAME.match(str(secret.get("name") or "")):
            _fail(field + ".name", "is not a secret name (1-253 letters, digits, _ . -)", secret.get("name"))
        if not _MODE.match(str(secret["mode"])):
            _fail(field + ".mode", "must be octal", secret["mode"])
        if secret["target"] is not None and not _SECRET_TARGET.match(str(secret["target"])):
            _fail(field + ".target", "may not contain ',', '=', ':', quotes or spaces", secret["target"])
        for key in ("uid", "gid"):
            if secret[key] is not None and not _NUMERIC_ID.match(str(secret[key])):
                _fail("%s.%s" % (field, key), "must be a number", secret[key])


def _validate_secret_files(spec, host):
    for index, entry in enumerate(spec["secret_files"]):
        field = "secret_files[%d]" % index
        for key in ("source", "target"):
            value = entry.get(key)
            if value is None and key == "target":
                continue
            if not _MOUNT_PATH.match(str(value or "")):
                _fail("%s.%s" % (field, key), "must be an absolute path without ':', ',', quotes or spaces", value)
        _check_host_path(field + ".source", entry["source"], dict(spec, allow_engine_socket=False), host,
                         read_only=True, roots=_DATA_ROOTS + _secret_file_roots(entry["source"]))


def _secret_file_roots(source):
    """The tmpfs_secret mount a secret file lies in, when it lies in one (/run/podsec-NAME)."""
    match = _SECRET_FILE_ROOT.match(posixpath.normpath(str(source)) + "/")
    return (match.group(0).rstrip("/"),) if match else ()


def _validate_environment(spec):
    for env_name, value in spec["environment"].items():
        if not _ENV_NAME.match(str(env_name)):
            _fail("environment", "%s is not a valid variable name" % describe(env_name))
        if not spec["allow_secret_like_environment"] and looks_like_secret(env_name, value):
            raise QuadletError(
                "environment.%s: looks like a secret (name or value); deliver it with secrets (a file under "
                "/run/secrets), or set allow_secret_like_environment: true" % env_name
            )


def _validate_healthcheck(health):
    if not health:
        return
    if not str(health.get("cmd") or "").strip():
        _fail("healthcheck.cmd", "is required")
    _check_value("healthcheck.cmd", str(health["cmd"]))
    for key in ("interval", "timeout", "start_period"):
        if health.get(key) is not None and not _DURATION.match(str(health[key])):
            _fail("healthcheck." + key, "is not a duration such as 30s, 1m30s or 500ms", health[key])
    if health.get("retries") is not None and not _NUMERIC_ID.match(str(health["retries"])):
        _fail("healthcheck.retries", "must be a whole number", health["retries"])


def _validate_podman_args(spec):
    for flag, value in split_podman_args(spec["podman_args"]):
        if flag is None:
            _fail("podman_args", "%s is not a flag (podman would take a plain word for the image)" % describe(value))
        if flag not in _ALLOWED_ARGS and " " in flag and flag.split(" ", 1)[0] in _ALLOWED_ARGS:
            _fail("podman_args", "%r: write a flag and its value as two items or as %s=VALUE" % (
                flag, flag.split(" ", 1)[0]))
        if flag not in _ALLOWED_ARGS:
            if flag in _MANAGED_ARGS:
                _fail("podman_args", "%s is managed by this module; use %s instead" % (flag, _MANAGED_ARGS[flag]))
            _fail("podman_args", "%s is refused: only flags that cannot weaken the container are accepted (see the "
                  "podman_args option)" % flag)
        grammar = _ALLOWED_ARGS[flag]
        if grammar is None and value is not None:
            _fail("podman_args", "%s takes no value" % flag, value)
        if grammar is not None and (value is None or not grammar.match(value)):
            _fail("podman_args", "%s needs a value of its own form" % flag, value)
        if flag in ("--annotation", "--label") and _RESERVED_ANNOTATION.match(value):
            _fail("podman_args", "%s %s is refused: that namespace steers the runtime, podman or systemd" % (flag, value))
        if flag in _HOST_NAMESPACE_ARGS and value == "host" and not spec[_HOST_NAMESPACE_ARGS[flag]]:
            _fail("podman_args", "%s=host shares a host namespace; set %s: true to allow it"
                  % (flag, _HOST_NAMESPACE_ARGS[flag]))


def _validate_extra_keys(extra):
    for section, keys in extra.items():
        if section not in SECTIONS:
            _fail("extra_keys", "unknown section %s (one of %s)" % (describe(section), ", ".join(SECTIONS)))
        if not isinstance(keys, dict):
            _fail("extra_keys.%s" % section, "must be a mapping of key to value")
        for key, value in keys.items():
            field = "extra_keys.%s.%s" % (section, key)
            if not isinstance(key, str) or not _UNIT_KEY.match(key):
                _fail("extra_keys.%s" % section, "%s is not a unit-file key (letters, digits, -)" % describe(key))
            if section == "Container":
                _check_extra_container_key(field, key, value)
            elif key not in _EXTRA_SECTION_KEYS[section] and not (section == "Unit" and _UNIT_CONDITION.match(key)):
                _fail(field, "is not a [%s] key that may be set here (%s%s)" % (
                    section, ", ".join(sorted(_EXTRA_SECTION_KEYS[section])),
                    ", Condition* and Assert*; dependencies would start or stop host units" if section == "Unit" else ""))
            for item in _as_list(value):
                _check_value(field, item)
                if (section, key) == ("Install", "WantedBy") and not _TARGET.match(item):
                    _fail(field, "is not a target such as multi-user.target", item)


def _check_extra_container_key(field, key, value):
    if key in _MANAGED_KEYS:
        _fail(field, "not allowed here; use %s" % _MANAGED_KEYS[key])
    if key not in _EXTRA_CONTAINER_KEYS:
        _fail(field, "is refused: it is not one of the [Container] keys that cannot weaken the container "
              "(%s)" % ", ".join(sorted(_EXTRA_CONTAINER_KEYS)))
    for item in _as_list(value):
        if not _EXTRA_CONTAINER_VALUE.match(item):
            _fail(field, "must be one word without spaces, quotes or backslashes", item)
        if key in ("Label", "Annotation", "Sysctl", "LogOpt") and not re.match(r"^[^=]+=", item):
            _fail(field, "must be NAME=VALUE (Quadlet drops anything else without a word)", item)
        if key in ("Label", "Annotation") and _RESERVED_ANNOTATION.match(item):
            _fail(field, "that namespace steers the runtime, podman or systemd", item)
        if key == "LogOpt" and not _LOG_OPTION.match(item):
            _fail(field, "only max-size= and tag= (path= would make podman write to a host file)", item)
        if key == "HealthLogDestination" and item not in ("local", "events_logger"):
            _fail(field, "must be local or events_logger (a path would make podman write to a host directory)", item)
        if key == "LogDriver" and item not in _LOG_DRIVERS:
            _fail(field, "must be one of %s" % ", ".join(_LOG_DRIVERS), item)


def _check_value(field, value):
    """What any value written to a unit must be: no leading or trailing white space (systemd strips it), no
    final backslash (systemd would join the next line to it)."""
    if value != value.strip():
        _fail(field, "may not begin or end with white space", value)
    if value.endswith("\\"):
        _fail(field, "may not end with a backslash (systemd would join the next line)", value)


def _validate_service(spec, host):
    if spec["restart"] not in CONTAINER_OPTIONS["restart"]["choices"]:
        _fail("restart", "must be one of %s" % ", ".join(CONTAINER_OPTIONS["restart"]["choices"]), spec["restart"])
    if spec["wanted_by"] is not None and not _TARGET.match(spec["wanted_by"]):
        _fail("wanted_by", "is not a target such as multi-user.target", spec["wanted_by"])
    if spec["description"] is not None:
        if spec["description"] == "":
            _fail("description", "may not be empty (leave it unset for the default)")
        _check_value("description", spec["description"])
    if spec["security_label_level"] is not None and not _LABEL_LEVEL.match(spec["security_label_level"]):
        _fail("security_label_level", "is not an MLS/MCS level such as s0:c1,c2", spec["security_label_level"])
    profile = spec.get("seccomp_profile")
    if profile is not None:
        if not _MOUNT_PATH.match(profile):
            _fail("seccomp_profile", "must be the absolute path of a profile on the host (unconfined is refused)",
                  profile)
        for candidate in (posixpath.normpath(profile), host.resolve(profile)):
            if not any(is_within(candidate, directory) and candidate != directory for directory in _SECCOMP_DIRECTORIES):
                _fail("seccomp_profile", "%s is not below %s, where only root writes" % (
                    candidate, " or ".join(_SECCOMP_DIRECTORIES)), profile)


# quadlet_container's options besides those of one unit (plugins/modules/quadlet_container.py main()).
MODULE_OPTIONS = ("state", "rootless_user", "containers", "header", "podman_executable", "generator", "managed_marker",
                  "report_active_state") + tuple(option for option, _v, _s, _c, _o in UNIT_KINDS)


def unit_options():
    """The options of one unit: the schema's, and its name."""
    options = dict(CONTAINER_OPTIONS)
    options["name"] = {"type": "str", "required": True}
    return options


def shape_problem(item, options, where):
    """The first option of ``item`` declared as a dictionary (or a list of them) that is not one, or None.

    ArgumentSpecValidator assumes the shape and fails with a TypeError that names no option.
    """
    for key, option in options.items():
        value = item.get(key)
        if value is None:
            continue
        field = "%s: %s" % (where, key)
        if option.get("type") == "dict" and not isinstance(value, dict):
            return "%s: must be a dictionary" % field
        if option.get("type") == "list":
            if isinstance(value, dict) or (option.get("elements") == "dict" and not isinstance(value, list)):
                return "%s: must be a list" % field
            if not isinstance(value, list):
                continue  # a string is split into a list by the validator, as the module does
            if option.get("elements") == "dict":
                for index, element in enumerate(value):
                    if not isinstance(element, dict):
                        return "%s[%d]: must be a dictionary" % (field, index)
                    inner = shape_problem(element, option.get("options") or {}, "%s[%d]" % (field, index))
                    if inner:
                        return inner
        if option.get("type") == "dict" and option.get("options"):
            inner = shape_problem(value, option["options"], field)
            if inner:
                return inner
    return None


def check_container(element, label, present=True):
    """The first problem of one container specification, or None, found without the target.

    The same checks the module runs on the target, less what only the target knows (how it resolves
    paths, its podman version), so that a refused value never reaches the target: AnsibleModule logs its
    arguments to the target's journal before a module can look at them. Messages name keys and fields;
    an environment value is never shown.
    """
    problems = unknown_keys(element, unit_options(), label)
    if problems:
        return problems[0]
    if not present:
        try:
            validate_name(element.get("name"))
        except QuadletError as exc:
            return "%s: %s" % (label, exc)
        return None
    try:
        refuse_text(element)
    except QuadletError as exc:
        return "%s: %s" % (label, exc)
    shape = shape_problem(element, unit_options(), label)
    if shape:
        return shape
    spec = argument_spec(unit_options())
    spec["image"]["required"] = True
    try:
        result = ArgumentSpecValidator(spec).validate(dict(element))
        if result.error_messages:
            return "%s: %s" % (label, result.error_messages[0])
        validate(normalize(result.validated_parameters))
    except QuadletError as exc:
        return "%s: %s" % (label, exc)
    except (TypeError, ValueError, AttributeError) as exc:
        # ArgumentSpecValidator assumes a dict where a dict option is declared.
        return "%s: a value is not of its option's type (%s)" % (label, exc)
    return None


def check_arguments(args):
    """check_container() for quadlet_container's task arguments: each element of ``containers``, or the single
    form's own options. Only what the module would refuse anyway; the rest is left to the module."""
    present = args.get("state", "present") == "present"
    problem = check_units(args) or (present and internal_network_problem(
        args.get("containers"), args.get("network_units"), args.get("pod_units")))
    if problem:
        return problem
    if args.get("containers") is not None:
        if not isinstance(args["containers"], list):
            return None
        for index, element in enumerate(args["containers"]):
            if not isinstance(element, dict):
                return "containers[%d]: must be a dictionary" % index
            name = element.get("name")
            label = "containers[%s]" % (name if isinstance(name, str) and _UNIT_NAME.match(name) else "#%d" % index)
            problem = check_container(element, label, present)
            if problem:
                return problem
        return None
    name = args.get("name")
    label = name if isinstance(name, str) and _UNIT_NAME.match(name) else "name"
    # An unknown option would be echoed, with its value, in AnsibleModule's failure (-vvv).
    problems = unknown_keys(args, dict(unit_options(), **dict((key, {}) for key in MODULE_OPTIONS)), label)
    if problems:
        return problems[0]
    element = dict((key, value) for key, value in args.items() if key in unit_options())
    return check_container(element, label, present)


# --------------------------------------------------------------------------------------- render


def _as_list(value):
    if isinstance(value, (list, tuple)):
        return [_scalar(item) for item in value]
    return [_scalar(value)]


def _scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def quote_word(word):
    """Quote one word for a Quadlet key that is split like a systemd command line."""
    if word and _PLAIN_WORD.match(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_line(section, key, value):
    """The one place a key and its value become a line of the unit.

    The key must match the unit-file grammar; a control character in the value is refused; ``%`` becomes
    ``%%`` everywhere (systemd expands specifiers in every section) and, in [Container], ``$`` becomes ``$$``
    (Quadlet copies those values into ExecStart=, where systemd expands variables), so that podman receives
    exactly what was written.
    """
    if not _UNIT_KEY.match(key):
        raise QuadletError("%s: %s is not a unit-file key" % (section, describe(key)))
    found = control_character(value)
    if found is not None:
        raise QuadletError("%s.%s: control character %s is not allowed" % (section, key, found))
    _check_value("%s.%s" % (section, key), value)
    text = value.replace("%", "%%")
    if section == "Container":
        text = text.replace("$", "$$")
    return "%s=%s" % (key, text)


def _health_pairs(health):
    if not health:
        return []
    pairs = [("HealthCmd", str(health["cmd"]))]
    for option, key in (("interval", "HealthInterval"), ("timeout", "HealthTimeout"),
                        ("retries", "HealthRetries"), ("start_period", "HealthStartPeriod")):
        if health.get(option) is not None:
            pairs.append((key, str(health[option])))
    return pairs


def _container_pairs(spec, network=None):
    """The [Container] keys in their fixed order, before version gating; values as podman must receive them.

    ``network``: the Network= value (effective_network()); None writes none."""
    pairs = [("Image", spec["image"]), ("ContainerName", spec["name"])]
    if spec.get("auto_update"):
        # podman auto-update pulls the tag's new digest through the owner's trust policy and restarts the unit.
        pairs.append(("AutoUpdate", "registry"))
    if spec.get("command"):
        pairs.append(("Exec", " ".join(quote_word(str(arg)) for arg in spec["command"])))
    if spec["run_init"]:
        pairs.append(("RunInit", "true"))
    pairs.append(("User", spec["user"]))
    if spec["group"] is not None:
        pairs.append(("Group", str(spec["group"])))
    if spec["userns"] and not spec.get("pod"):
        pairs.append(("UserNS", spec["userns"]))
    if spec.get("pod"):
        pairs.append(("Pod", "%s.pod" % spec["pod"]))
    if spec["read_only"]:
        pairs.append(("ReadOnly", "true"))
        pairs.append(("ReadOnlyTmpfs", "false"))
    if spec["no_new_privileges"]:
        pairs.append(("NoNewPrivileges", "true"))
    if spec["drop_all_capabilities"]:
        pairs.append(("DropCapability", "all"))
    for cap in sorted({_capability(cap) for cap in spec["add_capabilities"]}):
        pairs.append(("AddCapability", cap))
    profile = seccomp_profile_path(spec)
    if profile:
        pairs.append(("SeccompProfile", profile))
    for mount in spec["tmpfs"]:
        flags = ["rw", "exec" if mount["exec"] else "noexec", "nosuid", "nodev"]
        flags += ["size=%s" % mount["size"], "mode=%s" % mount["mode"]]
        pairs.append(("Tmpfs", "%s:%s" % (mount["path"], ",".join(flags))))
    if spec["memory"] != "unlimited":
        pairs.append(("Memory", spec["memory"]))
    if spec["pids_limit"] != "unlimited":
        pairs.append(("PidsLimit", spec["pids_limit"]))
    for name in sorted(spec["ulimits"]):
        if str(spec["ulimits"][name]) != "host":
            pairs.append(("Ulimit", "%s=%s" % (name, spec["ulimits"][name])))
    if network:
        pairs.append(("Network", network))
    for port in spec["ports"]:
        pairs.append(("PublishPort", _render_port(port, spec["publish_on_all_addresses"])))
    for volume in spec["volumes"]:
        options = ",".join(list(volume.get("options") or []) + (["U"] if volume.get("private") else []))
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
        pairs.append(("Environment", quote_word("%s=%s" % (env_name, _scalar(spec["environment"][env_name])))))
    pairs.extend(_health_pairs(spec["healthcheck"]))
    for key in sorted(spec["extra_keys"].get("Container", {})):
        for value in _as_list(spec["extra_keys"]["Container"][key]):
            pairs.append((key, value))
    return pairs


def seccomp_profile_path(spec):
    """The profile a normalized ``spec`` runs under: its own, the tightened one, or None (podman's default)."""
    if spec.get("seccomp_profile"):
        return spec["seccomp_profile"]
    return TIGHTENED_SECCOMP_PATH if spec.get("tightened_seccomp", True) else None


def _capability(cap):
    cap = str(cap).upper()
    return cap if cap.startswith("CAP_") else "CAP_" + cap


def _render_port(port, all_addresses):
    ip, host_port, container_port = parse_port(port)
    if ip is None and not all_addresses:
        ip = "127.0.0.1"
    if not ip:
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


# Header line of a unit whose container allows setuid-root files in its image. It makes the option part of the
# unit's text: turning it off changes the unit, so the redeploy looks inside the image again (and refuses it), and
# container_posture reads it as an opt-out.
_SETUID_ROOT_OK_KEY = "setuid_root_ok:"
SETUID_ROOT_OK_NOTE = _SETUID_ROOT_OK_KEY + " true (the image may carry setuid-root files)"


def render(spec, version, rootless=False, header=None, own_network=False):
    """Return the unit text for a normalized and validated ``spec`` on podman ``version``.

    ``own_network``: the caller writes the container's network of its own (see effective_network())."""
    header = _header_lines(header)
    if any(line.startswith(_SETUID_ROOT_OK_KEY) for line in header):
        # Only the option writes that line: a header carrying it would keep the unit unchanged when the option is
        # turned off (no second look inside the image) and show an opt-out that is not there.
        raise QuadletError("header: a line starting 'setuid_root_ok:' is written by this module for the option "
                           "setuid_root_ok only")
    if spec.get("setuid_root_ok"):
        header = header + [SETUID_ROOT_OK_NOTE]
    container, fallback_args = gate_versions(
        _container_pairs(spec, effective_network(spec, rootless, own_network)), version)
    podman_args = fallback_args + [quote_word(str(arg)) for arg in spec["podman_args"]]
    if podman_args:
        container.append(("PodmanArgs", " ".join(podman_args)))
    extra = spec["extra_keys"]
    unit = [("Description", spec["description"] or "Hardened container %s" % spec["name"])]
    service = [("Restart", spec["restart"])]
    install = [("WantedBy", spec["wanted_by"] or ("default.target" if rootless else "multi-user.target"))]
    sections = []
    for section, pairs in (("Unit", unit), ("Container", container), ("Service", service), ("Install", install)):
        if section != "Container":
            pairs = pairs + [(key, value) for key in sorted(extra.get(section, {}))
                             for value in _as_list(extra[section][key])]
        sections.append((section, pairs))
    return _unit_text(header, sections)


def _unit_text(header, sections):
    """The header comment, then each ``(section, [(key, value), ...])``, every line through unit_line()."""
    lines = [_header_comment(line) for line in _header_lines(header)]
    for section, pairs in sections:
        if lines:
            lines.append("")
        lines.append("[%s]" % section)
        lines.extend(unit_line(section, key, value) for key, value in pairs)
    return "\n".join(lines) + "\n"


def _header_comment(line):
    return "# %s" % line if line else "#"


def _header_lines(header):
    """Comment lines of the header; each item may span lines, any other control character is refused."""
    if not header:
        return []
    if isinstance(header, str):
        header = [header]
    lines = [line.rstrip() for item in header for line in str(item).split("\n")]
    for line in lines:
        found = control_character(line)
        if found is not None:
            raise QuadletError("header: control character %s is not allowed" % found)
    return lines


def build_unit(spec, version, rootless=False, header=None, host=None, own_network=False):
    """parse -> validate -> render in one call; raises QuadletError naming the offending field."""
    normalized = normalize(spec)
    validate(normalized, host)
    return render(normalized, version, rootless=rootless, header=header, own_network=own_network)


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


def missing_subid_ranges(contents, user_exists=True):
    """The paths among ``{path: text or None}`` that have no ``containers:`` entry; all of them when no user
    ``containers`` exists: libsubid of shadow 4.20 (podman 5.8 on Debian sid) looks ranges up for existing
    users only, so the entries are then not found ("no subuid ranges found for user containers")."""
    return [path for path, text in contents.items()
            if not user_exists or not any(line.startswith("containers:") for line in (text or "").splitlines())]


def parse_active_states(services, output):
    """Map each service to the state ``systemctl is-active`` printed for it, one line each in order.

    None when systemd did not answer for each service (no bus, no user manager).
    """
    lines = [line.strip() for line in (output or "").splitlines() if line.strip()]
    if len(lines) != len(services):
        return None
    return dict(zip(services, lines))


# ------------------------------------------------------------- .network, .volume and .pod units

# Suffix of a unit kind -> (its section, the podman release whose Quadlet knows it).
KIND_SECTION = dict((suffix, section) for _option, _variable, suffix, section, _options in UNIT_KINDS)
KIND_MIN_VERSION = {"network": (4, 4), "volume": (4, 4), "pod": (5, 0)}
_LABEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]*\Z")


def normalize_unit(kind, spec):
    """A copy of one network, volume or pod ``spec`` with every missing option set to its default."""
    result = dict((name, option.get("default")) for name, option in kind_options(kind).items())
    result.update(dict((key, value) for key, value in spec.items() if value is not None))
    for key in ("labels",):
        if key in result:
            result[key] = dict(result[key] or {})
    for key in ("dns", "ports"):
        if key in result:
            result[key] = list(result[key] or [])
    return result


def _validate_labels(labels):
    if not isinstance(labels, dict):
        _fail("labels", "must be a mapping of name to value")
    for name, value in labels.items():
        if not isinstance(name, str) or not _LABEL_NAME.match(name):
            _fail("labels", "%s is not a label name (letters, digits, _ . / -)" % describe(name))
        _check_extra_container_key("labels.%s" % name, "Label", ["%s=%s" % (name, _scalar(value))])


def _network_address(field, text, kind):
    try:
        return ipaddress.ip_network(str(text), strict=True) if kind == "network" else ipaddress.ip_address(str(text))
    except ValueError:
        _fail(field, "is not an IPv4 or IPv6 %s" % ("network (address/prefix, host bits zero)" if kind == "network"
                                                    else "address"), text)


def _validate_network_unit(spec):
    if spec["isolate"] not in ("strict", "true", "false"):
        _fail("isolate", "must be strict, true or false", spec["isolate"])
    subnet = _network_address("subnet", spec["subnet"], "network") if spec["subnet"] is not None else None
    for key, kind in (("gateway", "address"), ("ip_range", "network")):
        if spec[key] is None:
            continue
        if subnet is None:
            _fail(key, "needs subnet")
        value = _network_address(key, spec[key], kind)
        inside = value.subnet_of(subnet) if kind == "network" and value.version == subnet.version else value in subnet
        if not inside:
            _fail(key, "is not within subnet %s" % subnet, spec[key])
    for index, server in enumerate(spec["dns"]):
        _network_address("dns[%d]" % index, server, "address")


def validate_unit(kind, spec):
    """Raise QuadletError, naming the field, for a network, volume or pod unit that is unsafe or malformed."""
    validate_name(spec.get("name"))
    refuse_text(spec)
    _validate_labels(spec.get("labels") or {})
    if spec.get("description") is not None:
        if spec["description"] == "":
            _fail("description", "may not be empty (leave it unset for the default)")
        _check_value("description", spec["description"])
    if kind == "network":
        _validate_network_unit(spec)
    elif kind == "pod":
        userns = spec["userns"] or ""
        if userns and not _USERNS.match(userns):
            _fail("userns", "must be auto, host, keep-id, nomap or private, with options after ':'", userns)
        if userns.split(":", 1)[0] not in ("auto", "nomap") and not spec["allow_host_userns"]:
            _fail("userns", "%s maps container ids to the host's or the owner's own ids; set allow_host_userns: true "
                  "to allow it" % (userns or "an empty userns"))
        _validate_network(spec)
        _validate_ports(spec)


def _kind_pairs(kind, spec, rootless):
    pairs = []
    if kind == "network":
        pairs.append(("Driver", "bridge"))
        if spec["internal"]:
            pairs.append(("Internal", "true"))
        for key, option in (("Subnet", "subnet"), ("Gateway", "gateway"), ("IPRange", "ip_range")):
            if spec[option] is not None:
                pairs.append((key, str(spec[option])))
        if spec["ipv6"]:
            pairs.append(("IPv6", "true"))
        pairs.extend(("DNS", str(server)) for server in spec["dns"])
        if spec["disable_dns"]:
            pairs.append(("DisableDNS", "true"))
        if spec["isolate"] != "false":
            pairs.append(("Options", "isolate=%s" % spec["isolate"]))
    elif kind == "volume":
        pairs.append(("Copy", "true" if spec["copy"] else "false"))
    else:
        network = effective_network(spec, rootless)
        if network is None:
            _fail("network", "a rootful pod that publishes ports must name its network (a NAME.network unit), so "
                  "that it shares none by default")
        if spec["userns"]:
            pairs.append(("UserNS", spec["userns"]))
        pairs.append(("Network", network))
        pairs.extend(("PublishPort", _render_port(port, spec["publish_on_all_addresses"])) for port in spec["ports"])
    labels = spec.get("labels") or {}
    pairs.extend(("Label", "%s=%s" % (name, _scalar(labels[name]))) for name in sorted(labels))
    return pairs


# The nftables table that keeps non-root host processes (a rootless container's pasta among them) away from the
# containers on rootful networks: each network's service adds its bridge to the set; published ports (DNAT)
# pass. One nft batch, so a restart re-creates the same table (flush, then the two rules) and adds the element.
NFT_TABLE = "inet podsec_isolation"
_NFT_BATCH = ("add table {t}; add set {t} bridges {{ type ifname; }}; add chain {t} output {{ type filter hook output "
              "priority 0; policy accept; }}; flush chain {t} output; add rule {t} output ct status dnat accept; add "
              "rule {t} output oifname @bridges meta skuid != 0 ct state new reject; add element {t} bridges {{ $$bridge }}")


def host_users_rule(network_name):
    """ExecStartPost= of a rootful network's service: put its bridge into the table's set (see NFT_TABLE)."""
    batch = _NFT_BATCH.format(t=NFT_TABLE)
    return ("/bin/sh -c 'bridge=$$(podman network inspect --format \"{{.NetworkInterface}}\" %s) && "
            "exec nft \"%s\"'" % (network_name, batch))


def render_unit(kind, spec, version, rootless=False, header=None):
    """The text of one normalized and validated network, volume or pod unit on podman ``version``."""
    needed = KIND_MIN_VERSION[kind]
    if version < needed:
        raise QuadletError(".%s units need podman %s, the host has %s" % (kind, _version_text(needed),
                                                                          _version_text(version)))
    unit = [("Description", spec["description"] or "Hardened %s %s" % (kind, spec["name"]))]
    sections = [("Unit", unit), (KIND_SECTION[kind], _kind_pairs(kind, spec, rootless))]
    if kind == "network" and not rootless and not spec["allow_host_users"]:
        sections.append(("Service", [("ExecStartPost", host_users_rule("systemd-%s" % spec["name"]))]))
    return _unit_text(header, sections)


def build_kind_unit(kind, spec, version, rootless=False, header=None):
    """normalize -> validate -> render for a network, volume or pod unit; raises QuadletError naming the field."""
    normalized = normalize_unit(kind, spec)
    validate_unit(kind, normalized)
    return render_unit(kind, normalized, version, rootless=rootless, header=header)


def check_unit(kind, element, label, present=True):
    """check_container() for a network, volume or pod unit: the first problem, or None, without the target."""
    options = kind_options(kind)
    problems = unknown_keys(element, options, label)
    if problems:
        return problems[0]
    try:
        validate_name(element.get("name"))
        if not present:
            return None
        refuse_text(element)
        shape = shape_problem(element, options, label)
        if shape:
            return shape
        result = ArgumentSpecValidator(argument_spec(options)).validate(dict(element))
        if result.error_messages:
            return "%s: %s" % (label, result.error_messages[0])
        spec = normalize_unit(kind, result.validated_parameters)
        validate_unit(kind, spec)
    except QuadletError as exc:
        return "%s: %s" % (label, exc)
    except (TypeError, ValueError, AttributeError) as exc:
        return "%s: a value is not of its option's type (%s)" % (label, exc)
    return None


def check_units(args, labels=None):
    """check_unit() for every element of network_units, volume_units and pod_units of ``args``, or None."""
    present = args.get("state", "present") == "present"
    for option, variable, suffix, _section, _options in UNIT_KINDS:
        elements = args.get(option)
        if elements is None:
            continue
        where = (labels or {}).get(option, option)
        if not isinstance(elements, list):
            return "%s: must be a list" % where
        for index, element in enumerate(elements):
            if not isinstance(element, dict):
                return "%s[%d]: must be a dictionary" % (where, index)
            name = element.get("name")
            label = "%s[%s]" % (where, name if isinstance(name, str) and _UNIT_NAME.match(name) else "#%d" % index)
            problem = check_unit(suffix, element, label, present)
            if problem:
                return problem
    return None


def internal_network_problem(containers, network_units, pod_units, where="containers"):
    """The first container or pod that publishes ports on an internal network declared in the same call, or None.

    netavark forwards no published port to a container on an internal network: the ports would silently not work.
    """
    internal = set("%s.network" % unit.get("name") for unit in network_units or []
                   if isinstance(unit, dict) and unit.get("internal", True))
    for label, elements in ((where, containers), ("pod_units", pod_units)):
        for element in elements or []:
            if isinstance(element, dict) and element.get("ports") and element.get("network") in internal:
                return ("%s[%s]: ports: %s is internal, and published ports do not reach a container on an internal "
                        "network; set internal: false on it" % (label, element.get("name"), element["network"]))
    return None
