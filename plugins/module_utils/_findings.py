# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""The catalogue of posture findings (ids, titles, fixes, benchmark numbers) and how one is written.

Apart from _posture (container_posture's rules) so that quadlet_container's image vetting (_image_inspect), which
writes findings of its own, does not carry the posture rules and the trust-policy parser into its payload.
"""

from __future__ import annotations

SEVERITIES = ("critical", "high", "medium", "low", "info")

ROOT_USERS = frozenset(("", "0", "root"))

# podman-security-bench (CIS Docker Benchmark numbering) check per rule, where one exists.
BENCH = {
    "container_privileged": "5.4", "container_root_user": "4.1", "container_writable_rootfs": "5.12",
    "container_secret_env": "4.10", "container_engine_socket": "5.31", "container_rootless_api": "5.31",
    "container_sensitive_mount": "5.5", "container_public_port": "5.13", "container_capabilities": "5.3",
    "container_no_new_privileges": "5.25", "container_host_network": "5.9", "container_host_pid": "5.15",
    "container_host_ipc": "5.16", "container_host_uts": "5.20", "container_host_userns": "5.30",
    "container_host_cgroupns": "5.24", "container_seccomp_unconfined": "5.21",
    "container_apparmor_unconfined": "5.1", "container_label_disabled": "5.2", "container_unmasked_paths": "5.5",
    "container_opt_outs": "5.10", "host_podman_tcp_api": "2.6", "host_podman_socket_world": "3.16",
    "host_trust_accept_anything": "4.5", "host_trust_policy_invalid": "4.5", "host_audit_missing_watches": "1.1",
}

FIX = {
    "privileged": "Remove --privileged; deploy it with the podsec.hardening.hardened_container role "
                  "(hardened_container_containers), which never runs privileged containers.",
    "root_user": "Run as a non-root user: set `user:` for the container in hardened_container_containers "
                 "(the role defaults to a non-root user).",
    "writable_rootfs": "Make the root file system read-only: hardened_container_containers entries get ReadOnly=true "
                       "by default; give writable paths as `tmpfs:` or volumes.",
    "secret_env": "Move the values into Podman secrets mounted as files (`secrets:` in hardened_container_containers, "
                  "podsec.hardening.tmpfs_secret); do not pass them as environment variables.",
    "engine_socket": "Do not mount a container engine socket (under any name, link or directory); the "
                     "hardened_container role refuses such volumes unless allow_engine_socket: true.",
    "rootless_api": "Do not mount a user's Podman API directory (/run/user/UID/podman) into a container; remove the "
                    "volume (the hardened_container role refuses engine sockets unless allow_engine_socket: true).",
    "seccomp": "Remove --security-opt seccomp=unconfined; the hardened_container role keeps the default seccomp "
               "profile (or a stricter one through `extra_keys: {SeccompProfile: PATH}`).",
    "apparmor": "Remove --security-opt apparmor=unconfined so that the container-default AppArmor profile applies "
                "(the hardened_container role never sets it).",
    "label": "Remove --security-opt label=disable so that SELinux separates the container (hardened_container keeps "
             "labelling on; set security_label_level: for a fixed MCS level).",
    "unmask": "Remove --security-opt unmask=... / systempaths=unconfined so that /proc and /sys stay masked and "
              "read-only (the hardened_container role never unmasks them).",
    "userns": "Run the rootful container in its own user namespace: hardened_container's default userns: auto "
              "(remove --userns=host / allow_host_userns: true).",
    "cgroupns": "Remove --cgroupns=host; the container gets its own cgroup namespace (hardened_container default).",
    "opt_outs": "Information only: each listed limit or default was switched off for this container; set the "
                "option back (memory:, pids_limit:, read_only: true in hardened_container_containers) when it "
                "is no longer needed.",
    "sensitive_mount": "Mount only application data directories; replace the host path mount by a named volume or a "
                       "dedicated directory in hardened_container_containers `volumes:`.",
    "public_port": "Publish on 127.0.0.1 (the hardened_container role default) and put a reverse proxy in front, "
                   "or name the address in `ports:` with publish_on_all_addresses: true in hardened_container_containers.",
    "capabilities": "Drop all capabilities (hardened_container role default DropCapability=all) and list only the "
                    "needed ones in `add_capabilities:`.",
    "no_new_privileges": "Set no-new-privileges (hardened_container role default NoNewPrivileges=true).",
    "host_namespace": "Use the container's own namespace; the hardened_container role refuses host network, pid and ipc.",
    "tcp_api": "Remove the TCP listener of the Podman API (ListenStream=HOST:PORT, a systemd-socket-proxyd unit "
               "forwarding to the socket, `podman system service tcp://`); use the unix socket over SSH "
               "(`podman --remote` with ssh://) instead.",
    "socket_mode": "Restore SocketMode=0660 on podman.socket and remove world permissions from the socket.",
    "trust_default": "Apply the podsec.hardening.trust role (trust_* variables: default reject plus an allow-list of "
                     "signed registries; site.yml podsec_enable_trust=true).",
    "trust_invalid": "Rewrite the policy with the podsec.hardening.trust role / podsec.hardening.image_trust module "
                     "(they validate it as Podman does); Podman refuses every pull while the file is invalid.",
    "audit_missing": "Apply the podsec.hardening.audit role (audit_watches; site.yml podsec_enable_audit=true) to load "
                     "and persist the container-stack watches.",
    "audit_unavailable": "Nothing to fix on this host; run kernel audit on the machine that owns the kernel "
                         "(containers in nspawn/LXC cannot load audit rules).",
    "inspect_failed": "Check that podman works on the host (`podman ps`) for this user; the posture is incomplete.",
    "image_setuid": "Rebuild the image without the setuid/setgid bits and file capabilities it does not need "
                    "(`chmod u-s,g-s`, `setcap -r` in the Containerfile); hardened_container's no_new_privileges "
                    "(default) keeps them from raising privileges, so never switch it off for this image.",
    "image_root_user": "Set a non-root USER in the image, or run the container with `user:` (hardened_container "
                       "defaults to uid 10001).",
    "image_runlabels": "Read the label before running `podman container runlabel` (`--display` shows the command); "
                       "deploy the container with hardened_container instead of the image's RUN/INSTALL command.",
    "image_contents": "Information only: what the image declares; publish only the ports and mount only the "
                      "volumes the deployment needs (hardened_container `ports:`, `volumes:`).",
}


TITLES = {
    "container_privileged": "Privileged container",
    "container_root_user": "Runs as root",
    "container_writable_rootfs": "Writable root file system",
    "container_secret_env": "Secret in environment variables",
    "container_engine_socket": "Container engine socket mounted",
    "container_rootless_api": "Rootless Podman API mounted",
    "container_sensitive_mount": "Sensitive host path mounted",
    "container_public_port": "Port published on a non-loopback address",
    "container_seccomp_unconfined": "Seccomp disabled",
    "container_apparmor_unconfined": "AppArmor disabled",
    "container_label_disabled": "SELinux labelling disabled",
    "container_unmasked_paths": "Kernel paths unmasked",
    "container_host_userns": "Host user namespace",
    "container_host_cgroupns": "Host cgroup namespace",
    "container_opt_outs": "Secure defaults switched off",
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
    "image_setuid_root": "Setuid-root file in the image",
    "image_special_files": "Setgid, setuid or capability files in the image",
    "image_root_user": "Image runs as root by default",
    "image_runlabels": "Image carries RUN/INSTALL labels",
    "image_declares": "Image exposes ports or declares volumes",
    "image_inspect_failed": "Image could not be inspected",
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
        "bench": BENCH.get(fid, ""),
    }
    if details:
        result["details"] = details
    return result


def container_name(info):
    return (info.get("Name") or info.get("Id", "")[:12] or "?").lstrip("/")
