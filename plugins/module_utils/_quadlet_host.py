# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""quadlet_container on the host: read the facts, execute what the pure planners decided.

The decisions live in pure functions (_quadlet renders and checks a unit, _apply plans the pulls and the
services' changes); this file holds what touches the host: the unit files and the seccomp profile (atomic
writes), the generator's dry run, the commands run as the owner of the units (root, or the rootless user through
_runas.as_user), and the Applier that brings the owner's services to the plan. ``converge`` is the one flow of
both forms of the module: render and compare every unit, validate them together, pull, write, report, apply.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
import time

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.podsec.hardening.plugins.module_utils import _image_inspect
from ansible_collections.podsec.hardening.plugins.module_utils._apply import (
    RUNNING_STATES,
    declared_images,
    failed_services,
    failure_message,
    image_restarts,
    images_to_pull,
    owner_argv,
    parse_running,
    parse_show,
    plan_apply,
    plan_image_queries,
    pull_argv,
    pull_failure_message,
    restart_argv,
    service_name,
    show_argv,
    subid_lines_to_add,
)
from ansible_collections.podsec.hardening.plugins.module_utils._container_schema import (
    CONTAINER_OPTIONS,
    UNIT_KINDS,
    kind_options,
)
from ansible_collections.podsec.hardening.plugins.module_utils._files import read_file_bytes, write_file_atomic
from ansible_collections.podsec.hardening.plugins.module_utils._inputs import escape_control_characters
from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import (
    TIGHTENED_SECCOMP_PATH,
    HostPaths,
    QuadletError,
    build_kind_unit,
    build_unit,
    carries_marker,
    generator_error,
    missing_subid_ranges,
    parse_active_states,
    quadlet_version,
    seccomp_profile_path,
    uses_auto_userns,
)
from ansible_collections.podsec.hardening.plugins.module_utils._runas import USER_CWD, as_user, owner_rights, runtime_dir
from ansible_collections.podsec.hardening.plugins.module_utils._seccomp_profile import profile_text

ROOTFUL_UNIT_DIR = "/etc/containers/systemd"
ROOTLESS_UNIT_DIR = (".config", "containers", "systemd")
SUBID_FILES = ("/etc/subuid", "/etc/subgid")
LINGER_DIR = "/var/lib/systemd/linger"
AUTO_UPDATE_TIMER = "podman-auto-update.timer"
_SPEC_OPTIONS = tuple(CONTAINER_OPTIONS)
# Where this module writes the profile that TIGHTENED_SECCOMP_PATH names in the units (unit tests point it elsewhere).
SECCOMP_PROFILE_FILE = TIGHTENED_SECCOMP_PATH


class OwnerShell(object):
    """Runs podman and systemctl as the owner of the units: root's own commands, or the rootless user's.

    Made before anything is written, so that a caller who cannot run as the owner fails without a change: the
    module must run as root (then through _runas.as_user: ``runuser -u USER -- env -i`` with the user's own
    environment) or as the rootless user itself (its own environment and runtime directory). The prefix is built
    at each call, so a command run after lingering was enabled gets the runtime directory it created.
    """

    def __init__(self, module, owner):
        self.module = module
        self.owner = owner
        self.euid = os.geteuid()
        if owner is not None and self.euid not in (0, owner.pw_uid):
            module.fail_json(msg="report_active_state and apply for rootless_user %s need to run as root or as %s"
                             % (owner.pw_name, owner.pw_name))
        if owner is not None and self.euid != owner.pw_uid:
            as_user(module, owner)  # runuser and env must exist: fail now, not after a write
        self.systemctl_argv = [module.get_bin_path("systemctl", required=True)] + ([] if owner is None else ["--user"])

    def command(self, argv):
        """(argv, environment update) that run ``argv`` as the owner now."""
        user = self.owner is not None and self.euid != self.owner.pw_uid
        return owner_argv(argv, self.owner, self.euid, as_user(self.module, self.owner) if user else [])

    def run(self, argv, **kwargs):
        argv, environ = self.command(argv)
        return self.module.run_command(argv, environ_update=environ, **kwargs)

    def podman(self, args):
        return self.run([self.module.params["podman_executable"]] + args, cwd=USER_CWD)

    def systemctl(self, args):
        return self.run(self.systemctl_argv + args)

    def has_runtime_dir(self):
        """Whether the owner's runtime directory exists (root's always does), where its podman keeps its state."""
        return self.owner is None or os.path.isdir(runtime_dir(self.owner.pw_uid))


def podman_version(module):
    rc, out, err = module.run_command([module.params["podman_executable"], "--version"])
    if rc != 0:
        module.fail_json(msg="cannot run %s --version: %s" % (module.params["podman_executable"], err.strip()))
    try:
        return quadlet_version(out, module.params["podman_executable"])
    except QuadletError as exc:
        module.fail_json(msg=str(exc))


class TargetPaths(HostPaths):
    """Host paths as this host resolves them (symlinks followed), for the volume and secret file checks."""

    def __init__(self, owner):
        self.home = owner.pw_dir if owner else None

    def resolve(self, path):
        return os.path.realpath(path)

    def is_socket(self, path):
        try:
            return stat.S_ISSOCK(os.stat(path).st_mode)
        except (OSError, ValueError):
            return False


def unit_directory_links(owner):
    """The components of a rootless owner's unit directory (below the home) that are not directories of the
    owner's: symbolic links (``ln -s /etc/containers/systemd ~/.config/containers/systemd``) or another user's.
    Refused up front with a clear message; the file operations run with the owner's rights anyway
    (_runas.owner_rights), which also covers a swap after this check."""
    if owner is None:
        return []
    path, wrong = owner.pw_dir, []
    for part in ROOTLESS_UNIT_DIR:
        path = os.path.join(path, part)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            break
        if stat.S_ISLNK(info.st_mode):
            wrong.append("%s is a symbolic link to %s" % (path, os.readlink(path)))
        elif not stat.S_ISDIR(info.st_mode) or info.st_uid != owner.pw_uid:
            wrong.append("%s is not a directory of user %s" % (path, owner.pw_name))
    return wrong


def remove_unit_files(module, owner, paths):
    """Delete the unit files that exist of ``paths``, with the owner's rights; a refusal fails the task."""
    try:
        with owner_rights(owner):
            for path in paths:
                if os.path.lexists(path):
                    os.unlink(path)
    except OSError as exc:
        module.fail_json(msg="cannot remove %s%s: %s" % (
            exc.filename, " as user %s" % owner.pw_name if owner else "", exc.strerror))


def unit_directory(owner):
    """Where the units of ``owner`` (a pwd entry, None for root) live."""
    return os.path.join(owner.pw_dir, *ROOTLESS_UNIT_DIR) if owner else ROOTFUL_UNIT_DIR


class QuadletUnit(object):
    """One unit file: where it lives, what it should contain, and how to put it there.

    ``kind`` is container, network, volume or pod; ``own_network``: a rootful container with published ports
    and no network gets the network NAME.network, which the caller writes (see _quadlet.effective_network()).
    """

    def __init__(self, module, params, owner, kind="container", own_network=False):
        self.module = module
        self.params = params
        self.name = params["name"]
        self.owner = owner
        self.kind = kind
        self.own_network = own_network
        self.file_name = "%s.%s" % (self.name, kind)
        self.path = os.path.join(unit_directory(self.owner), self.file_name)
        self.service_name = "%s.service" % self.name if kind == "container" else "%s-%s.service" % (self.name, kind)

    def render(self, version):
        if self.kind != "container":
            spec = dict((key, self.params.get(key)) for key in kind_options(self.kind))
            return build_kind_unit(self.kind, spec, version, rootless=self.owner is not None,
                                   header=self.params["header"])
        spec = {key: self.params[key] for key in _SPEC_OPTIONS}
        spec["name"] = self.name
        return build_unit(spec, version, rootless=self.owner is not None, header=self.params["header"],
                          host=TargetPaths(self.owner), own_network=self.own_network)

    def ensure_directory(self):
        """Create the unit directory (and for a rootless owner ~/.config/containers), owned by the owner."""
        if self.owner is None:
            os.makedirs(ROOTFUL_UNIT_DIR, mode=0o755, exist_ok=True)
            return
        path = self.owner.pw_dir
        for part in ROOTLESS_UNIT_DIR:
            path = os.path.join(path, part)
            if not os.path.isdir(path):
                os.mkdir(path, 0o700 if part == ".config" else 0o755)

    def write(self, content):
        """Write the unit; in a rootless user's home with the user's rights (see _runas.owner_rights)."""
        try:
            with owner_rights(self.owner):
                self.ensure_directory()
                write_file_atomic(self.module, self.path, to_bytes(content), mode="0644")
        except OSError as exc:
            self.module.fail_json(msg="cannot write %s%s: %s" % (
                self.path, " as user %s" % self.owner.pw_name if self.owner else "", exc))


def uses_tightened_seccomp(params):
    return seccomp_profile_path(params) == TIGHTENED_SECCOMP_PATH


def ensure_seccomp_profile(module, path):
    """Install the tightened profile (0644, the caller's: root) unless it is in place; whether it changed (would)."""
    content = to_bytes(profile_text())
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if (info is not None and stat.S_ISREG(info.st_mode) and info.st_uid in (0, os.geteuid())
            and not info.st_mode & 0o022 and read_file_bytes(path) == content):
        return False
    if module.check_mode:
        return True
    try:
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        root = "root" if os.geteuid() == 0 else None
        write_file_atomic(module, path, content, mode="0644", owner=root, group=root)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot install the seccomp profile %s (%s): run this task as root (become), or set "
                         "tightened_seccomp: false" % (path, exc))
    return True


def read_text(path):
    before_bytes = read_file_bytes(path)
    return (to_text(before_bytes) if before_bytes is not None else ""), before_bytes is not None


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


_KIND_SUFFIXES = ("container",) + tuple(suffix for _o, _v, suffix, _s, _p in UNIT_KINDS)


def unit_files(module, directory):
    """(file name, path) of the regular, visible unit files of every kind this module writes in ``directory``."""
    try:
        return sorted((entry.name, entry.path) for entry in os.scandir(directory)
                      if entry.name.rpartition(".")[2] in _KIND_SUFFIXES and not entry.name.startswith(".")
                      and entry.is_file(follow_symlinks=False))
    except FileNotFoundError:
        return []
    except OSError as exc:
        module.fail_json(msg="cannot list %s: %s" % (directory, exc))


def managed_units(module, directory, marker):
    """File names of the unit files in ``directory`` whose header carries ``marker``."""
    return [name for name, path in unit_files(module, directory) if carries_marker(read_text(path)[0], marker)]


def dry_run_all(module, owner, units, contents):
    """Run the generator once on every unit of this call together (they refer to each other), with the network,
    volume and pod units already installed that this call does not write; return {file name: service text}."""
    generator = module.params["generator"]
    if not os.path.exists(generator):
        module.fail_json(msg="the Quadlet generator %s does not exist; cannot validate the units" % generator)
    workdir = tempfile.mkdtemp(prefix="podsec-quadlet-")
    names = set(unit.file_name for unit in units)
    try:
        # Read with the owner's rights (the user's links lead nowhere root could read), written into root's copy.
        with owner_rights(owner):
            installed = [(name, read_file_bytes(path)) for name, path in unit_files(module, unit_directory(owner))
                         if name not in names and not name.endswith(".container")]
        for name, content in installed:
            if content is not None:
                with open(os.path.join(workdir, name), "wb") as handle:
                    handle.write(content)
        for unit, content in zip(units, contents):
            with open(os.path.join(workdir, unit.file_name), "wb") as handle:
                handle.write(to_bytes(content))
        argv = [generator, "-dryrun"] + (["-user"] if owner else [])
        rc, out, err = module.run_command(argv, environ_update={"QUADLET_UNIT_DIRS": workdir})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    services = {}
    for chunk in ("\n" + out).split("\n---")[1:]:
        header, _sep, body = chunk.partition("---\n")
        services[header.strip()] = body.strip() + "\n"
    missing = [unit.file_name for unit in units if unit.service_name not in services]
    if rc != 0 or missing:
        key, message = generator_error(err)
        named = [unit.file_name for unit in units if '"%s"' % unit.file_name in message] or missing
        module.fail_json(msg="the Quadlet generator rejected %s%s: %s" % (
            ", ".join(named) or "the units", " (key %s)" % key if key else "", message), stderr=err)
    return dict((unit.file_name, services[unit.service_name]) for unit in units)


def active_states(module, services, shell, quiet):
    """One ``systemctl is-active`` for all services; "unknown" for each when systemd does not answer."""
    rc, out, err = shell.systemctl(["is-active"] + services)
    states = parse_active_states(services, out)
    if states is None:
        if not quiet:
            module.warn("systemctl is-active did not answer for each service (rc=%d: %s); every service counts as "
                        "not running" % (rc, err.strip() or "no output"))
        states = dict((service, "unknown") for service in services)
    return states


def converge(module, owner, containers, others, validate_always=False):
    """The one flow of both forms: render and compare every unit, validate all of them together when one changed
    (``validate_always``: also when none did), pull the images (with apply), install the seccomp profile, write or
    remove the units, report, and run the Applier. Returns the list form's result and the (unit, before, after,
    entry) of each unit."""
    present = module.params["state"] == "present"
    units = containers + others
    result = dict(changed=False, rootless=owner is not None, units=[], changed_units=[],
                  other_units=[], changed_other_units=[])
    wrong = unit_directory_links(owner)
    if wrong:
        module.fail_json(msg="refusing to manage the units of user %s: %s; the unit directory must be the user's own "
                         "directories, not links elsewhere" % (owner.pw_name, "; ".join(wrong)))
    version = podman_version(module) if present and units else None
    # Resolved before anything is written, so that a caller who cannot ask systemd fails without a change.
    shell = (OwnerShell(module, owner) if present and (
        containers and module.params["report_active_state"] or module.params["apply"] is not None) else None)
    if module.params["managed_marker"]:
        with owner_rights(owner):
            files = managed_units(module, unit_directory(owner), module.params["managed_marker"])
        result["managed_units"] = [name[:-len(".container")] for name in files if name.endswith(".container")]
        result["managed_unit_files"] = files
    plans = []
    for unit in units:
        with owner_rights(owner):
            before, exists = read_text(unit.path)
        entry = dict(name=unit.name, path=unit.path, service_name=unit.service_name)
        if unit.kind != "container":
            entry.update(kind=unit.kind, file=unit.file_name)
        if present:
            try:
                after = unit.render(version)
            except QuadletError as exc:
                module.fail_json(msg="%s: %s" % (unit.name if unit.kind == "container" else unit.file_name, exc))
            entry["content"] = after
            entry["changed"] = before != after
        else:
            after = ""
            entry["changed"] = exists
        plans.append((unit, before, after, entry))
        result["units" if unit.kind == "container" else "other_units"].append(entry)
    if present and (validate_always or any(entry["changed"] for _u, _b, _a, entry in plans)):
        services = dry_run_all(module, owner, units, [after for _u, _b, after, _e in plans])
        for unit, _before, _after, entry in plans:
            if entry["changed"] or validate_always:
                entry["service"] = services[unit.file_name]
    applier = Applier(module, owner, shell, result) if module.params["apply"] is not None else None
    ask_podman = applier.prepare_owner() if applier and present and containers else False
    # After prepare_owner, which may have enabled it.
    lingering = owner is not None and os.path.exists(os.path.join(LINGER_DIR, owner.pw_name))
    if shell and containers and module.params["report_active_state"]:
        # A rootless user without lingering and without a session has no manager to ask: expected, not a warning.
        no_manager_expected = owner is not None and not lingering
        states = active_states(module, [entry["service_name"] for entry in result["units"]], shell,
                               quiet=no_manager_expected)
        for entry in result["units"]:
            entry["active_state"] = states[entry["service_name"]]
    if applier and present and containers:
        # Every unit is valid: the images come next, before the profile and any unit file.
        applier.pull_images(containers, ask_podman)
    # Every unit is valid: the profile goes in place before any unit that refers to it.
    profile_users = [unit.name for unit in containers if present and uses_tightened_seccomp(unit.params)]
    if profile_users:
        changed = ensure_seccomp_profile(module, SECCOMP_PROFILE_FILE)
        result["seccomp_profile"] = dict(path=TIGHTENED_SECCOMP_PATH, changed=changed)
        result["changed"] = result["changed"] or result["seccomp_profile"]["changed"]
    for unit, before, after, entry in plans:
        if not entry["changed"]:
            continue
        result["changed"] = True
        result["changed_units" if unit.kind == "container" else "changed_other_units"].append(
            unit.name if unit.kind == "container" else unit.file_name)
        if not module.check_mode:
            if present:
                unit.write(after)
            else:
                remove_unit_files(module, owner, [unit.path])
    if result.get("seccomp_profile", {}).get("changed"):
        # Running containers keep the filter they started with: their services must restart.
        result["changed_units"].extend(name for name in profile_users if name not in result["changed_units"])
    if version:
        result["podman_version"] = "%d.%d" % version
    if owner is not None:
        result["rootless_uid"] = owner.pw_uid
        result["linger"] = lingering
    if present and not module.params["rootless_user"] and any(uses_auto_userns(u.params["userns"]) for u in containers):
        result["missing_subid_ranges"] = missing_subid_ranges(dict((path, read_text(path)[0]) for path in SUBID_FILES),
                                                              user_exists=user_exists("containers"))
    if module._diff:
        result["diff"] = [dict(before=before, after=after, before_header=unit.path, after_header=unit.path)
                          for unit, before, after, entry in plans if entry["changed"]]
    if applier:
        applier.auto_update = present and any(unit.params.get("auto_update") for unit in containers)
        applier.run()
    return result, plans


class Applier(object):
    """Brings the owner's services to what _apply.plan_apply decided, in as few commands as it takes.

    Lingering and the subordinate id ranges first, then the removed units (stopped, files deleted), one
    daemon-reload, one ``systemctl restart`` for the changed and the stopped services, and one ``systemctl show``
    after a short settle time; a service that did not come up fails the task with its last journal lines.
    """

    def __init__(self, module, owner, shell, result):
        self.module = module
        self.options = module.params["apply"]
        self.owner = owner
        self.shell = shell
        self.result = result
        # Whether the owner's systemd instance runs without a session (before this run; root's always does).
        self.lingered = owner is None or os.path.exists(os.path.join(LINGER_DIR, owner.pw_name))
        self.lingering = self.lingered
        self.image_restarts = []
        # Whether a container of this call sets auto_update: the owner's podman-auto-update.timer must run.
        self.auto_update = False

    def prepare_owner(self):
        """Whether the owner's podman may be asked about its images; lingering enabled first where it must be.

        A rootless owner's podman needs its runtime directory, which its systemd instance creates: lingering is
        enabled first (apply does it anyway); in check mode without that directory podman is not asked at all (it
        would create its state elsewhere) and every image counts as one to pull (see _apply.plan_image_queries).
        """
        queries = plan_image_queries(self.owner is not None, self.lingering, self.shell.has_runtime_dir(),
                                     self.module.check_mode)
        if queries["enable_linger"]:
            self.enable_linger()
        return queries["ask"]

    def pull_images(self, containers, ask):
        """Pull, as the owner, each image of ``containers`` that its storage lacks; fail naming the image otherwise.

        Runs before any unit file is written: the owner's trust policy refuses an image here, in the task, with
        podman's own message, instead of at the service's start. One ``podman image inspect`` for all images
        (its entries also serve the look inside them); in check mode nothing is pulled and RV(images) says what
        would be. ``ask``: whether the owner's podman may be asked at all (``prepare_owner``); ``units[]`` carry
        their ``active_state`` already.
        """
        module, result = self.module, self.result
        # Built after lingering is enabled: the rootless user's podman gets the runtime directory it created.
        prefix, environ = self.shell.command([])
        podman_executable = module.params["podman_executable"]
        podman = prefix + [podman_executable]
        scope = "system" if self.owner is None else "user %s" % self.owner.pw_name
        images = declared_images([unit.params for unit in containers])
        infos = {}
        if ask and images:
            infos, _errors = _image_inspect.inspect_each(module, prefix, podman_executable,
                                                         [image for image, _names in images], environ)
        ids = dict((image, info.get("Id")) for image, info in infos.items() if info and info.get("Id"))
        before = dict(ids)
        pull = images_to_pull(images, ids, self.options["pull"] == "newer")
        if not module.check_mode:
            for image, names in images:
                if image not in pull:
                    continue
                rc, out, err = module.run_command(podman + pull_argv(image), environ_update=environ, cwd="/")
                if rc != 0:
                    module.fail_json(msg=pull_failure_message(
                        image, names, scope, err or out,
                        lingering_enabled_for=None if self.lingered else self.owner.pw_name), **result)
                ids[image] = (out.strip().splitlines() or [""])[-1]
        # Updated: in check mode, would be (the image is missing); otherwise the pull brought another ID.
        updated = [image for image in pull if (image not in before if module.check_mode
                                               else ids.get(image) != before.get(image))]
        result["images"] = [dict(image=image, containers=names, pulled=image in pull, id=ids.get(image),
                                 updated=image in updated) for image, names in images]
        # What each running container runs, from podman itself: a tag that now names another image restarts it.
        # With none of the declared services active (a first converge) no container of them runs: not asked.
        declared_running = any(entry.get("active_state") in RUNNING_STATES for entry in result["units"])
        rc, out, _err = (module.run_command(podman + ["ps", "--format", "{{.Names}}\t{{.ImageID}}"],
                                            environ_update=environ, cwd="/")
                         if ask and declared_running else (1, "", ""))
        running = parse_running(out) if rc == 0 else {}
        self.image_restarts = image_restarts(images, ids, running)
        # What is inside each image the owner has, as the owner: setuid-root files refuse it unless allowed.
        # The prefix of the owner's commands, as OwnerShell builds it (the one way to run as the owner); an image
        # the pull left as it was is not inspected again.
        unchanged = dict((image, info) for image, info in infos.items() if info and ids.get(image) == info.get("Id"))
        refused = _image_inspect.vet_images(module, prefix, "root" if self.owner is None else self.owner.pw_name,
                                            podman_executable,
                                            _image_inspect.images_to_vet(result["images"], running, [
                                                entry["name"] for entry in result["units"] if entry["changed"]]),
                                            [unit.params for unit in containers], unchanged)
        if refused:
            module.fail_json(msg=refused, **result)
        # The rest of what is inside (allowed setuid-root files, setgid and capability files, root user, runlabels)
        # is the reader's to see: a warning per finding above info, whenever the image is looked at.
        for entry in result["images"]:
            for found in entry.get("findings", []):
                if found["severity"] != "info":
                    # File names and labels are the image author's: escaped, they cannot forge console lines.
                    module.warn(escape_control_characters(found["message"]))
        if any(entry["updated"] for entry in result["images"]):
            result["changed"] = True

    def timer_running(self):
        """Whether the owner's podman-auto-update.timer is enabled and active (two read-only systemctl calls)."""
        _rc, enabled, _err = self.systemctl_run(["is-enabled", AUTO_UPDATE_TIMER], check=False)
        _rc, active, _err = self.systemctl_run(["is-active", AUTO_UPDATE_TIMER], check=False)
        return enabled.strip() == "enabled" and active.strip() == "active"

    def systemctl_run(self, args, check=True):
        rc, out, err = self.shell.systemctl(args)
        if rc != 0 and check:
            self.module.fail_json(msg="systemctl %s failed (rc=%d): %s" % (" ".join(args), rc, err.strip() or out.strip()),
                                  **self.result)
        return rc, out, err

    def run(self):
        options, result = self.options, self.result
        others = dict(managed=[name for name in result.get("managed_unit_files", []) if not name.endswith(".container")],
                      written=[entry["file"] for entry in result["other_units"]],
                      changed=bool(result["changed_other_units"]), absent=options["absent_files"])
        # changed_units also names the containers whose unit is unchanged but whose seccomp profile changed.
        plan = plan_apply(result["units"], result.get("managed_units", []), options["started"], options["absent"],
                          options["prune"], options["restart"] + result["changed_units"] + self.image_restarts, others)
        missing = result.get("missing_subid_ranges") or []
        linger = not self.lingered
        texts = dict((path, read_text(path)[0] or "") for path in missing)
        subid_texts = subid_lines_to_add(texts, missing, options["subid_start"], options["subid_count"])
        done = dict(linger_enabled=linger,
                    subid_ranges_added=[path for path in missing if subid_texts[path] != texts[path]],
                    containers_user_created=bool(missing) and not user_exists("containers"),
                    removed=plan["remove"], removed_files=plan["remove_files"], reloaded=plan["reload"],
                    restarted=plan["restart"], started=plan["start"], failed=[],
                    auto_update_timer_enabled=self.auto_update and not self.timer_running())
        result["apply"] = done
        if done["auto_update_timer_enabled"] or linger or missing or any(
                plan[key] for key in ("remove", "remove_files", "reload", "restart", "start")):
            result["changed"] = True
        for entry in result["units"]:
            entry["action"] = ("restarted" if entry["name"] in plan["restart"]
                               else "started" if entry["name"] in plan["start"] else "none")
        if self.module.check_mode:
            return
        if not self.lingering:
            self.enable_linger()
        if done["containers_user_created"]:
            self.create_containers_user()
        for path in done["subid_ranges_added"]:
            write_file_atomic(self.module, path, to_bytes(subid_texts[path]), mode="0644", owner="root", group="root")
        if plan["remove"]:
            self.systemctl_run(["stop"] + [service_name(name) for name in plan["remove"]])
        remove_unit_files(self.module, self.owner, [
            os.path.join(unit_directory(self.owner), file_name)
            for file_name in ["%s.container" % name for name in plan["remove"]] + plan["remove_files"]])
        if plan["reload"]:
            self.systemctl_run(["daemon-reload"])
        if done["auto_update_timer_enabled"]:
            self.systemctl_run(["enable", "--now", AUTO_UPDATE_TIMER])
        restart = restart_argv(plan)
        if restart is None:
            return
        if plan["reset"]:
            self.systemctl_run(["reset-failed"] + [service_name(name) for name in plan["reset"]], check=False)
        # A service that fails while starting makes systemctl fail; the state query below names it either way.
        self.systemctl_run(restart, check=False)
        time.sleep(options["settle"])
        names = plan["restart"] + plan["start"]
        rc, out, err = self.systemctl_run(show_argv(names), check=False)
        failures = failed_services(names, parse_show(out))
        if not failures:
            return
        for name, why in failures:
            done["failed"].append(dict(name=name, why=why, journal=self.journal(name)))
        scope = "system" if self.owner is None else "user %s" % self.owner.pw_name
        # The unit texts are in the files; the message is what the reader needs.
        for entry in result["units"]:
            entry.pop("content", None)
            entry.pop("service", None)
        self.module.fail_json(msg=failure_message(done["failed"], scope), **result)

    def journal(self, name):
        """The service's last journal lines, read as root from the system or the user's journal."""
        argv = [self.module.get_bin_path("journalctl", required=True), "--no-pager", "-o", "cat",
                "-n", str(self.options["journal_lines"])]
        if self.owner is None:
            argv += ["-u", service_name(name)]
        elif os.geteuid() == 0:
            # --user-unit would match the caller's uid (root's); the user's manager logs about the unit with
            # USER_UNIT=, the service's own processes (podman, conmon) with _SYSTEMD_USER_UNIT=.
            uid = "_UID=%d" % self.owner.pw_uid
            argv += [uid, "_SYSTEMD_USER_UNIT=" + service_name(name), "+", uid, "USER_UNIT=" + service_name(name)]
        else:
            argv += ["--user", "-u", service_name(name)]
        rc, out, err = self.module.run_command(argv)
        return out if rc == 0 else "(journalctl failed: %s)" % err.strip()

    def enable_linger(self):
        self.lingering = True
        rc, out, err = self.module.run_command([self.module.get_bin_path("loginctl", required=True), "enable-linger",
                                                self.owner.pw_name])
        if rc != 0:
            self.module.fail_json(msg="loginctl enable-linger %s failed: %s" % (self.owner.pw_name, err.strip()),
                                  **self.result)
        socket = "/run/user/%d/systemd/private" % self.owner.pw_uid
        deadline = time.monotonic() + self.options["user_manager_timeout"]
        while not os.path.exists(socket):
            if time.monotonic() > deadline:
                self.module.fail_json(msg="the systemd instance of %s did not start within %d s (no %s)"
                                      % (self.owner.pw_name, self.options["user_manager_timeout"], socket), **self.result)
            time.sleep(0.2)

    def create_containers_user(self):
        """libsubid of shadow 4.20 (podman 5.8) finds the containers ranges only for an existing user of that name."""
        rc, out, err = self.module.run_command([
            self.module.get_bin_path("useradd", required=True), "--system", "--no-create-home",
            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "containers"])
        if rc != 0:
            self.module.fail_json(msg="useradd containers failed: %s" % (err.strip() or out.strip()), **self.result)
