# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules of the container_posture module, fed with recorded podman / systemd / ss / auditctl output."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.podsec.hardening.plugins.module_utils import _findings, _posture, _quadlet
from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import ROLE_MARKER

SECRET_VALUE = "s3cr3t-Planted-Value-42"

# A container deployed by the hardened_container role (Quadlet: ReadOnly, NoNewPrivileges, DropCapability=all,
# User=10001, PublishPort=127.0.0.1:8080:8080, tmpfs), as `podman container inspect` prints it (trimmed).
HARDENED = {
    "Id": "3f1c0ad2b6e84a0c9d2f7e5b1a3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
    "Name": "systemd-web",
    "ImageName": "localhost/podsec/busybox:latest",
    "State": {"Status": "running", "Running": True, "Pid": 4242},
    "Config": {
        "Hostname": "3f1c0ad2b6e8",
        "User": "10001",
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "container=podman",
                "HOME=/", "HOSTNAME=3f1c0ad2b6e8", "APP_PORT=8080", "DB_PASSWORD_FILE=/run/secrets/db"],
        "Image": "localhost/podsec/busybox:latest",
        "Labels": {"PODMAN_SYSTEMD_UNIT": "web.service"},
    },
    "Mounts": [
        {"Type": "bind", "Source": "/srv/web/data", "Destination": "/data", "Driver": "", "Mode": "",
         "Options": ["rbind"], "RW": True, "Propagation": "rprivate"},
        {"Type": "bind", "Source": "/etc/localtime", "Destination": "/etc/localtime", "RW": False},
        {"Type": "volume", "Name": "webcache", "Source": "/var/lib/containers/storage/volumes/webcache/_data",
         "Destination": "/cache", "RW": True},
    ],
    "EffectiveCaps": None,
    "BoundingCaps": None,
    "HostConfig": {
        "Binds": ["/srv/web/data:/data:rw,rprivate,rbind"],
        "NetworkMode": "bridge",
        "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
        "CapAdd": [],
        "CapDrop": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                    "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"],
        "IpcMode": "shareable",
        "PidMode": "private",
        "UTSMode": "private",
        "UsernsMode": "private",
        "CgroupMode": "private",
        "Privileged": False,
        "ReadonlyRootfs": True,
        "SecurityOpt": ["no-new-privileges"],
        "Tmpfs": {"/tmp": "rw,noexec,nosuid,nodev,size=16m"},
    },
    "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}},
}

# `podman run -d --privileged -e DB_PASSWORD=... -p 0.0.0.0:8081:8080 -v /run/podman/podman.sock:/run/podman.sock
#  -v /etc:/host-etc --network host --pid host` from a root shell.
INSECURE = {
    "Id": "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081",
    "Name": "legacy-db",
    "ImageName": "localhost/podsec/busybox:latest",
    "Config": {
        "User": "",
        "Env": ["PATH=/usr/bin:/bin", "container=podman", "DB_PASSWORD=" + SECRET_VALUE,
                "API_TOKEN=" + SECRET_VALUE, "aws_secret_access_key=" + SECRET_VALUE, "LOG_LEVEL=debug"],
    },
    "Mounts": [
        {"Type": "bind", "Source": "/run/podman/podman.sock", "Destination": "/run/podman.sock", "RW": True},
        {"Type": "bind", "Source": "/etc", "Destination": "/host-etc", "RW": True},
        {"Type": "bind", "Source": "/root/.ssh", "Destination": "/keys", "RW": False},
    ],
    "EffectiveCaps": ["CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"],
    "HostConfig": {
        "NetworkMode": "host",
        "PidMode": "host",
        "IpcMode": "host",
        "PortBindings": {"8080/tcp": [{"HostIp": "", "HostPort": "8081"}],
                         "9090/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9090"}, {"HostIp": "127.0.0.1", "HostPort": "9091"}]},
        "CapAdd": [],
        "Privileged": True,
        "ReadonlyRootfs": False,
        "SecurityOpt": [],
    },
}


def ids(findings):
    return sorted(f["id"] for f in findings)


def test_hardened_container_has_no_findings():
    assert _posture.container_findings(HARDENED) == []


def test_insecure_container_reports_every_rule():
    found = _posture.container_findings(INSECURE)
    assert ids(found) == sorted([
        "container_privileged", "container_root_user", "container_writable_rootfs", "container_secret_env",
        "container_engine_socket", "container_sensitive_mount", "container_sensitive_mount",
        "container_public_port", "container_no_new_privileges", "container_host_network",
        "container_host_pid", "container_host_ipc", "container_host_userns",
    ])
    by_id = dict((f["id"], f) for f in found)
    assert by_id["container_privileged"]["severity"] == "critical"
    assert by_id["container_engine_socket"]["details"]["source"] == "/run/podman/podman.sock"
    assert by_id["container_secret_env"]["details"]["variables"] == ["API_TOKEN", "DB_PASSWORD", "aws_secret_access_key"]
    assert by_id["container_public_port"]["details"]["ports"] == ["0.0.0.0:8081->8080/tcp", "0.0.0.0:9090->9090/tcp"]
    sensitive = [f for f in found if f["id"] == "container_sensitive_mount"]
    assert [(f["details"]["source"], f["severity"]) for f in sensitive] == [("/etc", "high"), ("/root/.ssh", "medium")]
    for item in found:
        assert item["target"] == "legacy-db"
        assert item["fix"] and "\n" not in item["fix"]


def test_secret_values_never_reach_the_findings():
    found = _posture.container_findings(INSECURE)
    dumped = json.dumps(found)
    assert "DB_PASSWORD" in dumped
    assert SECRET_VALUE not in dumped


def test_capabilities_reported_when_not_privileged():
    info = copy.deepcopy(INSECURE)
    info["HostConfig"]["Privileged"] = False
    found = dict((f["id"], f) for f in _posture.container_findings(info))
    caps = found["container_capabilities"]
    assert caps["severity"] == "high"
    assert caps["details"]["dangerous"] == ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]


def test_harmless_capability_added_is_low():
    info = copy.deepcopy(HARDENED)
    info["HostConfig"]["CapAdd"] = ["NET_BIND_SERVICE"]
    found = _posture.container_findings(info)
    assert [(f["id"], f["severity"], f["details"]["capabilities"]) for f in found] == [
        ("container_capabilities", "low", ["CAP_NET_BIND_SERVICE"])]


@pytest.mark.parametrize("user,expected", [
    ("", True), ("0", True), ("root", True), ("0:0", True), ("root:wheel", True),
    ("10001", False), ("10001:10001", False), ("app", False),
])
def test_root_user_detection(user, expected):
    info = copy.deepcopy(HARDENED)
    info["Config"]["User"] = user
    assert ("container_root_user" in ids(_posture.container_findings(info))) is expected


def test_rootless_owner_lowers_root_severity_and_names_user():
    info = copy.deepcopy(HARDENED)
    info["Config"]["User"] = "root"
    found = _posture.container_findings(info, owner="podsec")
    assert [(f["id"], f["severity"], f["target"]) for f in found] == [
        ("container_root_user", "low", "systemd-web (rootless, user podsec)")]


@pytest.mark.parametrize("opts,flagged", [
    (["no-new-privileges"], False), (["no-new-privileges:true"], False), (["no-new-privileges=true"], False),
    (["label=disable"], True), ([], True), (None, True),
])
def test_no_new_privileges(opts, flagged):
    info = copy.deepcopy(HARDENED)
    info["HostConfig"]["SecurityOpt"] = opts
    assert ("container_no_new_privileges" in ids(_posture.container_findings(info))) is flagged


@pytest.mark.parametrize("name,secret", [
    ("DB_PASSWORD", True), ("MYSQL_ROOT_PASSWORD", True), ("POSTGRES_PASSWD", True), ("GITHUB_TOKEN", True),
    ("API_KEY", True), ("APIKEY", True), ("client_secret", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("PRIVATE_KEY", True), ("REDIS_PASS", True), ("DATABASE_DSN", True), ("LDAP_CREDENTIALS", True),
    ("DB_PASSWORD_FILE", False), ("PATH", False), ("HOME", False), ("PASSENGER_MODE", False),
    ("TOKENIZER_THREADS_FILE", False), ("LOG_LEVEL", False), ("container", False),
])
def test_secret_name_patterns(name, secret):
    assert _posture.is_secret_name(name) is secret


def test_secret_allow_list():
    assert not _posture.is_secret_name("GPG_KEY_TOKEN", allow=("GPG_KEY_TOKEN",))


def test_env_names_drop_values():
    assert _posture.env_names(["A=1", "B=x=y", "C", 5]) == ["A", "B", "C"]


@pytest.mark.parametrize("source,fid", [
    ("/var/run/docker.sock", "container_engine_socket"),
    ("/run/user/1001/podman/podman.sock", "container_rootless_api"),
    ("/run/user/1001/podman", "container_rootless_api"),
    ("/srv/app/docker.sock", "container_engine_socket"),
    ("/run/podman", "container_engine_socket"),
    ("/", "container_sensitive_mount"),
    ("/var/run", "container_sensitive_mount"),
    ("/proc/sys", "container_sensitive_mount"),
    ("/sys/fs/cgroup", "container_sensitive_mount"),
    ("/var/lib/containers/storage", "container_sensitive_mount"),
    ("/etc/", "container_sensitive_mount"),
    ("//etc", "container_sensitive_mount"),
    ("/srv/app", None),
    ("/etc/localtime", None),
    ("/rootfs", None),
])
def test_mount_rules(source, fid):
    info = copy.deepcopy(HARDENED)
    info["Mounts"] = [{"Type": "bind", "Source": source, "Destination": "/x", "RW": True}]
    found = ids(_posture.container_findings(info))
    assert found == ([fid] if fid else [])


def test_named_volume_below_storage_is_not_a_host_mount():
    info = copy.deepcopy(HARDENED)
    info["Mounts"] = [{"Type": "volume", "Source": "/var/lib/containers/storage/volumes/v/_data",
                       "Destination": "/v", "RW": True}]
    assert _posture.container_findings(info) == []


@pytest.mark.parametrize("host_ip,public", [
    ("", True), ("0.0.0.0", True), ("::", True), ("127.0.0.1", False), ("10.231.0.5", True), ("::1", False),
    ("192.168.1.20", True), ("fe80::1", True), ("127.0.0.53", False), ("[::1]", False),
])
def test_public_port(host_ip, public):
    info = copy.deepcopy(HARDENED)
    info["HostConfig"]["PortBindings"] = {"80/tcp": [{"HostIp": host_ip, "HostPort": "8000"}]}
    assert ("container_public_port" in ids(_posture.container_findings(info))) is public


def test_ports_fall_back_to_network_settings():
    info = copy.deepcopy(HARDENED)
    info["HostConfig"]["PortBindings"] = {}
    info["NetworkSettings"]["Ports"] = {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}], "81/tcp": None}
    assert ids(_posture.container_findings(info)) == ["container_public_port"]


def test_parse_inspect():
    assert _posture.parse_inspect("") == []
    assert _posture.parse_inspect(json.dumps([HARDENED]))[0]["Name"] == "systemd-web"
    assert _posture.parse_inspect(json.dumps(HARDENED))[0]["Name"] == "systemd-web"
    with pytest.raises(ValueError):
        _posture.parse_inspect("[1, 2]")
    with pytest.raises(ValueError):
        _posture.parse_inspect("Error: no such container")


# --- host rules -----------------------------------------------------------------------------------

SOCKETS_SHOW = """Id=podman.socket
Triggers=podman.service
Listen=/run/podman/podman.sock (Stream)
ActiveState=active
UnitFileState=enabled

Id=podman-tcp.socket
Triggers=podman.service
Listen=0.0.0.0:2375 (Stream)
Listen=[::1]:2376 (Stream)
ActiveState=active
UnitFileState=enabled

Id=sshd-unix-local.socket
Triggers=
Listen=0.0.0.0:22 (Stream)
ActiveState=active
UnitFileState=static

Id=podman-old.socket
Triggers=podman.service
Listen=[::]:2377 (Stream)
ActiveState=inactive
UnitFileState=disabled

Id=podman-dgram.socket
Triggers=podman.service
Listen=[::]:2378 (Datagram)
ActiveState=active
UnitFileState=enabled
"""

SS_OUT = """LISTEN 0      4096         0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=120,fd=3))
LISTEN 0      4096       127.0.0.1:8080      0.0.0.0:*    users:(("conmon",pid=300,fd=5))
LISTEN 0      4096               *:8888            *:*    users:(("podman",pid=812,fd=7))
LISTEN 0      4096         0.0.0.0:2375      0.0.0.0:*    users:(("systemd",pid=1,fd=50))
"""


def test_tcp_api_from_socket_units_and_ss():
    found = _posture.tcp_api_findings(SOCKETS_SHOW, SS_OUT)
    assert [(f["severity"], f["details"].get("unit"), f["details"]["address"], f["details"]["port"]) for f in found] == [
        ("critical", "podman-tcp.socket", "0.0.0.0", "2375"),
        ("medium", "podman-tcp.socket", "::1", "2376"),
        ("critical", None, "*", "8888"),
    ]


def test_no_tcp_api_on_default_host():
    show = SOCKETS_SHOW.split("\n\n", maxsplit=1)[0]
    assert _posture.tcp_api_findings(show, SS_OUT.splitlines()[0]) == []


@pytest.mark.parametrize("value,expected", [
    ("/run/podman/podman.sock (Stream)", None), ("@abstract (Stream)", None), ("2375 (Stream)", ("", "2375")),
    ("[::]:2375 (Stream)", ("::", "2375")), ("10.0.0.1:2375 (Stream)", ("10.0.0.1", "2375")),
    ("0.0.0.0:53 (Datagram)", None), ("garbage", None),
])
def test_listen_address(value, expected):
    assert _posture._listen_address(value) == expected


@pytest.mark.parametrize("mode,flagged", [(0o140660, False), (0o140600, False), (0o140666, True), (0o140662, True), (None, False)])
def test_socket_mode(mode, flagged):
    assert bool(_posture.socket_mode_findings("/run/podman/podman.sock", mode)) is flagged


DEBIAN_POLICY = """{
    "default": [{"type": "insecureAcceptAnything"}],
    "transports": {"docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}}
}"""

HARDENED_POLICY = json.dumps({
    "default": [{"type": "reject"}],
    "transports": {"docker": {"registry.example.com/app": [
        {"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/etc/pki/containers/app.gpg"}]},
        "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}},
})


def test_trust_policy_rules():
    assert ids(_posture.trust_findings(DEBIAN_POLICY)) == ["host_trust_accept_anything"]
    assert _posture.trust_findings(HARDENED_POLICY) == []
    wide = json.dumps({"default": [{"type": "reject"}],
                       "transports": {"docker": {"": [{"type": "insecureAcceptAnything"}]}}})
    assert ids(_posture.trust_findings(wide)) == ["host_trust_accept_anything"]
    for text in (None, "{not json", '{"default": {"type": "reject"}}'):
        found = _posture.trust_findings(text)
        assert [(f["id"], f["severity"]) for f in found] == [("host_trust_policy_invalid", "critical")]
    user = _posture.trust_findings(DEBIAN_POLICY, "/home/podsec/.config/containers/policy.json", target="user podsec")
    assert user[0]["target"] == "user podsec" and "/home/podsec" in user[0]["message"]


AUDITCTL_L = """-w /usr/bin/podman -p x -k podman
-w /etc/containers -p wa -k containers-config
-a always,exit -F arch=b64 -S all -F dir=/var/lib/containers -F perm=wa -F key=containers-storage
-a always,exit -F path=/run/podman -F perm=war -F key=podman-socket
-a always,exit -F arch=b64 -S execve -F key=exec
"""


def test_parse_auditctl_rules():
    assert _posture.parse_auditctl_rules(AUDITCTL_L) == {
        "/usr/bin/podman": "x", "/etc/containers": "wa", "/var/lib/containers": "wa", "/run/podman": "war"}
    assert _posture.parse_auditctl_rules("No rules\n") == {}


def test_audit_missing_and_present():
    found, available = _posture.audit_findings(0, AUDITCTL_L, "", ["/usr/bin/podman", "/usr/bin/crun", "/etc/containers/"])
    assert available is True
    assert ids(found) == ["host_audit_missing_watches"]
    assert found[0]["details"]["missing"] == ["/usr/bin/crun"]
    found, available = _posture.audit_findings(0, AUDITCTL_L, "", ["/usr/bin/podman", "/var/lib/containers"])
    assert found == [] and available is True


def test_audit_unavailable_in_a_container():
    # What `auditctl -l` printed on a systemd-nspawn test host (no audit outside the initial namespaces).
    found, available = _posture.audit_findings(1, "", "Cannot open netlink audit socket\n", ["/usr/bin/podman"])
    assert available is False
    assert [(f["id"], f["severity"]) for f in found] == [("host_audit_unavailable", "info")]
    assert "Cannot open netlink audit socket" in found[0]["message"]
    found, available = _posture.audit_findings(None, "", "auditctl is not installed", [])
    assert available is False and "auditctl is not installed" in found[0]["message"]


def test_summary_and_sort():
    found = _posture.container_findings(INSECURE) + _posture.trust_findings(DEBIAN_POLICY)
    summary = _posture.summarize(found)
    assert summary["total"] == len(found)
    assert sum(summary["counts"].values()) == len(found)
    assert summary["score"] == 0
    assert _posture.summarize([]) == {"counts": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
                                      "total": 0, "score": 100}
    ordered = _posture.sort_findings(found)
    assert ordered[0]["severity"] == "critical"
    assert [f["severity"] for f in ordered] == sorted((f["severity"] for f in ordered), key=_posture.SEVERITIES.index)


def test_unknown_severity_is_a_bug():
    with pytest.raises(ValueError):
        _posture.finding("x", "urgent", "host", "m", "privileged")


def test_every_rule_has_a_title_and_fix():
    found = (_posture.container_findings(INSECURE) + _posture.trust_findings(DEBIAN_POLICY)
             + _posture.tcp_api_findings(SOCKETS_SHOW, SS_OUT))
    for item in found:
        assert item["title"] == _findings.TITLES[item["id"]]
    assert set(_findings.FIX) >= {"privileged", "trust_default", "audit_missing"}
    with pytest.raises(KeyError):
        _posture.finding("container_new_rule", "low", "host", "m", "privileged")


# --- recorded on a booted test host: each planted weakness, and its controls -----------------------------

with open(os.path.join(os.path.dirname(__file__), "fixtures", "posture_inspect.json")) as _handle:
    RECORDED = json.load(_handle)["containers"]

# The prepare step of molecule/fleet plants the same ones; each container is otherwise read-only, non-root,
# without capabilities and with no-new-privileges.
PLANTED = {
    "weak-seccomp": ("container_seccomp_unconfined", "high"),
    "weak-apparmor": ("container_apparmor_unconfined", "high"),
    "weak-label": ("container_label_disabled", "high"),
    "weak-unmask": ("container_unmasked_paths", "high"),
    "weak-systempaths": ("container_unmasked_paths", "high"),
    "weak-userns": ("container_host_userns", "high"),
    "weak-cgroupns": ("container_host_cgroupns", "medium"),
    "weak-lan": ("container_public_port", "medium"),
    "weak-env": ("container_secret_env", "high"),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_recorded_weakness_is_reported(name):
    rule, severity = PLANTED[name]
    found = [(f["id"], f["severity"]) for f in _posture.container_findings(RECORDED[name])]
    assert (rule, severity) in found
    for item in _posture.container_findings(RECORDED[name]):
        assert item["fix"] and item["bench"]


def test_recorded_states_are_what_podman_printed():
    states = dict((name, info["State"]["Status"]) for name, info in RECORDED.items())
    assert states["weak-created"] == "created" and states["weak-cgroupns"] == "exited"
    assert states["autons"] == "running"


def test_user_namespace_control():
    # --userns=auto, running: podman prints UsernsMode "private"; plain --userns=host prints "".
    assert "container_host_userns" not in ids(_posture.container_findings(RECORDED["autons"]))
    assert "container_host_userns" in ids(_posture.container_findings(RECORDED["hostns"]))
    # Created or stopped, podman prints "" whatever the mode: the command line decides.
    created = copy.deepcopy(RECORDED["weak-apparmor"])
    assert created["HostConfig"]["UsernsMode"] == "" and not created["State"]["Running"]
    created["Config"]["CreateCommand"] = ["podman", "create", "--userns", "auto", "img"]
    assert "container_host_userns" not in ids(_posture.container_findings(created))
    # Rootless: --userns=host is the user's own namespace, nothing to report.
    assert "container_host_userns" not in ids(_posture.container_findings(RECORDED["hostns"], owner="podsec"))


def test_security_option_controls():
    # The same container without the option: no finding (the rule reads the option, not the name).
    for name in ("weak-seccomp", "weak-label", "weak-unmask", "weak-apparmor"):
        info = copy.deepcopy(RECORDED[name])
        info["HostConfig"]["SecurityOpt"] = ["no-new-privileges"]
        assert not {PLANTED[name][0]} & set(ids(_posture.container_findings(info))), name
    assert _posture.security_options(RECORDED["weak-seccomp"]) == {"seccomp": "unconfined", "no-new-privileges": "true"}
    partial = copy.deepcopy(HARDENED)
    partial["HostConfig"]["SecurityOpt"] = ["no-new-privileges", "unmask=/proc/kcore:/proc/keys"]
    found = _posture.container_findings(partial)
    assert ids(found) == ["container_unmasked_paths"]
    assert found[0]["details"]["unmasked"] == "/proc/kcore:/proc/keys"


def test_rootless_confinement_is_a_step_lower():
    found = dict((f["id"], f["severity"]) for f in _posture.container_findings(RECORDED["weak-label"], owner="legacy"))
    assert found["container_label_disabled"] == "medium"


SOCKETS = [
    {"path": "/run/podman/podman.sock", "dev": 25, "ino": 901, "dir_dev": 25, "dir_ino": 900, "uid": 0, "user": "root"},
    {"path": "/run/user/1002/podman/podman.sock", "dev": 40, "ino": 17, "dir_dev": 40, "dir_ino": 16, "uid": 1002,
     "user": "legacy"},
]


@pytest.mark.parametrize("source,fact,expected", [
    # A hard link: another name, the socket's device and inode.
    ("/run/legacy-api", {"resolved": "/run/legacy-api", "dev": 25, "ino": 901},
     ("/run/podman/podman.sock", False, "through the hard link /run/legacy-api")),
    # A symbolic link to the directory, resolved on the host.
    ("/srv/engine", {"resolved": "/run/podman", "dev": 25, "ino": 900},
     ("/run/podman/podman.sock", False, "through the directory /srv/engine (resolves to /run/podman)")),
    # A bind mount of the socket's directory elsewhere: same directory identity, other path.
    ("/mnt/p", {"resolved": "/mnt/p", "dev": 25, "ino": 900},
     ("/run/podman/podman.sock", False, "through the directory /mnt/p")),
    ("/run/user/1002/podman", {"resolved": "/run/user/1002/podman", "dev": 40, "ino": 16},
     ("/run/user/1002/podman/podman.sock", True, "through the directory /run/user/1002/podman")),
    ("/run/user/1002", {"resolved": "/run/user/1002", "dev": 40, "ino": 1},
     ("/run/user/1002/podman/podman.sock", True, "through the directory /run/user/1002")),
    # No socket there yet (the API is socket-activated later): the usual names still count.
    ("/run/user/1003/podman", None, ("/run/user/1003/podman", True, "by its path")),
    ("/var/run/docker.sock", None, ("/var/run/docker.sock", False, "by its path")),
])
def test_engine_socket_mount(source, fact, expected):
    hit = _posture.engine_socket_mount(source, fact, SOCKETS)
    assert (hit["socket"], hit["rootless"], hit["how"]) == expected


@pytest.mark.parametrize("source,fact", [
    ("/srv/app", {"resolved": "/srv/app", "dev": 25, "ino": 5}),
    ("/srv/data", {"resolved": "/srv/data", "dev": 40, "ino": 901}),  # same inode number, other device
    ("/srv/missing", None),
])
def test_engine_socket_mount_controls(source, fact):
    assert _posture.engine_socket_mount(source, fact, SOCKETS) is None


def test_hard_linked_socket_in_a_recorded_container():
    info = RECORDED["weak-hardlink"]
    facts = {"/run/legacy-api": {"resolved": "/run/legacy-api", "dev": 25, "ino": 901}}
    found = [f for f in _posture.container_findings(info, mount_facts=facts, sockets=SOCKETS)
             if f["id"] == "container_engine_socket"]
    assert [f["severity"] for f in found] == ["critical"]
    assert "root on the host" in found[0]["message"]
    # Control: without the host's identities the neutral name alone is not recognised.
    assert "container_engine_socket" not in ids(_posture.container_findings(info))


def test_rootless_api_message_does_not_claim_root():
    info = RECORDED["weak-userapi"]
    facts = {"/run/user/1002/podman": {"resolved": "/run/user/1002/podman", "dev": 40, "ino": 16}}
    found = [f for f in _posture.container_findings(info, mount_facts=facts, sockets=SOCKETS)
             if f["id"] == "container_rootless_api"][0]
    assert found["severity"] == "high" and "legacy" in found["message"]
    assert "root on the host" not in found["message"] and "root engine" not in found["message"]
    rootless = [f for f in _posture.container_findings(RECORDED["legacy-rootless"], owner="legacy", sockets=SOCKETS)
                if f["id"] == "container_rootless_api"]
    assert rootless and "root on the host" not in rootless[0]["message"]


# --- credentials in values -----------------------------------------------------------------------------

@pytest.mark.parametrize("item,reason", [
    ("DATABASE_URL=postgres://app:S3cretPW@db/app", "password in a URL"),
    ("BROKER=amqp://guest:guest@rabbit:5672/", "password in a URL"),
    ("GIT_READ=ghp_Q8vR2mXk7LpT4nYw9ZbC3dF6hJ1sA5eG0uIo", "token-like value"),
    ("UPSTREAM=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "token-like value"),
    ("AWS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "token-like value"),
    ("DB_PASSWORD=x", "secret-looking name"),
])
def test_credentials_by_value(item, reason):
    assert _posture.secret_env([item]) == {item.split("=", 1)[0]: reason}


@pytest.mark.parametrize("item", [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=3f1c0ad2b6e8",
    "URL=https://example.com/a/b?x=1", "PROXY=http://proxy:3128", "USER_AT=mailto:ops@example.com",
    "LANG=C.UTF-8", "NAME=hc-output-control-e26d41", "DB_PASSWORD_FILE=/run/secrets/db", "APP_PORT=8080",
])
def test_ordinary_values_are_not_credentials(item):
    assert _posture.secret_env([item]) == {}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"\A[A-Z][A-Z0-9_]{0,15}\Z"), st.text(min_size=1, max_size=60)), max_size=6))
def test_values_never_reach_a_finding(pairs):
    info = copy.deepcopy(HARDENED)
    marker = "Zq9xWv"  # in no name, title, message or fix
    info["Config"]["Env"] = ["%s=%s%s" % (name, marker, value) for name, value in pairs]
    dumped = json.dumps(_posture.container_findings(info))
    assert marker not in dumped


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=24, max_size=64))
def test_random_tokens_under_neutral_names_are_found(token):
    assume(re.search(r"[A-Za-z]", token) and re.search(r"[0-9]", token) and len(set(token)) >= 10)
    assert _posture.secret_env(["SETTING=" + token]) == {"SETTING": "token-like value"}


# --- socket proxies -----------------------------------------------------------------------------------

PROXY_SOCKETS_SHOW = """Id=legacy-api-proxy.socket
Triggers=legacy-api-proxy.service
Listen=0.0.0.0:2376 (Stream)
ActiveState=active
UnitFileState=enabled

Id=app-proxy.socket
Triggers=app-proxy.service
Listen=0.0.0.0:8443 (Stream)
ActiveState=active
UnitFileState=enabled
"""

# `systemctl show -p Id -p ExecStart` on the test host for the two services (ExecStart printed first).
_EXEC_START = ("ExecStart={ path=/usr/lib/systemd/systemd-socket-proxyd ; argv[]=/usr/lib/systemd/systemd-socket-proxyd "
               "%s ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }")
PROXY_SERVICES_SHOW = "\n".join([
    _EXEC_START % "/run/podman/podman.sock", "Id=legacy-api-proxy.service", "",
    _EXEC_START % "/run/app/app.sock", "Id=app-proxy.service", ""])


def test_socket_proxy_to_the_engine_is_a_tcp_api():
    assert _posture.proxy_services(PROXY_SOCKETS_SHOW) == ["legacy-api-proxy.service", "app-proxy.service"]
    found = _posture.tcp_api_findings(PROXY_SOCKETS_SHOW, "", service_show=PROXY_SERVICES_SHOW)
    assert [(f["severity"], f["details"]["unit"], f["details"]["port"]) for f in found] == [
        ("critical", "legacy-api-proxy.socket", "2376")]
    assert "systemd-socket-proxyd to /run/podman/podman.sock" in found[0]["message"]
    # Control: without the services' command lines the proxy is an ordinary TCP socket.
    assert _posture.tcp_api_findings(PROXY_SOCKETS_SHOW, "") == []


@pytest.mark.parametrize("argv,expected", [
    (["/usr/lib/systemd/systemd-socket-proxyd", "/run/podman/podman.sock"], "/run/podman/podman.sock"),
    (["/usr/lib/systemd/systemd-socket-proxyd", "--exit-idle-time=30", "/run/user/1002/podman/podman.sock"],
     "/run/user/1002/podman/podman.sock"),
    (["/usr/lib/systemd/systemd-socket-proxyd", "/run/legacy-api"], None),
    (["/usr/lib/systemd/systemd-socket-proxyd", "127.0.0.1:8080"], None),
    (["/usr/bin/socat", "/run/podman/podman.sock"], None),
    ([], None),
])
def test_proxied_engine_socket(argv, expected):
    assert _posture.proxied_engine_socket(argv) == expected


def test_proxy_to_a_hard_link_counts_when_it_is_a_known_socket():
    sockets = [{"path": "/run/legacy-api"}]
    assert _posture.proxied_engine_socket(["systemd-socket-proxyd", "/run/legacy-api"], sockets) == "/run/legacy-api"


# --- trust policy as podman parses it ---------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    '{"default": [{"type": "insecureAcceptAnything"}], "defualt": []}',
    '{"default": [{"type": "reject"}], "default": [{"type": "reject"}]}',
    '{"default": [{"type": "signedBy", "keyType": "GPGKeys"}]}',
    '{"default": [{"type": "acceptAnything"}]}',
    '{"transports": {}}',
])
def test_policy_podman_refuses_is_critical(text):
    found = _posture.trust_findings(text, "/home/legacy/.config/containers/policy.json", target="user legacy")
    assert [(f["id"], f["severity"], f["target"]) for f in found] == [
        ("host_trust_policy_invalid", "critical", "user legacy")]
    assert "refused by Podman" in found[0]["message"]


# --- managed containers and opt-outs ----------------------------------------------------------------------

ROLE_UNIT = """# Managed by Ansible
# %s

[Unit]
Description=web

[Container]
Image=localhost/podsec/busybox:latest
User=10001
UserNS=auto
ReadOnly=true
ReadOnlyTmpfs=false
NoNewPrivileges=true
DropCapability=all
Tmpfs=/tmp:rw,noexec,nosuid,nodev,size=64m,mode=1777
PublishPort=127.0.0.1:8080:8080
"""


def test_management_and_opt_outs():
    marker = ROLE_MARKER
    unit = ROLE_UNIT % marker
    assert _posture.quadlet_file_name(HARDENED) == "web.container"
    assert _posture.management(HARDENED, unit, marker) == "podsec.hardening"
    # A Quadlet unit someone else wrote, and a container started by hand.
    assert _posture.management(HARDENED, ROLE_UNIT % "written by hand", marker) == "systemd"
    assert _posture.management(HARDENED, None, marker) == "systemd"
    assert _posture.management(INSECURE, None, marker) == "unmanaged"
    assert _posture.opt_outs(HARDENED, unit) == ["memory: unlimited", "pids_limit: unlimited"]
    full = unit + "Memory=256m\nPidsLimit=256\n"
    assert _posture.opt_outs(HARDENED, full) == []
    loose = full.replace("ReadOnly=true\n", "").replace("PublishPort=127.0.0.1:8080:8080", "PublishPort=0.0.0.0:80:80")
    assert _posture.opt_outs(HARDENED, loose) == ["read_only: false", "publish_on_all_addresses: true"]
    # The header line the collection writes for setuid_root_ok; the same words after the header are no opt-out.
    allowed = "# %s\n%s" % (_quadlet.SETUID_ROOT_OK_NOTE, full)
    assert _posture.opt_outs(HARDENED, allowed) == ["setuid_root_ok: true"]
    assert _posture.opt_outs(HARDENED, full + "# %s\n" % _quadlet.SETUID_ROOT_OK_NOTE) == []
    # Without the collection's unit: the resource limits podman inspect shows.
    assert _posture.opt_outs(RECORDED["weak-seccomp"]) == ["memory: unlimited", "pids_limit: unlimited"]
    finding = _posture.opt_out_finding(HARDENED, "root", ["memory: unlimited"])
    assert (finding["id"], finding["severity"]) == ("container_opt_outs", "info")
    summary = _posture.container_summary(HARDENED, "root", [finding], "podsec.hardening", ["memory: unlimited"])
    assert summary["findings"] == 0 and summary["managed"] == "podsec.hardening" and summary["state"] == "running"


# --- score ------------------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_posture.SEVERITIES), max_size=40))
def test_score_is_100_only_without_findings_above_info(severities):
    found = [_posture.finding("container_privileged", sev, "t", "m", "privileged") for sev in severities]
    summary = _posture.summarize(found)
    assert 0 <= summary["score"] <= 100
    assert (summary["score"] == 100) == all(sev == "info" for sev in severities)


def test_every_rule_id_has_a_title_and_bench_entry_is_known():
    assert set(_findings.BENCH) <= set(_findings.TITLES)


def test_quadlet_paths_are_the_rootful_directories_or_the_users_own():
    info = {"Config": {"Labels": {"PODMAN_SYSTEMD_UNIT": "web.service"}}}
    assert _posture.quadlet_paths(info, "root") == ["/etc/containers/systemd/web.container",
                                                    "/run/containers/systemd/web.container",
                                                    "/usr/share/containers/systemd/web.container"]
    assert _posture.quadlet_paths(info, "alice", "/home/alice") == ["/home/alice/.config/containers/systemd/web.container"]
    assert _posture.quadlet_paths(info, "alice", None) == []
    assert _posture.quadlet_paths({"Config": {}}, "root") == []


def test_the_posture_result_sorts_the_findings_and_counts_them():
    found = [_posture.finding("container_privileged", "low", "b", "m", "privileged"),
             _posture.finding("container_privileged", "high", "a", "m", "privileged")]
    result = _posture.posture(found, [{"name": "x"}], ["root"], True)
    assert [item["severity"] for item in result["findings"]] == ["high", "low"]
    assert (result["containers"], result["checked"], result["audit_available"]) == ([{"name": "x"}], ["root"], True)
    assert result["counts"]["high"] == 1 and result["score"] < 100
