# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules of the container_posture module, fed with recorded podman / systemd / ss / auditctl output."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils import _posture

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
        "container_host_pid", "container_host_ipc",
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
    ("/run/user/1001/podman/podman.sock", "container_engine_socket"),
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
    ("", True), ("0.0.0.0", True), ("::", True), ("127.0.0.1", False), ("10.231.0.5", False), ("::1", False),
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
    assert ids(_posture.trust_findings(None)) == ["host_trust_policy_invalid"]
    assert ids(_posture.trust_findings("{not json")) == ["host_trust_policy_invalid"]
    assert ids(_posture.trust_findings('{"default": {"type": "reject"}}')) == ["host_trust_policy_invalid"]
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
        assert item["title"] == _posture.TITLES[item["id"]]
    assert set(_posture.FIX) >= {"privileged", "trust_default", "audit_missing"}
    with pytest.raises(KeyError):
        _posture.finding("container_new_rule", "low", "host", "m", "privileged")
