# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The hardened_container role's data filters: the plan, its checks, and the only place secret values appear."""

from __future__ import annotations

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.podsec.hardening.plugins.filter.hardened_container import (
    hardened_container_plan,
    secret_values,
    with_levels,
)

CANARY = "canary-5d1e9b7c3a"
IMAGE = "localhost/podsec/busybox:latest"
PATH = "/run/podsec-secrets-root"


def plan(containers, user="root", levels=None):
    return hardened_container_plan(containers, user, PATH, levels)


def test_the_plan_carries_no_secret_value_and_mounts_each_one_from_the_tmpfs():
    containers = [{"name": "web", "image": IMAGE, "user": "10001", "group": "10002",
                   "secrets": [{"name": "db", "value": CANARY}, {"name": "api", "target": "/etc/api"}],
                   "volumes": [{"source": "/srv/web", "target": "/data", "selinux": "shared"}]},
                  {"name": "old", "state": "absent"}]
    result = plan(containers)
    assert CANARY not in json.dumps(result)
    assert result["absent"] == ["old"]
    assert result["present"] == [{"name": "web", "started": True,
                                  "volumes": [{"source": "/srv/web", "target": "/data", "selinux": "shared",
                                               "private": False}]}]
    assert result["secret_mounts"] == [{"container": "web", "secret": "db", "name": "web.db",
                                        "source": PATH + "/web.db", "target": "/run/secrets/db", "idmap": True,
                                        "owner": "10001", "group": "10002", "mode": "0400"}]
    unit = result["units"][0]
    assert unit["secrets"] == [{"name": "api", "target": "/etc/api"}]
    assert unit["secret_files"] == [{"source": PATH + "/web.db", "target": "/run/secrets/db", "idmap": True}]
    assert unit["volumes"] == [{"source": "/srv/web", "target": "/data", "private": False}]
    assert secret_values(containers, result["secret_mounts"]) == [
        {"name": "web.db", "content": CANARY, "owner": "10001", "group": "10002", "mode": "0400", "state": "present"}]


def test_rootless_secret_files_are_the_owners():
    result = plan([{"name": "web", "image": IMAGE, "secrets": [{"name": "db", "value": CANARY, "uid": 0}]}], "podsec")
    mount = result["secret_mounts"][0]
    assert (mount["owner"], mount["group"], mount["mode"], mount["idmap"]) == ("podsec", "podsec", "0444", False)


def test_levels_fill_in_only_where_the_container_sets_none():
    containers = [{"name": "a", "image": IMAGE}, {"name": "b", "image": IMAGE, "security_label_level": "s0:c1,c2"}]
    units = plan(containers, levels={"a": "s0:c5,c6", "b": "s0:c7,c8"})["units"]
    assert [u.get("security_label_level") for u in units] == ["s0:c5,c6", "s0:c1,c2"]


def test_levels_added_after_planning_give_the_units_planning_with_levels_gives():
    """The role plans once, then adds the levels the labelling returned: the same units as planning with them."""
    containers = [{"name": "a", "image": IMAGE, "volumes": [{"source": "/srv/a", "target": "/data"}]},
                  {"name": "b", "image": IMAGE, "security_label_level": "s0:c1,c2"}, {"name": "c", "image": IMAGE}]
    levels = {"a": "s0:c5,c6", "b": "s0:c7,c8"}
    once = plan(containers)
    assert with_levels(once["units"], levels) == plan(containers, levels=levels)["units"]
    assert with_levels(once["units"], {}) == once["units"]
    assert once["started"] == ["a", "b", "c"] and once["host_volumes"] is True
    assert plan([{"name": "c", "image": IMAGE, "started": False}])["started"] == []
    assert plan([{"name": "c", "image": IMAGE}])["host_volumes"] is False


@pytest.mark.parametrize("container, message", [
    ({"name": "web", "image": IMAGE, "port": ["8080:80"]},
     "hardened_container_containers[web]: unknown key 'port' (did you mean 'ports'?)"),
    ({"name": "web", "image": IMAGE, "enviroment": {"A": "1"}}, "(did you mean 'environment'?)"),
    ({"name": "web", "image": IMAGE, "secrets": [{"name": "db", "valeu": CANARY}]},
     "hardened_container_containers[web].secrets[0]: unknown key 'valeu' (did you mean 'value'?)"),
    ({"name": "web", "image": IMAGE, "volumes": [{"source": "/srv", "target": "/d", "selinx": "none"}]},
     "unknown key 'selinx' (did you mean 'selinux'?)"),
    ({"name": "web", "image": IMAGE, "environment": {"NEUTRAL": "ghp_8fK2mQ9xL4vT7nR1sW6yZ3bC5dE0aH2j" + CANARY}},
     "hardened_container_containers[web]: environment.NEUTRAL: looks like a secret"),
    ({"name": "web", "image": IMAGE, "restart": "always\nExecStartPre=/bin/sh"}, "restart: control character"),
    ({"name": "web", "image": IMAGE, "state": "gone"}, "state: must be present or absent"),
    ({"name": "web", "image": IMAGE, "volumes": [{"source": "/srv", "target": "/d", "selinux": "off"}]},
     "volumes[0].selinux: must be private, shared or none"),
    ({"name": "web"}, "image"),
    ({"name": "web", "image": IMAGE, "secrets": ["db"]}, "hardened_container_containers[web]: secrets[0]: must be a dictionary"),
    ({"name": "web", "image": IMAGE, "volumes": {"source": "/srv"}}, "volumes: must be a list"),
    ({"image": IMAGE}, "hardened_container_containers[#0]: name is required"),
])
def test_refusals_name_the_key_never_a_secret(container, message):
    with pytest.raises(AnsibleFilterError) as info:
        plan([container])
    assert message in str(info.value)
    assert CANARY not in str(info.value)


def test_a_name_declared_twice_is_refused():
    with pytest.raises(AnsibleFilterError, match="declared twice"):
        plan([{"name": "web", "image": IMAGE}, {"name": "web", "image": IMAGE}])


def test_absent_containers_need_only_a_name():
    assert plan([{"name": "web", "state": "absent"}])["units"] == []


@pytest.mark.parametrize("name", ["../x\n", "", ".hidden", "a/b", "a b"])
def test_an_absent_container_is_named_like_a_present_one(name):
    # its name goes to the host (what is stopped and removed) and into the module's logged arguments
    with pytest.raises(AnsibleFilterError) as info:
        plan([{"name": name, "state": "absent"}])
    assert "hardened_container_containers[#0]: name: " in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300  # the message does not repeat the raw name


def test_a_message_names_a_unit_by_its_index_when_its_name_is_not_one():
    networks = [{"name": "a\n[Service]\nExecStart=/bin/evil", "internl": True}]
    with pytest.raises(AnsibleFilterError) as info:
        hardened_container_plan([], "root", PATH, networks=networks)
    assert str(info.value).startswith("hardened_container_networks[#0]: ") and "\n" not in str(info.value)


@pytest.mark.parametrize("started", ["false", "no", 0, [], None])
def test_started_is_a_boolean(started):
    # "false" (an AWX survey answer) would be true in the plan's hands: refused, not coerced
    with pytest.raises(AnsibleFilterError, match=r"hardened_container_containers\[web\].started: must be true or false"):
        plan([{"name": "web", "image": IMAGE, "started": started}])


def test_started_false_installs_without_starting():
    # control: a boolean is taken as it is
    result = plan([{"name": "web", "image": IMAGE, "started": False}, {"name": "db", "image": IMAGE, "started": True}])
    assert result["started"] == ["db"]


# ---------------------------------------------------------------- networks, volumes and pods


def test_networks_volumes_and_pods_are_checked_and_handed_on_without_state():
    from ansible_collections.podsec.hardening.plugins.filter.hardened_container import hardened_container_plan as plan_
    result = plan_([{"name": "web", "image": IMAGE, "network": "backend.network"}], "root", PATH,
                   networks=[{"name": "backend"}, {"name": "old", "state": "absent"}], volumes=[{"name": "data"}])
    assert result["other_units"] == {"network_units": [{"name": "backend"}], "volume_units": [{"name": "data"}],
                                     "pod_units": []}
    assert result["other_absent"] == ["old.network"]


@pytest.mark.parametrize("networks, message", [
    ([{"name": "backend", "internl": True}], "hardened_container_networks[backend]: unknown key 'internl' (did you mean 'internal'?)"),
    ([{"name": "backend", "subnet": "10.89.7.1/24"}], "hardened_container_networks[backend]: subnet: is not an IPv4"),
    ([{"name": "backend"}, {"name": "backend"}], "the name is declared twice"),
    ({"name": "backend"}, "hardened_container_networks: must be a list"),
    # an absent unit is named too (its file is what prune and absent remove)
    ([{"state": "absent"}], "hardened_container_networks[#0]: "),
    ([{"name": "../x", "state": "absent"}], "hardened_container_networks[#0]: name: "),
    ([{"name": "old", "state": "absent", "internl": True}], "unknown key 'internl'"),
])
def test_network_refusals_name_the_variable_and_key(networks, message):
    with pytest.raises(AnsibleFilterError) as info:
        hardened_container_plan([], "root", PATH, networks=networks)
    assert message in str(info.value)


def test_ports_on_a_declared_internal_network_are_refused_by_the_role():
    containers = [{"name": "web", "image": IMAGE, "ports": ["8080"], "network": "backend.network"}]
    with pytest.raises(AnsibleFilterError, match=r"hardened_container_containers\[web\]: ports: backend.network is internal"):
        hardened_container_plan(containers, "root", PATH, networks=[{"name": "backend"}])
    assert hardened_container_plan(containers, "root", PATH, networks=[{"name": "backend", "internal": False}])


def test_a_short_image_name_is_refused_on_the_controller_naming_short_name_ok():
    with pytest.raises(AnsibleFilterError) as info:
        plan([{"name": "web", "image": "library/httpd:2.4"}])
    assert "hardened_container_containers[web]: image: is a short name" in str(info.value)
    assert "short_name_ok: true" in str(info.value)
    # Control: the same container with the opt-out is planned and hands the option on to the module.
    unit = plan([{"name": "web", "image": "library/httpd:2.4", "short_name_ok": True}])["units"][0]
    assert unit["image"] == "library/httpd:2.4" and unit["short_name_ok"] is True


def test_two_secrets_that_would_share_a_file_are_refused():
    """a + b.c and a.b + c are both a.b.c on the tmpfs: one container would mount the other's value."""
    first = {"name": "a", "image": IMAGE, "secrets": [{"name": "b.c", "value": CANARY}]}
    second = {"name": "a.b", "image": IMAGE, "secrets": [{"name": "c", "value": "other"}]}
    with pytest.raises(AnsibleFilterError, match=r"secrets\[c\]: its file on the owner's tmpfs, a.b.c, is also that "
                                                 r"of hardened_container_containers\[a\].secrets\[b.c\]"):
        plan([first, second])
    assert len(plan([first, dict(second, name="a-b")])["secret_mounts"]) == 2  # control: no shared file
