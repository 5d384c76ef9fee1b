# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""What bringing one owner's Quadlet units to the declared state takes, decided from facts (pure functions).

quadlet_container's ``apply`` runs it in the same call that writes the units: the planner here decides which
units to remove (and stop), whether systemd must reload, which services to restart (changed unit or secret)
and which to start (declared started, not running); the module then makes one ``systemctl daemon-reload``,
at most one ``systemctl stop`` and one ``systemctl restart`` for all of them (restart starts a stopped
service), and one ``systemctl show`` that tells which services failed to start. Nothing here runs a command.
"""

from __future__ import annotations

from ansible_collections.podsec.hardening.plugins.module_utils._runas import runtime_dir

# ActiveState values that count as running: activating is a service on its way up (or a restart delay, see
# failed_services).
RUNNING_STATES = ("active", "activating")
# Properties the state query asks for, in this order (systemctl show prints them in its own order).
SHOW_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "Result", "NRestarts")


def service_name(name):
    return "%s.service" % name


def plan_apply(units, managed, started=None, absent=(), prune=False, restart=(), others=None):
    """Decide the whole change of one owner from what the unit writer found.

    ``units``: one dict per declared unit with ``name``, ``changed`` (file written or to be written) and
    ``active_state`` (systemctl is-active before the run, "unknown" when systemd could not say).
    ``managed``: names of the units in the directory that carry this caller's marker (before the run).
    ``started``: names that must run (None: all declared units). ``absent``: names declared absent.
    ``prune``: remove every managed unit that is not declared. ``restart``: names to restart although
    their unit file did not change (a changed secret). ``others``: the network, volume and pod units, a dict
    with ``managed`` (file names carrying the marker, before the run), ``written`` (file names this call
    declares), ``changed`` (any of them written or to be written) and ``absent`` (file names declared absent);
    they are removed like containers and make systemd reload, but restart nothing (their services are
    dependencies the containers' restarts start).

    Returns remove (unit names whose file goes, their services stopped first), remove_files (the other
    units' files that go), reload (bool), restart
    (services whose unit or secret changed, each restarted), start (services declared started that are
    not running) -- restart and start are disjoint and sorted as declared -- and reset (restart and start:
    their failed state and start limit, which systemd must forget first).
    """
    declared = [unit["name"] for unit in units]
    wanted = set(declared if started is None else started)
    if prune:
        remove = [name for name in managed if name not in declared]
    else:
        remove = [name for name in managed if name in set(absent) and name not in declared]
    others = others or {}
    written = set(others.get("written") or ())
    other_remove = [name for name in others.get("managed") or () if name not in written
                    and (prune or name in set(others.get("absent") or ()))]
    changed = set(unit["name"] for unit in units if unit["changed"])
    restart = set(restart)
    to_restart = [name for name in declared if name in wanted and (name in changed or name in restart)]
    to_start = [unit["name"] for unit in units if unit["name"] in wanted and unit["name"] not in to_restart
                and unit.get("active_state") not in RUNNING_STATES]
    return {
        "remove": remove,
        "remove_files": other_remove,
        "reload": bool(changed or remove or other_remove or others.get("changed")),
        "restart": to_restart,
        "start": to_start,
        # systemd refuses a start once the unit hit its start limit ("Start request repeated too quickly") until
        # reset-failed clears it. A unit in a crash loop may be caught between two attempts and look active to
        # the state query before the run, so every service about to be (re)started is reset, not only failed ones.
        "reset": to_restart + to_start,
    }


def restart_argv(plan):
    """The one systemctl invocation (after its binary) that restarts the changed and starts the stopped services.

    ``systemctl restart`` starts a service that is not running, so both lists go into one call; None when
    there is nothing to do.
    """
    services = [service_name(name) for name in plan["restart"] + plan["start"]]
    return ["restart"] + services if services else None


def show_argv(names):
    return ["show", "--property=" + ",".join(SHOW_PROPERTIES)] + [service_name(name) for name in names]


def parse_show(output):
    """``systemctl show -p ...`` of several units: {Id: {property: value}} (blocks separated by blank lines)."""
    states = {}
    block = {}
    for line in (output or "").splitlines() + [""]:
        line = line.strip()
        if not line:
            if block.get("Id"):
                states[block["Id"]] = block
            block = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            block[key] = value
    return states


def failed_services(names, states):
    """The names (in order) whose service did not come up: [(name, why)], why as systemd describes it.

    A service failed when systemd does not know it, when it is failed, inactive or stopping, when it waits
    to be restarted after its process exited (SubState auto-restart) or when it was restarted since the
    restart this run asked for (NRestarts above 0: ``systemctl restart`` resets the counter). A service
    systemd did not report on at all counts as failed too.
    """
    failed = []
    for name in names:
        state = states.get(service_name(name))
        if state is None:
            failed.append((name, "systemd reported no state"))
            continue
        active, sub = state.get("ActiveState", ""), state.get("SubState", "")
        restarts = state.get("NRestarts", "0")
        if (state.get("LoadState") not in (None, "loaded") or active not in RUNNING_STATES or sub == "auto-restart"
                or restarts not in ("", "0")):
            why = "%s (%s), result %s" % (active or "unknown", sub or "unknown", state.get("Result") or "unknown")
            if state.get("LoadState") not in (None, "loaded"):
                why = "unit %s; %s" % (state.get("LoadState"), why)
            if restarts not in ("", "0"):
                why += ", restarted %s times" % restarts
            failed.append((name, why))
    return failed


def failure_message(failures, scope):
    """The task's message for services that failed to start: each one, why, and its last journal lines.

    ``failures``: [{"name", "why", "journal"}]; ``scope``: "system" or "user USER".
    """
    parts = ["%d of the services this task started or restarted did not come up (%s manager):"
             % (len(failures), scope)]
    for failure in failures:
        parts.append("%s: %s. Last journal lines:\n%s" % (
            service_name(failure["name"]), failure["why"], failure["journal"].rstrip() or "(the journal has none)"))
    return "\n".join(parts)


def subid_lines_to_add(texts, missing, start, count):
    """New contents of each subordinate id file in ``missing``: its text with a containers range appended.

    ``texts``: {path: current text}. The line is appended after a newline if the text does not end in one;
    a text that has a containers entry already (reported missing because no user ``containers`` exists) is kept.
    """
    line = "containers:%d:%d\n" % (start, count)
    result = {}
    for path in missing:
        text = texts.get(path) or ""
        if any(existing.startswith("containers:") for existing in text.splitlines()):
            result[path] = text
            continue
        if text and not text.endswith("\n"):
            text += "\n"
        result[path] = text + line
    return result


def declared_images(containers):
    """The images of the declared containers, each once, in declared order: [(image, [container names])].

    ``containers``: one dict per container with ``name`` and ``image``.
    """
    users = {}
    order = []
    for container in containers:
        image = container.get("image")
        if not image:
            continue
        if image not in users:
            users[image] = []
            order.append(image)
        users[image].append(container["name"])
    return [(image, users[image]) for image in order]


def images_to_pull(images, present, newer=False):
    """The images of ``declared_images`` to pull: those not in the owner's storage (``present``: the ones that
    are), or with ``newer`` every one (the registry may have a new digest behind the tag).

    Pulling these before any unit is written makes the trust policy's verdict the task's verdict: a refused image
    fails the task while the installed units are untouched, not the service later at its start.
    """
    present = set(present)
    return [image for image, _names in images if newer or image not in present]


def parse_running(output):
    """``podman ps --format '{{.Names}}\t{{.ImageID}}'``: {container name: the (short) ID of the image it runs}."""
    running = {}
    for line in (output or "").splitlines():
        name, sep, image_id = line.strip().partition("\t")
        if sep and name and image_id.strip():
            running[name] = image_id.strip()
    return running


def image_restarts(images, ids, running):
    """The containers (in declared order) that run another image than the one their reference names now.

    ``images``: ``declared_images``; ``ids``: {image: full image ID in the owner's storage after the pulls};
    ``running``: ``parse_running`` (podman shortens the ID it lists, so a prefix is the same image). A tag that
    moved to a new digest (pulled now, or by hand since) restarts exactly the containers that use it; a container
    that is not running is started by apply anyway.
    """
    restart = []
    for image, names in images:
        current = ids.get(image)
        if not current:
            continue
        for name in names:
            if name in running and not current.startswith(running[name]):
                restart.append(name)
    return restart


def pull_argv(image):
    """``podman`` arguments that pull one image (the caller prefixes the owner's podman); ``--`` ends the options,
    so that a reference starting with a dash cannot be read as one."""
    return ["pull", "--quiet", "--", image]


def pull_failure_message(image, names, scope, error, lingering_enabled_for=None):
    """The task's message when the owner's podman could not pull an image (most often: the trust policy refused it).

    ``scope``: "system" or "user USER", whose storage and policy the pull used; ``error``: podman's own message;
    ``lingering_enabled_for``: the rootless user whose lingering this call enabled for the pull (it stays on).
    """
    message = ("podman could not pull %s for %s (%s scope: its storage and trust policy): %s -- no unit was "
               "installed, removed or restarted" % (image, ", ".join(names), scope, error.strip() or "no error message"))
    if lingering_enabled_for:
        message += "; lingering for %s was enabled for the pull and stays on" % lingering_enabled_for
    return message


def owner_argv(argv, owner, euid, user_prefix):
    """(argv, environment update) that run ``argv`` as the owner of the units (a pwd entry, None for root).

    Root's command runs as it is. A module that runs as the rootless user itself runs it in its own environment
    with the user's runtime directory; a module that runs as root prefixes ``user_prefix`` (_runas.as_user:
    ``runuser -u USER -- env -i`` with the user's whole environment), so nothing of root's session leaks in.
    """
    if owner is None:
        return list(argv), {}
    if euid == owner.pw_uid:
        return list(argv), {"XDG_RUNTIME_DIR": runtime_dir(owner.pw_uid)}
    return list(user_prefix) + list(argv), {}


def plan_image_queries(rootless, lingering, has_runtime_dir, check_mode):
    """Whether to enable lingering before the image queries, and whether to ask the owner's podman at all.

    A rootless owner's podman keeps its state in the user's runtime directory, which the user's systemd instance
    creates: without lingering it is enabled first (apply would enable it anyway). Check mode changes nothing:
    without the runtime directory podman is not asked (it would create its state elsewhere) and every image
    counts as missing, which is what the run would find before its first pull.
    """
    enable_linger = rootless and not lingering and not check_mode
    return {"enable_linger": enable_linger, "ask": not rootless or not check_mode or has_runtime_dir}
