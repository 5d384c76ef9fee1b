# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Regression tests for inputs that turned the hardening against the host (issue 15).

Each attack was reproduced on a booted host before the fix; here each is refused with a message naming the
field, and each refusal has its control: the same specification without the attack renders.
"""

from __future__ import annotations

import pytest

from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    HostPaths,
    QuadletError,
    build_unit,
    check_arguments,
    check_container,
)

BASE = {"name": "web", "image": "localhost/podsec/busybox:latest"}
NEW = (5, 5)


def unit(host=None, **spec):
    return build_unit(dict(BASE, **spec), NEW, host=host)


def refused(fragment, host=None, **spec):
    with pytest.raises(QuadletError) as info:
        unit(host=host, **spec)
    assert fragment in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("spec, fragment", [
    ({"restart": "always\nExecStartPre=/bin/touch /pwned"}, "restart: control character \\x0a"),
    ({"wanted_by": "multi-user.target\n[Service]\nExecStartPre=/bin/sh"}, "wanted_by: control character"),
    ({"secrets": [{"name": "db\nExecStartPre=/bin/sh"}]}, "secrets[0].name: control character"),
    ({"description": "web\rExecStartPre=/bin/sh"}, "description: control character \\x0d"),
    ({"environment": {"A": "x\u2028y"}}, "environment.A: control character \\u2028"),
])
def test_a_line_break_in_any_field_cannot_add_a_key(spec, fragment):
    refused(fragment, **spec)


def test_control_for_line_breaks_the_same_fields_render_without_them():
    text = unit(restart="on-failure", wanted_by="default.target", secrets=[{"name": "db"}], description="web")
    assert "Restart=on-failure\n" in text and "WantedBy=default.target\n" in text


@pytest.mark.parametrize("section, key, fragment", [
    ("Container", " PodmanArgs", "is not a unit-file key"), ("Container", "Unmask ", "is not a unit-file key"),
    ("Container", "SecurityLabelDisable\t", "(key): control character \\x09"),
    ("Service", "ExecStartPre ", "is not a unit-file key"), ("Service", " ExecStart", "is not a unit-file key"),
    ("Container", "Pod man", "is not a unit-file key"),
])
def test_extra_key_names_must_match_the_unit_file_grammar(section, key, fragment):
    refused(fragment, extra_keys={section: {key: "x"}})


@pytest.mark.parametrize("section, key, fragment", [
    ("Container", "PodmanArgs", "use podman_args"),
    ("Container", "Unmask", "is refused"),
    ("Container", "SecurityLabelDisable", "is refused"),
    ("Container", "SecurityLabelType", "is refused"),
    ("Container", "AppArmor", "is refused"),
    ("Container", "SeccompProfile", "use seccomp_profile"),
    ("Container", "Rootfs", "is refused"),
    ("Container", "AddDevice", "is refused"),
    ("Container", "ContainersConfModule", "is refused"),
    ("Container", "GlobalArgs", "global podman arguments"),
    ("Service", "ExecStartPre", "is not a [Service] key"),
    ("Service", "Environment", "is not a [Service] key"),
    ("Service", "EnvironmentFile", "is not a [Service] key"),
    ("Service", "User", "is not a [Service] key"),
    ("Install", "Alias", "is not a [Install] key"),
])
def test_extra_keys_cannot_switch_a_protection_off(section, key, fragment):
    message = refused(fragment, extra_keys={section: {key: "x"}})
    assert message.startswith("extra_keys.%s.%s" % (section, key))


def test_service_environment_cannot_reach_podman_configuration():
    refused("extra_keys.Service.Environment",
            extra_keys={"Service": {"Environment": "CONTAINERS_CONF_OVERRIDE=/tmp/unconfined.conf"}})


def test_seccomp_profile_only_through_its_option():
    refused("seccomp_profile", seccomp_profile="unconfined")
    assert "SeccompProfile=/etc/podsec/seccomp.json\n" in unit(seccomp_profile="/etc/podsec/seccomp.json")


@pytest.mark.parametrize("value, rendered", [
    ("/srv/%t/data", "Volume=/srv/%%t/data:/data"),
    ("/srv/a$HOME", "Volume=/srv/a$$HOME:/data"),
])
def test_specifiers_and_variables_in_volume_sources_are_literal(value, rendered):
    assert rendered + "\n" in unit(volumes=[{"source": value, "target": "/data"}])


def test_a_specifier_cannot_name_the_podman_socket():
    # %t is /run for the system manager: the source would have been /run/podman/podman.sock.
    refused("volumes[0].source: is neither an absolute host path nor a volume name",
            volumes=[{"source": "%t/podman/podman.sock", "target": "/s"}])


def test_percent_in_description_label_and_environment_means_itself():
    text = unit(description="100% %n", environment={"P": "50%"}, extra_keys={"Container": {"Label": "a=%h"}})
    assert "Description=100%% %%n\n" in text
    assert "Environment=P=50%%\n" in text
    assert "Label=a=%%h\n" in text


class Symlinks(HostPaths):
    """A target whose /srv/* paths are symlinks somewhere else."""

    links = {"/srv/root": "/", "/srv/store": "/var/lib/containers/storage", "/srv/etc": "/etc",
             "/srv/sock": "/run/podman/podman.sock", "/srv/app": "/srv/app"}

    def resolve(self, path):
        return self.links.get(path, path)


@pytest.mark.parametrize("source, fragment", [
    ("/srv/root", "/ is a system directory"),
    ("/srv/store", "allow_engine_socket"),
    ("/srv/etc", "/etc is a system directory"),
    ("/srv/sock", "allow_engine_socket"),
    ("/", "/ is a system directory"),
    ("/etc/ssh", "/etc/ssh or below it"),
    ("/proc/1/root", "/proc or below it"),
    ("/run/user/1000/systemd/private", "/run/user or below it"),
    ("/run/user/1000/podman/podman.sock", "allow_engine_socket"),
])
def test_volume_sources_are_judged_as_the_target_resolves_them(source, fragment):
    refused(fragment, host=Symlinks(), volumes=[{"source": source, "target": "/data"}])


def test_control_an_ordinary_directory_still_mounts():
    assert "Volume=/srv/app:/data\n" in unit(host=Symlinks(), volumes=[{"source": "/srv/app", "target": "/data"}])


def test_the_engine_socket_opt_out_never_allows_a_system_directory():
    for source in ("/srv/sock", "/var/lib/containers/storage"):
        assert "Volume=%s:/s\n" % source in unit(host=Symlinks(), allow_engine_socket=True,
                                                 volumes=[{"source": source, "target": "/s"}])
    for source in ("/", "/run", "/srv/root"):
        refused("is a system directory", host=Symlinks(), allow_engine_socket=True,
                volumes=[{"source": source, "target": "/s"}])


def test_rootless_owner_configuration_is_refused():
    class Home(HostPaths):
        home = "/home/podsec"

    refused(".config/containers or below it", host=Home(),
            volumes=[{"source": "/home/podsec/.config/containers/systemd", "target": "/q"}])
    refused("owner's home", host=Home(), volumes=[{"source": "/home/podsec", "target": "/h"}])
    assert "Volume=/home/podsec/data:/d\n" in unit(host=Home(), volumes=[{"source": "/home/podsec/data",
                                                                          "target": "/d"}])


@pytest.mark.parametrize("port", [":8080:80", "[::]:8080:80", "0.0.0.0:8080:80", "192.0.2.1:80:80"])
def test_every_non_loopback_address_needs_the_opt_out(port):
    refused("ports[0]", ports=[port])
    assert "PublishPort=" in unit(ports=[port], publish_on_all_addresses=True)


@pytest.mark.parametrize("port", ["8080:80", "127.0.0.1:8080:80", "[::1]:8080:80/udp", "80", "8000-8001:9000-9001"])
def test_loopback_ports_render(port):
    assert "PublishPort=" in unit(ports=[port])


@pytest.mark.parametrize("port", ["0:80", "70000:80", "8000-8001:9000", "1.2.3:80:80", "80/icmp", "a:b"])
def test_malformed_ports_are_refused(port):
    refused("ports[0]", ports=[port])


def test_an_empty_command_argument_is_refused():
    refused("command[1]: an empty argument", command=["sh", "", "-c", "id"])
    assert 'Exec=sh -c id\n' in unit(command=["sh", "-c", "id"])


@pytest.mark.parametrize("args, fragment", [
    (["--device=/dev/sda"], "--device is refused"),
    (["--rootfs=/"], "--rootfs is refused"),
    (["--pidfile=/etc/shadow"], "--pidfile is refused"),
    (["--log-opt=path=/etc/cron.d/x"], "--log-opt needs a value"),
    (["--group-add=keep-groups"], "--group-add needs a value"),
    (["--pid=ns:/proc/1/ns/pid"], "--pid needs a value"),
    (["--hostname", "x", "evil:latest"], "is not a flag"),
])
def test_podman_args_are_an_allow_list(args, fragment):
    refused(fragment, podman_args=args)


def test_control_allowed_podman_args_render():
    text = unit(podman_args=["--hostname", "web", "--log-opt=max-size=10m", "--stop-timeout=20"])
    assert "PodmanArgs=--hostname web --log-opt=max-size=10m --stop-timeout=20\n" in text


@pytest.mark.parametrize("spec, fragment", [
    ({"network": "ns:/proc/1/ns/net"}, "network:"),
    ({"network": "container:db"}, "network:"),
    ({"userns": "ns:/proc/1/ns/user"}, "userns:"),
])
def test_joining_host_namespaces_by_path_is_refused(spec, fragment):
    refused(fragment, **spec)


def test_unknown_keys_name_the_closest_valid_one():
    message = check_container(dict(BASE, port=["8080:80"]), "containers[web]")
    assert message == "containers[web]: unknown key 'port' (did you mean 'ports'?)"
    message = check_container(dict(BASE, secrets=[{"name": "db", "valeu": "s3cret-canary"}]), "containers[web]")
    assert "unknown key 'valeu'" in message and "s3cret-canary" not in message
    assert check_container(dict(BASE, enviroment={"A": "1"}), "c").endswith("(did you mean 'environment'?)")


def test_the_controller_check_never_shows_an_environment_value():
    canary = "ghp_8fK2mQ9xL4vT7nR1sW6yZ3bC5dE0aH2jU"
    message = check_arguments(dict(BASE, environment={"NEUTRAL": canary}))
    assert message.startswith("web: environment.NEUTRAL: looks like a secret") and canary not in message
    message = check_arguments(dict(BASE, environment={"A": canary + "\x00"}))
    assert "environment.A: control character" in message and canary not in message


def test_the_controller_check_passes_what_the_module_accepts():
    assert check_arguments(dict(BASE, ports=["8080:80"], state="present", rootless_user="podsec")) is None
    assert check_arguments({"containers": [dict(BASE)], "state": "present"}) is None
    assert check_arguments({"containers": [{"name": "web"}], "state": "absent"}) is None
    assert "containers[#0]" in check_arguments({"containers": [{"name": "../x"}], "state": "absent"})
