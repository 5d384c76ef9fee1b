# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils is PRIVATE and should only be used by this collection. Breaking changes can occur any time.

"""Looking inside container images, for container_posture and quadlet_container (issue 20).

Pure parts, unit-tested without a host: which files of an image are worth reporting (``special_file``), the
findings for one image (``image_findings``), the images of a list of containers (``images_of``) and whether a
deployment must be refused (``refusal``).

Host part (``inspect_images``): one ``podman image inspect`` for the configuration (user, ports, volumes,
runlabels), then per image ONE command that mounts the image (``podman image mount``, read-only), walks it
without following symbolic links and unmounts it again, even when the walk fails (``SCAN_SCRIPT``, run by
python3). A rootless owner's podman can only mount inside its user namespace, so for a rootless owner that
command runs under ``podman unshare``; the caller passes the command prefix that runs as the owner (``[]`` for
root, ``_runas.as_user(...)`` for a rootless user).
"""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.podsec.hardening.plugins.module_utils._inputs import escape_control_characters
from ansible_collections.podsec.hardening.plugins.module_utils._findings import ROOT_USERS, container_name, finding
from ansible_collections.podsec.hardening.plugins.module_utils._runas import USER_CWD

# Labels `podman container runlabel` runs (with the host's privileges, as the label says).
RUNLABELS = ("RUN", "INSTALL", "UNINSTALL")
_LISTED = 20
# How long one image's mount, walk and unmount may take before the scan fails (and the image is refused).
SCAN_SECONDS = 300
# The quadlet_container option (per container) that allows an image with setuid-root files.
ALLOW_OPTION = "setuid_root_ok"

# argv: PODMAN IMAGE. Prints one JSON object: {"files": [[path, mode, uid, gid, has_caps], ...]} or
# {"error": "..."}; "unmount_error" when the unmount failed. Only files with a setuid/setgid bit or a
# security.capability attribute are listed; paths are inside the image ("/usr/bin/su").
SCAN_SCRIPT = r'''
import errno, json, os, signal, stat, subprocess, sys

def stop(signum, frame):
    raise SystemExit(128 + signum)

for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(signum, stop)

def run(argv):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    out, err = proc.communicate()
    return proc.returncode, out.strip(), err.strip()

def fail(error):
    raise error

def walk(root):
    # fwalk with paths relative to each directory's descriptor: an image's path deeper than PATH_MAX cannot hide a
    # file, and any directory or file that cannot be read fails the scan instead of being skipped.
    found = []
    if not os.path.isdir(root):
        raise OSError("the mount point %s is not a directory" % root)
    for directory, dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False, onerror=fail):
        for name in files:
            info = os.lstat(name, dir_fd=dir_fd)
            if not stat.S_ISREG(info.st_mode):
                continue
            try:
                caps = os.getxattr("/proc/self/fd/%d/%s" % (dir_fd, name), "security.capability",
                                   follow_symlinks=False) is not None
            except OSError as error:
                if error.errno not in (errno.ENODATA, errno.ENOTSUP):
                    raise
                caps = False
            if caps or info.st_mode & (stat.S_ISUID | stat.S_ISGID):
                found.append(["/" + os.path.relpath(os.path.join(directory, name), root), info.st_mode,
                              info.st_uid, info.st_gid, caps])
    return found

podman, image = sys.argv[1], sys.argv[2]
result = {}
rc, out, err = run([podman, "image", "mount", image])
if rc != 0 or not out:
    result["error"] = "podman image mount: %s" % (err or out or "rc=%d" % rc)
else:
    try:
        result["files"] = walk(out.splitlines()[-1])
    except Exception as exc:
        result["error"] = "walking the image: %s" % exc
    finally:
        rc, out, err = run([podman, "image", "unmount", image])
        if rc != 0:
            result["unmount_error"] = err or out or "rc=%d" % rc
sys.stdout.write(json.dumps(result) + "\n")
'''


def special_file(path, mode, uid, gid, capabilities=False):
    """What makes a file of an image worth reporting ({path, setuid, setgid, uid, gid, capabilities}), or None.

    ``mode``: st_mode of the file itself (not followed); only regular files count (a link's mode means nothing).
    ``capabilities``: the file carries a ``security.capability`` extended attribute.
    """
    if not stat.S_ISREG(mode):
        return None
    setuid, setgid = bool(mode & stat.S_ISUID), bool(mode & stat.S_ISGID)
    if not (setuid or setgid or capabilities):
        return None
    return {"path": path, "setuid": setuid, "setgid": setgid, "uid": uid, "gid": gid, "capabilities": capabilities,
            "mode": "%04o" % stat.S_IMODE(mode)}


def setuid_root_paths(files):
    """The paths of the setuid-root files among ``special_file`` entries."""
    return [entry["path"] for entry in files if entry["setuid"] and entry["uid"] == 0]


def _listed(paths):
    shown = ", ".join(paths[:_LISTED])
    return shown + (" and %d more" % (len(paths) - _LISTED) if len(paths) > _LISTED else "")


def image_target(image, owner="root"):
    """The finding target of an image: root's images by name, a rootless user's named with the user."""
    return "image %s" % image if owner == "root" else "image %s of user %s" % (image, owner)


def image_findings(image, info, files, containers=(), owner="root"):
    """Findings for one image of ``owner``: ``info`` is its ``podman image inspect`` entry, ``files`` its
    ``special_file`` entries (paths inside the image), ``containers`` the names of the containers that use it."""
    target = image_target(image, owner)
    used = " (used by %s)" % ", ".join(containers) if containers else ""
    if owner != "root":
        image = "%s of user %s" % (image, owner)
    config = (info or {}).get("Config") or {}
    found = []
    root_setuid = setuid_root_paths(files)
    if root_setuid:
        found.append(finding("image_setuid_root", "high", target, "%s%s has setuid-root files: %s"
                             % (image, used, _listed(root_setuid)), "image_setuid", paths=root_setuid))
    others = [entry for entry in files if entry["path"] not in root_setuid]
    if others:
        described = ["%s (%s)" % (entry["path"], ", ".join(
            what for what, flag in (("setuid uid %d" % entry["uid"], entry["setuid"]),
                                    ("setgid gid %d" % entry["gid"], entry["setgid"]),
                                    ("file capabilities", entry["capabilities"])) if flag)) for entry in others]
        found.append(finding("image_special_files", "medium", target, "%s%s has setgid, setuid or capability "
                             "files: %s" % (image, used, _listed(described)), "image_setuid",
                             paths=[entry["path"] for entry in others]))
    user = str(config.get("User") or "")
    if user.split(":", 1)[0] in ROOT_USERS:
        found.append(finding("image_root_user", "medium", target, "%s%s runs as %s unless the container sets a user"
                             % (image, used, "root (no USER)" if not user else "root (USER %s)" % user),
                             "image_root_user", user=user))
    labels = config.get("Labels") or (info or {}).get("Labels") or {}
    runlabels = dict((name, labels[name]) for name in RUNLABELS if labels.get(name))
    if runlabels:
        found.append(finding("image_runlabels", "medium", target, "%s%s: podman container runlabel would run %s"
                             % (image, used, "; ".join("%s: %s" % item for item in sorted(runlabels.items()))),
                             "image_runlabels", labels=runlabels))
    ports = sorted(config.get("ExposedPorts") or {})
    volumes = sorted(config.get("Volumes") or {})
    if ports or volumes:
        found.append(finding("image_declares", "info", target, "%s%s exposes ports %s and declares volumes %s"
                             % (image, used, ", ".join(ports) or "none", ", ".join(volumes) or "none"),
                             "image_contents", ports=ports, volumes=volumes))
    return found


def image_inspect_failed_finding(image, message, owner="root"):
    what = image if owner == "root" else "%s of user %s" % (image, owner)
    return finding("image_inspect_failed", "low", image_target(image, owner), "Could not look inside %s: %s"
                   % (what, message), "inspect_failed")


def report(images, seen, owner="root"):
    """The findings for ``images`` (``images_of``) of ``owner``, from what ``inspect_images`` saw of each."""
    found = []
    for image_id, name, containers in images:
        entry = seen[image_id]
        if entry["error"]:
            found.append(image_inspect_failed_finding(name, entry["error"], owner))
        if entry["info"] is not None:
            found.extend(image_findings(name, entry["info"], entry["files"], containers, owner))
    return found


def images_of(infos):
    """``[(image id, name, [container names])]`` of ``podman container inspect`` entries, by image id."""
    names, users = {}, {}
    for info in infos:
        image_id = info.get("Image")
        if image_id:
            users.setdefault(image_id, []).append(container_name(info))
            names.setdefault(image_id, info.get("ImageName") or image_id[:12])
    return [(image_id, names[image_id], users[image_id]) for image_id in sorted(users)]


def parse_scan(rc, out, err):
    """``(special_file entries, error or None)`` from what ``SCAN_SCRIPT`` printed."""
    try:
        result = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        result = None
    if rc == 124 and not isinstance(result, dict):
        return [], "the scan did not finish within %d seconds" % SCAN_SECONDS
    if not isinstance(result, dict):
        return [], "the scan printed no result (rc=%d): %s" % (rc, (err or out).strip()[-500:] or "no output")
    error = result.get("error")
    if result.get("unmount_error"):
        error = "%s%s" % (error + "; " if error else "", "podman image unmount: %s" % result["unmount_error"])
    files = []
    for item in result.get("files") or []:
        try:
            path, mode, uid, gid, caps = item
            entry = special_file(str(path), int(mode), int(uid), int(gid), bool(caps))
        except (TypeError, ValueError):
            continue
        if entry:
            files.append(entry)
    return sorted(files, key=lambda entry: entry["path"]), error


def refusal(image, containers, files, option=ALLOW_OPTION):
    """The message that refuses to deploy ``image`` for ``containers`` (names) when it has setuid-root files,
    or None. ``files`` are its ``special_file`` entries."""
    paths = setuid_root_paths(files)
    if not paths:
        return None
    return ("image %s (containers %s) has setuid-root files: %s. A setuid-root binary gives whoever runs it in "
            "the container root's privileges as soon as no_new_privileges is off; rebuild the image without the bit "
            "(RUN find / -xdev -perm -4000 -type f -exec chmod u-s {} +), or set %s: true on the container to "
            "deploy it anyway." % (image, ", ".join(containers), _listed(paths), option))


def scan_argv(prefix, podman, python, image, rootless, timeout=None):
    """The one command that mounts ``image``, walks it and unmounts it, run as the owner (``prefix``).

    ``timeout`` (the coreutils binary) stops it after SCAN_SECONDS: a rootless user's storage.conf may name a
    mount program that never returns. Python runs isolated (``-I``): the user's site-packages cannot answer
    for the script."""
    limit = [timeout, "-k", "10", str(SCAN_SECONDS)] if timeout else []
    return (list(prefix) + limit + ([podman, "unshare"] if rootless else [])
            + [python, "-I", "-c", SCAN_SCRIPT, podman, image])


def inspect_each(module, prefix, podman, images, environ=None):
    """``({image: its podman image inspect entry, or None when the owner's storage lacks it}, {image: podman's
    error})`` for ``images``, asked as the owner (``prefix``; ``environ``: the environment update that goes with it).

    One ``podman image inspect`` for all of them; only when one is missing (podman then prints the others, or
    nothing) once more per image, to tell which.
    """
    entries, err = _inspect(module, prefix, podman, images, environ)
    if len(entries) == len(images):
        return dict(zip(images, entries)), {}
    if len(images) == 1:
        return {images[0]: None}, {images[0]: err}
    infos, errors = {}, {}
    for image in images:
        found, err = _inspect(module, prefix, podman, [image], environ)
        infos[image] = found[0] if len(found) == 1 else None
        if infos[image] is None:
            errors[image] = err
    return infos, errors


def inspect_images(module, prefix, podman, images, rootless, known=None):
    """``{image: {"info": inspect entry or None, "files": [...], "error": str or None}}`` for each of ``images``
    (ids or references), looked at as the owner whose command prefix is ``prefix``. Read-only: also in check mode.
    ``known``: ``{image: inspect entry}`` the caller already asked podman for (not asked again).
    """
    known = known or {}
    infos, errors = inspect_each(module, prefix, podman, [image for image in images if image not in known])
    infos.update(known)
    python = module.get_bin_path("python3") or "python3"
    timeout = module.get_bin_path("timeout")
    result = {}
    for image in images:
        info = infos[image]
        if info is None:
            result[image] = {"info": None, "files": [], "error": "podman image inspect: %s"
                             % (errors.get(image, "").strip() or "not found")}
            continue
        rc, out, err = module.run_command(scan_argv(prefix, podman, python, image, rootless, timeout), cwd=USER_CWD)
        files, error = parse_scan(rc, out, err)
        result[image] = {"info": info, "files": files, "error": error}
    return result


def _inspect(module, prefix, podman, images, environ=None):
    """The ``podman image inspect`` entries of ``images`` (in order, one per image when all exist) and stderr."""
    if not images:
        return [], ""
    rc, out, err = module.run_command(list(prefix) + [podman, "image", "inspect"] + list(images),
                                      environ_update=environ, cwd=USER_CWD)
    try:
        entries = [entry for entry in json.loads(out or "[]") if isinstance(entry, dict)]
    except ValueError:
        entries = []
    return entries, err if rc != 0 else ""


def is_rootless(prefix):
    """Whether podman run with ``prefix`` is rootless (a prefix switches user, or this process is not root)."""
    return bool(prefix) or os.geteuid() != 0


def vet(entries, seen, allowed, owner="root"):
    """Add each image's findings to its quadlet_container RV(images) entry (``{image, containers, ...}``) and
    return the message refusing the deployment, or None.

    ``seen``: what ``inspect_images`` saw of the images present (an image not in it, missing in check mode, is
    not judged). ``allowed``: names of the containers with ``setuid_root_ok``. An image is refused when one of
    its containers does not allow it and it has setuid-root files, or could not be looked at (fail closed).
    """
    refusals = []
    for entry in entries:
        if entry["image"] not in seen:
            continue
        found = seen[entry["image"]]
        entry["findings"] = report([(entry["image"], entry["image"], entry["containers"])], seen, owner)
        entry["setuid_root_files"] = setuid_root_paths(found["files"])
        strict = [name for name in entry["containers"] if name not in allowed]
        if strict and found["error"]:
            refusals.append("could not look inside image %s (containers %s) for setuid-root files: %s. Set %s: true on "
                            "the container to deploy it without this check."
                            % (entry["image"], ", ".join(strict), found["error"], ALLOW_OPTION))
        elif strict:
            refusals.append(refusal(entry["image"], strict, found["files"]))
    # The paths and podman's words come from the image and the host: no control character reaches the console.
    return escape_control_characters(" ".join(message for message in refusals if message)) or None


def images_to_vet(entries, running, changed=()):
    """The quadlet_container RV(images) entries to look inside: those with a container that does not run that
    image ID yet, or whose unit changes now (``changed``: container names). ``running``: ``_apply.parse_running``
    (podman lists short IDs). An image all its containers already run, unchanged, was looked at when they were
    deployed, so a re-run that changes nothing mounts no image; a redeploy (``setuid_root_ok`` turned off, which
    changes the unit) looks again."""
    def runs_it(entry, name):
        return bool(running.get(name)) and entry["id"].startswith(running[name]) and name not in changed
    return [entry for entry in entries
            if not entry.get("id") or not all(runs_it(entry, name) for name in entry["containers"])]


def vet_images(module, prefix, owner, podman, entries, containers, known=None):
    """Look inside the images of ``entries`` (quadlet_container RV(images)) that the owner's storage holds, as the
    owner (``prefix``: the command prefix that runs as the owner, ``owner``: its name); ``containers``: the
    containers' parameters; ``known``: the inspect entries the caller already has (``inspect_images``). Read-only,
    so also in check mode. Returns ``vet``'s refusal message or None."""
    present = [entry["image"] for entry in entries if entry.get("id")]
    seen = inspect_images(module, prefix, podman, present, is_rootless(prefix), known) if present else {}
    allowed = [params["name"] for params in containers if params.get(ALLOW_OPTION)]
    return vet(entries, seen, allowed, owner)
