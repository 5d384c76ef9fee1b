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


def test_seccomp_profile_only_through_its_option_and_only_from_roots_directories():
    refused("seccomp_profile", seccomp_profile="unconfined")
    # A profile a container could have written through a volume would be the same as unconfined.
    refused("seccomp_profile: /srv/app/allow-all.json is not below /etc/containers", seccomp_profile="/srv/app/allow-all.json")
    refused("/srv/app/p.json is not below", host=Symlinks(), seccomp_profile="/etc/containers/p.json")
    assert "SeccompProfile=/etc/containers/seccomp.d/podsec.json\n" in unit(
        seccomp_profile="/etc/containers/seccomp.d/podsec.json")


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
             "/srv/sock": "/run/podman/podman.sock", "/srv/app": "/srv/app", "/etc/containers/p.json": "/srv/app/p.json"}

    def resolve(self, path):
        return self.links.get(path, path)


@pytest.mark.parametrize("source, fragment", [
    ("/srv/root", "allow_engine_socket"),
    ("/srv/store", "allow_engine_socket"),
    ("/srv/etc", "/etc is not below /srv"),
    ("/srv/sock", "allow_engine_socket"),
    ("/", "allow_engine_socket"),
    ("/etc/ssh", "is not below /srv"),
    ("/etc/cron.hourly", "is not below /srv"),
    ("/lib/systemd/system", "is not below /srv"),
    ("/proc/1/root", "is not below /srv"),
    ("/srv", "is a data directory itself"),
    ("/home/alice", "is a home directory itself"),
    ("/home/alice/.ssh", "a dot file or directory of a home"),
    ("/home/alice/.bashrc", "a dot file or directory of a home"),
    ("/var/lib/systemd/linger", "/var/lib/systemd or below it"),
    ("/run/user/1000/systemd/private", "is not below /srv"),
    ("/run/user/1000/podman/podman.sock", "allow_engine_socket"),
])
def test_volume_sources_are_judged_as_the_target_resolves_them(source, fragment):
    refused(fragment, host=Symlinks(), volumes=[{"source": source, "target": "/data"}])


def test_control_an_ordinary_directory_still_mounts():
    assert "Volume=/srv/app:/data\n" in unit(host=Symlinks(), volumes=[{"source": "/srv/app", "target": "/data"}])


def test_the_engine_socket_opt_out_allows_only_engine_paths():
    for source in ("/srv/sock", "/var/lib/containers/storage", "/run/podman", "/run/user/1001/podman"):
        assert "Volume=%s:/s\n" % source in unit(host=Symlinks(), allow_engine_socket=True,
                                                 volumes=[{"source": source, "target": "/s"}])
    for source in ("/", "/run", "/srv/root", "/run/user/1000"):
        refused("is not below /srv", host=Symlinks(), allow_engine_socket=True,
                volumes=[{"source": source, "target": "/s"}])
    refused("is a data directory itself", allow_engine_socket=True, volumes=[{"source": "/var/lib", "target": "/s"}])


def test_read_only_system_data_only_with_ro():
    refused("is not below /srv", volumes=[{"source": "/etc/ssl/certs", "target": "/etc/ssl/certs"}])
    assert "Volume=/etc/ssl/certs:/etc/ssl/certs:ro\n" in unit(
        volumes=[{"source": "/etc/ssl/certs", "target": "/etc/ssl/certs", "options": ["ro"]}])


@pytest.mark.parametrize("option", ["U", "idmap"])
def test_volume_options_that_hand_host_files_to_the_container_are_refused(option):
    refused("volumes[0].options: %s on a host path" % option,
            volumes=[{"source": "/srv/app", "target": "/d", "options": [option]}])
    assert "Volume=appdata:/d:%s\n" % option in unit(volumes=[{"source": "appdata", "target": "/d", "options": [option]}])


def test_rootless_owner_configuration_is_refused():
    class Home(HostPaths):
        home = "/home/podsec"

    refused("a dot file or directory of a home", host=Home(),
            volumes=[{"source": "/home/podsec/.config/containers/systemd", "target": "/q"}])
    refused("a home directory itself", host=Home(), volumes=[{"source": "/home/podsec", "target": "/h"}])
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


# ------------------------------------------------------------ found by the attacker review of this change


@pytest.mark.parametrize("user", ["00", "0:0", "000:10", "root:root"])
def test_root_in_any_spelling_needs_the_opt_out(user):
    refused("allow_root_user", user=user)


@pytest.mark.parametrize("userns", ["", "private", "keep-id", "host", "keep-id:uid=0"])
def test_user_namespaces_that_map_host_ids_need_the_opt_out(userns):
    refused("allow_host_userns", userns=userns)
    unit(userns=userns, allow_host_userns=True)


@pytest.mark.parametrize("args", [
    ["--annotation=run.oci.seccomp_bpf_data=BgAAAAAA/38="], ["--annotation=run.oci.keep_original_groups=1"],
    ["--label=io.containers.autoupdate=registry"], ["--annotation=RUN.OCI.seccomp_bpf_data=x"],
])
def test_annotations_that_steer_the_runtime_are_refused(args):
    refused("that namespace steers the runtime", podman_args=args)


def test_annotations_in_extra_keys_are_checked_like_podman_args():
    refused("that namespace steers the runtime",
            extra_keys={"Container": {"Annotation": "run.oci.seccomp_bpf_data=BgAAAAAA/38="}})
    assert "Annotation=com.example.team=web\n" in unit(extra_keys={"Container": {"Annotation": "com.example.team=web"}})


@pytest.mark.parametrize("extra", [
    {"LogOpt": "Path=/etc/bash.bashrc"}, {"LogOpt": "PATH=/etc/profile.d/x.sh"}, {"HealthLogDestination": "/etc/cron.hourly"},
])
def test_logs_cannot_be_written_to_a_host_file(extra):
    refused("extra_keys.Container.", extra_keys={"Container": extra})


def test_log_options_in_podman_args_are_an_allow_list():
    refused("--log-opt needs a value", podman_args=["--log-driver=k8s-file", "--log-opt=Path=/etc/profile.d/x.sh"])
    assert "--log-opt=max-size=10m" in unit(podman_args=["--log-opt=max-size=10m"])


@pytest.mark.parametrize("network", ["db.container", "app.pod", "pasta:-T,auto", "pasta:--map-gw", "pasta:-t,8080",
                                     "slirp4netns:allow_host_loopback=true"])
def test_networks_that_reach_other_containers_or_the_hosts_loopback_are_refused(network):
    refused("network:", network=network)


@pytest.mark.parametrize("extra", [
    {"Unit": {"Conflicts": "nftables.service"}}, {"Unit": {"Wants": "debug-shell.service"}},
    {"Unit": {"OnSuccess": "poweroff.target"}}, {"Install": {"RequiredBy": "ssh.service"}},
    {"Install": {"WantedBy": "ssh.service"}},
])
def test_extra_keys_cannot_start_or_stop_host_units(extra):
    refused("extra_keys.", extra_keys=extra)


def test_wanted_by_must_be_a_target():
    refused("wanted_by: is not a target", wanted_by="debug-shell.service")
    assert "WantedBy=default.target\n" in unit(wanted_by="default.target")


@pytest.mark.parametrize("cap", ["SYS_MODULE", "DAC_READ_SEARCH", "CAP_SYS_ADMIN", "sys_ptrace", "BPF"])
def test_capabilities_that_reach_past_the_container_are_refused(cap):
    refused("add_capabilities: CAP_", add_capabilities=[cap])


def test_control_ordinary_capabilities_still_render():
    assert "AddCapability=CAP_NET_BIND_SERVICE\n" in unit(add_capabilities=["NET_BIND_SERVICE"])


def test_unknown_top_level_options_are_refused_on_the_controller():
    # AnsibleModule would echo them, with their values, in the failure's invocation (-vvv).
    message = check_arguments(dict(BASE, environmnt={"DB_PASSWORD": "hunter2-canary"}))
    assert message == "web: unknown key 'environmnt' (did you mean 'environment'?)"


@pytest.mark.parametrize("value", [1, [None], "text"])
def test_a_wrong_type_is_a_message_not_a_traceback(value):
    message = check_arguments(dict(BASE, healthcheck=value))
    assert message.startswith("web: ") and "healthcheck" in message


def test_a_secret_file_path_in_the_environment_is_no_secret():
    # The *_FILE convention names where the secret is; the value is a path, not the credential.
    assert "Environment=POSTGRES_PASSWORD_FILE=/run/secrets/db_password\n" in unit(
        environment={"POSTGRES_PASSWORD_FILE": "/run/secrets/db_password"})
    refused("environment.POSTGRES_PASSWORD: looks like a secret", environment={"POSTGRES_PASSWORD": "/run/x"})
    refused("environment.TOKEN_FILE: looks like a secret", environment={"TOKEN_FILE": "ghp8fK2mQ9xL4vT7nR1sW6yZ3b"})


def test_a_flag_and_its_value_in_one_item_are_explained():
    refused("write a flag and its value as two items or as --cpus=VALUE", podman_args=["--cpus 1"])
    assert "PodmanArgs=--cpus=1\n" in unit(podman_args=["--cpus=1"])


@pytest.mark.parametrize("image", ["busybox", "busybox:1.36", "library/httpd", "podsec/busybox:latest",
                                   "httpd@sha256:" + "a" * 64])
def test_a_short_image_name_is_refused_naming_the_option_that_allows_it(image):
    message = refused("image: is a short name", image=image)
    assert "short_name_ok: true" in message and repr(image)[:40] in message
    # Control: the same name is rendered when the option allows it, and so is every fully qualified form.
    assert "Image=%s\n" % image in unit(image=image, short_name_ok=True)


@pytest.mark.parametrize("image", ["localhost/podsec/busybox:latest", "docker.io/library/busybox:1.36",
                                   "localhost:5000/trusted/sigstore:latest", "quay.io/podman/hello",
                                   "registry:5000/app", "Registry/app"])
def test_fully_qualified_images_need_no_option(image):
    assert "Image=%s\n" % image in unit(image=image)


@pytest.mark.parametrize("image", ["oci-archive:/tmp/x.tar", "docker-archive:/tmp/a.tar", "dir:/home/bob/img",
                                   "docker-daemon:quay.io/x:latest", "docker://busybox", "docker://quay.io/a/b:1"])
@pytest.mark.parametrize("short_name_ok", [False, True])
def test_a_transport_prefix_is_refused_even_with_short_names_allowed(image, short_name_ok):
    # image_registry alone takes "oci-archive:" for a registry host (it holds a colon): found by an attacker review.
    refused("image: is not a registry image reference", image=image, short_name_ok=short_name_ok)
    # Control: the registry form of the same image is rendered.
    assert "Image=quay.io/x:latest\n" in unit(image="quay.io/x:latest", short_name_ok=short_name_ok)
