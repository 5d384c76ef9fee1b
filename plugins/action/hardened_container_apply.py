# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin for podsec.hardening.hardened_container_apply: the hardened_container role's whole change in one task.

The containers are read from the variable hardened_container_containers, never from the task's arguments (which
callbacks may show), because they carry the secret values.

Every task costs the controller a worker per host, so the role's steps are one task: the containers are
checked and planned on the controller (hardened_container_plan), then, only when they have any, the podman
version is read (no module), the secret values are stored through podsec.hardening.tmpfs_secret's own action plugin (its pipelining, async and
unknown-option refusals; run as a no_log task, so the module logs nothing on the target) and the host-path
volumes are labelled through podsec.hardening.selinux_volume_label; last quadlet_container installs the units
and brings the services to the declared state. The result is quadlet_container's, plus which secret files
changed and the SELinux level of each container with private volumes. It never carries a secret value: from
tmpfs_secret's result only names are taken, and its message and warnings with every value masked.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.podsec.hardening.plugins.filter.hardened_container import (
    hardened_container_plan,
    secret_values,
    with_levels,
)
from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import (
    APPLY_OPTIONS,
    ROLE_MARKER,
    argument_spec,
)
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    QUADLET_MIN_VERSION,
    check_arguments,
    min_quadlet_version_text,
    parse_version,
)

CONTAINERS_VARIABLE = "hardened_container_containers"
TMPFS_SECRET = "podsec.hardening.tmpfs_secret"
SELINUX_VOLUME_LABEL = "podsec.hardening.selinux_volume_label"
QUADLET_CONTAINER = "podsec.hardening.quadlet_container"
# Built once per controller process (the spec is constant); each worker only validates.
_APPLY_VALIDATOR = ArgumentSpecValidator(argument_spec(APPLY_OPTIONS))


def _masked(stored, values):
    """tmpfs_secret's message and warnings with every secret value, and every line of one, masked.

    Its result was hidden whole when it ran as a no_log task of its own; now its message reaches the displayed
    result. It puts no value in a message, and AnsibleModule masks its no_log values; this holds even if
    either misses one (AnsibleModule's masking does not cover each line of a multi-line value)."""
    secrets = set()
    for value in values:
        secrets.add(str(value))
        secrets.update(line for line in str(value).splitlines() if len(line) > 2)
    secrets = sorted((secret for secret in secrets if secret), key=len, reverse=True)

    def mask(text):
        for secret in secrets:
            text = text.replace(secret, "********")
        return text

    if "msg" in stored:
        stored["msg"] = mask(str(stored["msg"]))
    if stored.get("warnings"):
        stored["warnings"] = [mask(str(warning)) for warning in stored["warnings"]]
    return stored


class ActionModule(ActionBase):
    """Plan on the controller, then secrets, volume labels and units, each step only when needed."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        # Not ActionBase.validate_argument_spec: it raises an error that carries the task's arguments; a result
        # whose message names the options is enough.
        validated = _APPLY_VALIDATOR.validate(self._task.args)
        if validated.error_messages:
            result.update(failed=True, changed=False,
                          msg="hardened_container_apply: %s" % "; ".join(validated.error_messages))
            return result
        args = validated.validated_parameters
        user = args["user"]
        rootless = user != "root"
        secrets_path = args["secrets_path"] or "/run/podsec-secrets-%s" % user
        # Read here, not passed as an argument: a task's arguments are what callbacks show (the task banner
        # with display_args_to_stdout, AWX's task_args), and the containers carry the secret values.
        if CONTAINERS_VARIABLE not in task_vars:
            # not an empty list: with prune, no containers would remove every unit the role installed
            result.update(failed=True, changed=False, msg="hardened_container_apply: %s is not defined (the role "
                          "defines it; a task of its own must set it)" % CONTAINERS_VARIABLE)
            return result
        containers = self._templar.resolve_variable_expression(CONTAINERS_VARIABLE)
        try:
            plan = hardened_container_plan(containers, user, secrets_path, networks=args["networks"],
                                           volumes=args["volumes"], pods=args["pods"])
        except AnsibleFilterError as error:
            result.update(failed=True, changed=False, msg=error.message)
            return result

        steps = []  # the results of the steps before quadlet_container, for changed, warnings and diffs
        restart, levels = [], {}
        if plan["secret_mounts"] or plan["host_volumes"]:
            problem = self._podman_problem(task_vars.get("inventory_hostname", "the host"))
            if problem:
                result.update(failed=True, changed=False, msg=problem)
                return result
        if plan["secret_mounts"]:
            values = secret_values(containers, plan["secret_mounts"])
            stored = _masked(self._store_secrets(args, values, rootless, secrets_path, task_vars),
                             [entry["content"] for entry in values])
            steps.append(stored)
            if stored.get("failed"):
                return self._failed(result, stored, steps)
            changed = set(stored.get("changed_secrets") or [])
            restart = sorted(set(mount["container"] for mount in plan["secret_mounts"] if mount["name"] in changed))
            result["changed_secrets"] = sorted(changed)
        if plan["host_volumes"]:
            for labelled in self._label_volumes(args, plan, rootless, task_vars):
                steps.append(labelled)
                if labelled.get("failed"):
                    return self._failed(result, labelled, steps)
                if labelled.get("container") and labelled.get("level"):
                    levels[labelled["container"]] = labelled["level"]
            result["selinux_levels"] = levels

        module_args = dict(
            containers=with_levels(plan["units"], levels),
            network_units=plan["other_units"]["network_units"],
            volume_units=plan["other_units"]["volume_units"],
            pod_units=plan["other_units"]["pod_units"],
            state="present",
            header=[args["managed_header"], ROLE_MARKER],
            managed_marker=ROLE_MARKER,
            apply=dict(started=plan["started"], absent=plan["absent"], absent_files=plan["other_absent"],
                       prune=args["prune"], restart=restart, subid_start=args["subid_start"],
                       subid_count=args["subid_count"], user_manager_timeout=args["user_manager_timeout"],
                       settle=args["start_settle"], pull=args["pull"]),
        )
        if rootless:
            module_args["rootless_user"] = user
        # The plan checked every unit; only the levels the labelling returned are new (from the host).
        problem = check_arguments(module_args) if levels else None
        if problem is not None:
            result.update(failed=True, changed=False, msg=problem)
            return result
        units = self._execute_module(module_name=QUADLET_CONTAINER, module_args=module_args, task_vars=task_vars)
        result.update(units)
        self._merge(result, steps)
        return result

    def _podman_problem(self, host):
        """Why the host's podman cannot run the units (no podman, or one without Quadlet), or None.

        quadlet_container refuses such a podman before it writes anything; the secrets and volume labels come
        first, so the same check precedes them. A shell command, not a module: it costs no Python on the host. Not
        sudoable: Ansible would give a sudoable command a terminal (ssh -tt), a login the host records in wtmp and
        lastlog; any user may read the version.
        """
        found = self._low_level_execute_command("podman --version", sudoable=False)
        version = re.search(r"[0-9]+\.[0-9]+(\.[0-9]+)?", found.get("stdout") or "") if found.get("rc") == 0 else None
        if version is not None and parse_version(version.group(0)) >= QUADLET_MIN_VERSION:
            return None
        return ("podman %s on %s has no Quadlet: podsec.hardening.hardened_container needs podman %s or later; "
                "nothing was changed" % (version.group(0) if version else "not found", host,
                                         min_quadlet_version_text()))

    def _store_secrets(self, args, values, rootless, secrets_path, task_vars):
        """tmpfs_secret through its action plugin, as a no_log task; only names are kept from its result."""
        task = self._task.copy()
        task.no_log = True
        task.args = dict(
            path=secrets_path,
            size=args["secrets_size"],
            on_no_noswap=args["secrets_on_no_noswap"],
            owner=args["user"],
            group=args["user"] if rootless else "root",
            mode="0700",
            secrets=values,
        )
        action = self._shared_loader_obj.action_loader.get(
            TMPFS_SECRET, task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        stored = action.run(task_vars=task_vars)
        # tmpfs_secret's result names files and mounts, never a value; keep only what is needed even so.
        return dict((key, stored[key]) for key in ("failed", "changed", "msg", "changed_secrets", "warnings")
                    if key in stored)

    def _label_volumes(self, args, plan, rootless, task_vars):
        """selinux_volume_label for each container's private volumes (its own MCS categories, registered under
        the container's name) and once for the shared ones; yields each result, with the container's name."""
        for container in plan["present"]:
            private = [volume["source"] for volume in container["volumes"]
                       if volume["selinux"] == "private" and str(volume.get("source") or "").startswith("/")]
            if not private:
                continue
            labelled = self._execute_module(module_name=SELINUX_VOLUME_LABEL, task_vars=task_vars, module_args=dict(
                paths=private, mode="private", create=True, create_mode="0700", create_owner=args["user"],
                owner="%s-%s" % (args["user"], container["name"]) if rootless else container["name"],
                when_disabled=args["selinux_when_disabled"]))
            labelled["container"] = container["name"]
            yield labelled
        shared = []
        for container in plan["present"]:
            for volume in container["volumes"]:
                source = str(volume.get("source") or "")
                if volume["selinux"] == "shared" and source.startswith("/") and source not in shared:
                    shared.append(source)
        if shared:
            yield self._execute_module(module_name=SELINUX_VOLUME_LABEL, task_vars=task_vars, module_args=dict(
                paths=shared, mode="shared", create=True, when_disabled=args["selinux_when_disabled"]))

    @staticmethod
    def _failed(result, failed, steps):
        """The run stops at the step that failed: its message, and what the steps before it changed."""
        result.update(failed=True, msg=failed.get("msg") or "the step failed without a message")
        ActionModule._merge(result, steps)
        return result

    @staticmethod
    def _merge(result, steps):
        """changed when any step changed; the steps' warnings and diffs before the units'."""
        result["changed"] = bool(result.get("changed")) or any(step.get("changed") for step in steps)
        warnings = [warning for step in steps for warning in step.get("warnings") or []]
        if warnings:
            result["warnings"] = warnings + list(result.get("warnings") or [])
        diffs = [step["diff"] for step in steps if step.get("diff")]
        if diffs:
            own = result.get("diff")
            result["diff"] = [diff for item in diffs + ([own] if own else [])
                              for diff in (item if isinstance(item, list) else [item])]
