#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hardened_container_apply
short_description: The hardened_container role's whole change of one owner's containers, in one task
version_added: 0.1.0
description:
  - The one step of the C(podsec.hardening.hardened_container) role. Use the role, whose argument spec describes
    and checks each option, which is the role's variable without the C(hardened_container_) prefix (the keys of
    the containers, networks, volumes and pods are checked here, by the plan).
  - The containers are not an option; the action reads the variable C(hardened_container_containers) itself.
    They carry the secret values, and a task's arguments are what callbacks may show (the task banner with
    C(display_args_to_stdout), the C(task_args) of AWX's events).
  - Runs on the controller (an action plugin) and costs one task per host. It checks and plans the containers
    (the P(podsec.hardening.hardened_container_plan#filter) filter) before the host is touched; when a container has a secret value or a
    host-path volume, it reads the host's podman version (refusing a podman without Quadlet before anything
    changes), stores the values through M(podsec.hardening.tmpfs_secret) (run as a C(no_log) step, with that
    module's refusal of a connection without pipelining) and labels the volumes through
    M(podsec.hardening.selinux_volume_label) (private ones with MCS categories of their own, registered under the
    container's name, or C(USER-NAME) for a rootless owner); then M(podsec.hardening.quadlet_container) installs
    the units and brings the services to the declared state, restarting the containers whose secret changed.
  - The result is M(podsec.hardening.quadlet_container)'s (all its return values), plus RV(changed_secrets) and
    RV(selinux_levels). It never carries a secret value. The role registers it as C(__hardened_container_units).
  - Outside the role, C(hardened_container_containers) is taken from wherever Ansible resolves it for this task
    (task, role, host or extra variables); the plan checks it, the role's argument specification does not.
author:
  - podsec.hardening contributors (@podsec)
extends_documentation_fragment:
  - podsec.hardening.attributes
  - podsec.hardening.attributes.ALL
options:
  networks:
    description: The role's C(hardened_container_networks).
    type: raw
    default: []
  volumes:
    description: The role's C(hardened_container_volumes).
    type: raw
    default: []
  pods:
    description: The role's C(hardened_container_pods).
    type: raw
    default: []
  user:
    description: The role's C(hardened_container_user).
    type: str
    default: root
  prune:
    description: The role's C(hardened_container_prune).
    type: bool
    default: false
  managed_header:
    description: The role's C(hardened_container_managed_header).
    type: str
    default: Ansible managed
  subid_start:
    description: The role's C(hardened_container_subid_start).
    type: int
    default: 2147483647
  subid_count:
    description: The role's C(hardened_container_subid_count).
    type: int
    default: 2147483648
  user_manager_timeout:
    description: The role's C(hardened_container_user_manager_timeout).
    type: int
    default: 30
  start_settle:
    description: The role's C(hardened_container_start_settle).
    type: float
    default: 0.5
  pull:
    description: The role's C(hardened_container_pull).
    type: str
    choices: [missing, newer]
    default: missing
  selinux_when_disabled:
    description: The role's C(hardened_container_selinux_when_disabled).
    type: str
    choices: [record, rules, skip, fail]
    default: record
  secrets_path:
    description: The role's C(hardened_container_secrets_path); default C(/run/podsec-secrets-USER).
    type: str
  secrets_size:
    description: The role's C(hardened_container_secrets_size).
    type: str
    default: 1m
  secrets_on_no_noswap:
    description: The role's C(hardened_container_secrets_on_no_noswap).
    type: str
    choices: [fail, ramfs, allow_swap]
    default: fail
seealso:
  - module: podsec.hardening.quadlet_container
  - module: podsec.hardening.tmpfs_secret
  - module: podsec.hardening.selinux_volume_label
"""

EXAMPLES = r"""
# What the role runs; use the role (include_role with hardened_container_* variables) rather than this task.
- name: Install the Quadlet units and bring the services to the declared state
  podsec.hardening.hardened_container_apply:
    user: root
    pull: missing
  vars:
    hardened_container_containers:
      - name: web
        image: registry.example.com/web:1.4
  register: units
"""

RETURN = r"""
changed_secrets:
  description:
    - Names of the secret files (C(CONTAINER.SECRET)) on the owner's tmpfs that changed; the same task restarts
      their containers (in check mode, would).
  returned: when a container has a secret value
  type: list
  elements: str
  sample: [web.db_password]
selinux_levels:
  description: The MCS level of each container with private host-path volumes, as written into its unit.
  returned: when a container has a host-path volume
  type: dict
  sample: {web: "s0:c123,c456"}
changed_units:
  description: M(podsec.hardening.quadlet_container)'s RV(podsec.hardening.quadlet_container#module:changed_units).
  returned: always
  type: list
  elements: str
  sample: [web.container]
apply:
  description: M(podsec.hardening.quadlet_container)'s RV(podsec.hardening.quadlet_container#module:apply).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import APPLY_OPTIONS, argument_spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(APPLY_OPTIONS),
                           supports_check_mode=True, no_log=True)
    module.fail_json(msg="podsec.hardening.hardened_container_apply runs on the controller, through its action plugin")


if __name__ == "__main__":
    main()
