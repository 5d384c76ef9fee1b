# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""_image_inspect: which files of an image are reported, the findings, the refusal, and the one command that
mounts, walks and unmounts an image (run here against a stand-in podman that records its calls)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.podsec.hardening.plugins.module_utils import _image_inspect

IMAGE_INFO = {"Id": "1" * 64, "Config": {"User": "", "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}},
                                         "Labels": {"RUN": "podman run -it --privileged IMAGE", "other": "x"}}}

# A stand-in for podman: `image mount` prints $FAKE_MOUNT (or fails when it is empty), `image unmount` fails when
# $FAKE_UNMOUNT_RC is set, `image inspect` prints $FAKE_INSPECT; every call is appended to $FAKE_LOG.
FAKE_PODMAN = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1 $2" in
  "image mount") [ -n "$FAKE_MOUNT" ] || { echo "no such image" >&2; exit 125; }; echo "$FAKE_MOUNT" ;;
  "image unmount") [ -z "$FAKE_UNMOUNT_RC" ] || { echo "busy" >&2; exit "$FAKE_UNMOUNT_RC"; }; echo "$3" ;;
  "image inspect") printf '%s\\n' "$FAKE_INSPECT" ;;
  "unshare "*) shift; exec "$@" ;;
esac
"""


class FakePodman(object):
    def __init__(self, path, log):
        self.path, self.log = path, log

    def __str__(self):
        return str(self.path)

    def calls(self):
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def podman(tmp_path, monkeypatch):
    path = tmp_path / "podman"
    path.write_text(FAKE_PODMAN)
    path.chmod(0o755)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_INSPECT", json.dumps([IMAGE_INFO]))
    return FakePodman(path, log)


@pytest.fixture
def image_root(tmp_path):
    """An image tree: setuid-root su, setgid wall, a plain sh, a link to su and a linked directory (not followed)."""
    root = tmp_path / "merged"
    (root / "bin").mkdir(parents=True)
    for name, mode in (("su", 0o4755), ("wall", 0o2755), ("sh", 0o755)):
        (root / "bin" / name).write_text("")
        os.chmod(str(root / "bin" / name), mode)
    os.symlink("su", str(root / "bin" / "link"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "escape").write_text("")
    os.chmod(str(outside / "escape"), 0o4755)
    os.symlink(str(outside), str(root / "lnkdir"))
    return root


def scan(podman, image="img"):
    done = subprocess.run([sys.executable, "-c", _image_inspect.SCAN_SCRIPT, str(podman), image],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return _image_inspect.parse_scan(done.returncode, done.stdout, done.stderr)


# --- the scan command -------------------------------------------------------------------------------------

def test_the_scan_reports_setuid_and_setgid_files_as_paths_in_the_image_and_unmounts(podman, image_root, monkeypatch):
    monkeypatch.setenv("FAKE_MOUNT", str(image_root))
    files, error = scan(podman)
    me = os.stat(str(image_root / "bin" / "su")).st_uid
    assert error is None
    # Links are not followed: neither bin/link nor lnkdir/escape (outside the image) is reported.
    assert [(entry["path"], entry["setuid"], entry["setgid"], entry["uid"]) for entry in files] == [
        ("/bin/su", True, False, me), ("/bin/wall", False, True, me)]
    assert podman.calls() == ["image mount img", "image unmount img"]


def test_the_image_is_unmounted_even_when_the_walk_fails(podman, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MOUNT", str(tmp_path / "not-a-directory"))
    files, error = scan(podman)
    assert files == [] and error.startswith("walking the image: the mount point")
    assert podman.calls() == ["image mount img", "image unmount img"]


def deep_directory(base, levels=20, width=250):
    """A directory below ``base`` whose path is longer than PATH_MAX (4096), made one level at a time."""
    fd = os.open(str(base), os.O_RDONLY | os.O_DIRECTORY)
    names = []
    for level in range(levels):
        name = ("d%d" % level).ljust(width, "x")
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
        names.append(name)
    return fd, "/" + "/".join(names)


def test_a_setuid_file_deeper_than_path_max_is_found(podman, image_root, monkeypatch):
    """A path the kernel refuses as a whole (ENAMETOOLONG) must not hide a setuid-root file from the scan."""
    fd, deep = deep_directory(image_root)
    try:
        os.close(os.open("su", os.O_WRONLY | os.O_CREAT, 0o4755, dir_fd=fd))
        os.chmod("su", 0o4755, dir_fd=fd)
    finally:
        os.close(fd)
    assert len(str(image_root) + deep) > 4096
    monkeypatch.setenv("FAKE_MOUNT", str(image_root))
    files, error = scan(podman)
    assert error is None
    assert deep + "/su" in [entry["path"] for entry in files]
    # Control: a path-based lstat of that file fails, which is what the walk skipped before.
    with pytest.raises(OSError):
        os.lstat(str(image_root) + deep + "/su")


def test_a_scan_that_does_not_finish_is_stopped_and_refuses(podman, monkeypatch, tmp_path):
    """A mount program that never returns (a rootless user's storage.conf may name one) cannot hold the task."""
    slow = tmp_path / "slow-podman"
    slow.write_text("#!/bin/sh\nsleep 60\n")
    slow.chmod(0o755)
    monkeypatch.setattr(_image_inspect, "SCAN_SECONDS", 1)
    argv = _image_inspect.scan_argv([], str(slow), sys.executable, "img", False, "/usr/bin/timeout")
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=False, timeout=30)
    files, error = _image_inspect.parse_scan(done.returncode, done.stdout, done.stderr)
    assert files == [] and error == "the scan did not finish within 1 seconds"
    entry = dict(image="img", containers=["app"], id="1" * 64)
    assert "could not look inside image img" in _image_inspect.vet(
        [entry], {"img": {"info": IMAGE_INFO, "files": files, "error": error}}, allowed=[])


def test_a_failed_mount_is_reported_and_nothing_is_unmounted(podman, monkeypatch):
    monkeypatch.setenv("FAKE_MOUNT", "")
    files, error = scan(podman)
    assert (files, error) == ([], "podman image mount: no such image")
    assert podman.calls() == ["image mount img"]


def test_a_failed_unmount_is_reported_with_the_findings(podman, image_root, monkeypatch):
    monkeypatch.setenv("FAKE_MOUNT", str(image_root))
    monkeypatch.setenv("FAKE_UNMOUNT_RC", "2")
    files, error = scan(podman)
    assert [entry["path"] for entry in files] == ["/bin/su", "/bin/wall"]
    assert error == "podman image unmount: busy"


def test_output_that_is_not_the_scripts_result_is_an_error_not_a_traceback():
    assert _image_inspect.parse_scan(1, "", "python3: not found") == (
        [], "the scan printed no result (rc=1): python3: not found")
    assert _image_inspect.parse_scan(0, "[1, 2]", "")[1].startswith("the scan printed no result")
    assert _image_inspect.parse_scan(0, '{"files": [["/x", "bad"], ["/y", 33261, 0, 0, true]]}', "") == (
        [_image_inspect.special_file("/y", 0o100755, 0, 0, True)], None)


def test_a_rootless_owner_scans_inside_podman_unshare_as_that_user():
    prefix = ["/usr/sbin/runuser", "-u", "alice", "--", "/usr/bin/env", "-i", "HOME=/home/alice"]
    argv = _image_inspect.scan_argv(prefix, "/usr/bin/podman", "/usr/bin/python3", "abc", rootless=True)
    assert argv[:len(prefix)] == prefix
    assert argv[len(prefix):len(prefix) + 5] == ["/usr/bin/podman", "unshare", "/usr/bin/python3", "-I", "-c"]
    assert argv[-2:] == ["/usr/bin/podman", "abc"]
    # Root's podman refuses `unshare`; root runs the same script directly.
    assert _image_inspect.scan_argv([], "/usr/bin/podman", "python3", "abc", rootless=False)[:3] == [
        "python3", "-I", "-c"]
    # Inside a time limit, as the owner: a mount program that never returns cannot hold the task.
    argv = _image_inspect.scan_argv(prefix, "/usr/bin/podman", "python3", "abc", True, "/usr/bin/timeout")
    assert argv[len(prefix):len(prefix) + 4] == ["/usr/bin/timeout", "-k", "10", str(_image_inspect.SCAN_SECONDS)]


class Module(object):
    """Runs commands for real (the stand-in podman), as AnsibleModule.run_command does."""

    def __init__(self):
        self.argvs = []

    def run_command(self, argv, cwd=None, environ_update=None):
        self.argvs.append(argv)
        done = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              check=False)
        return done.returncode, done.stdout, done.stderr

    @staticmethod
    def get_bin_path(name):
        return sys.executable if name == "python3" else None


def test_inspect_images_reads_the_configuration_and_the_files_of_each_image(podman, image_root, monkeypatch):
    monkeypatch.setenv("FAKE_MOUNT", str(image_root))
    module = Module()
    seen = _image_inspect.inspect_images(module, [], str(podman), ["img"], rootless=False)
    assert seen["img"]["info"] == IMAGE_INFO and seen["img"]["error"] is None
    assert _image_inspect.setuid_root_paths(seen["img"]["files"]) == (["/bin/su"] if os.geteuid() == 0 else [])
    assert podman.calls() == ["image inspect img", "image mount img", "image unmount img"]


def test_an_image_podman_does_not_know_is_reported_and_not_mounted(podman, monkeypatch):
    monkeypatch.setenv("FAKE_INSPECT", "[]")
    seen = _image_inspect.inspect_images(Module(), [], str(podman), ["gone"], rootless=False)
    assert seen["gone"]["info"] is None and seen["gone"]["error"].startswith("podman image inspect")
    assert "image mount gone" not in podman.calls()


# --- findings -------------------------------------------------------------------------------------------

def test_an_image_with_a_setuid_root_binary_is_a_high_finding_naming_the_path():
    files = [_image_inspect.special_file("/bin/su", 0o104755, 0, 0),
             _image_inspect.special_file("/usr/bin/wall", 0o102755, 0, 5),
             _image_inspect.special_file("/usr/bin/ping", 0o100755, 0, 0, capabilities=True)]
    findings = _image_inspect.image_findings("r.example/app:1", IMAGE_INFO, files, ["web"])
    found = dict((entry["id"], entry) for entry in findings)
    assert found["image_setuid_root"]["severity"] == "high"
    assert found["image_setuid_root"]["target"] == "image r.example/app:1"
    assert found["image_setuid_root"]["message"] == "r.example/app:1 (used by web) has setuid-root files: /bin/su"
    assert found["image_setuid_root"]["details"]["paths"] == ["/bin/su"]
    assert found["image_special_files"]["message"].endswith(
        "/usr/bin/wall (setgid gid 5), /usr/bin/ping (file capabilities)")
    assert found["image_root_user"]["message"] == "r.example/app:1 (used by web) runs as root (no USER) unless the " \
                                                  "container sets a user"
    assert "RUN: podman run -it --privileged IMAGE" in found["image_runlabels"]["message"]
    assert found["image_declares"]["severity"] == "info"
    assert found["image_declares"]["details"] == {"ports": ["80/tcp"], "volumes": ["/data"]}


def test_a_rootless_users_image_findings_name_the_user():
    files = [_image_inspect.special_file("/bin/su", 0o104755, 0, 0)]
    found = _image_inspect.image_findings("r.example/app:1", {"Config": {"User": "app"}}, files, ["web"], "alice")
    assert [(item["id"], item["target"]) for item in found] == [("image_setuid_root",
                                                                 "image r.example/app:1 of user alice")]
    assert found[0]["message"] == "r.example/app:1 of user alice (used by web) has setuid-root files: /bin/su"
    failed = _image_inspect.image_inspect_failed_finding("r.example/app:1", "boom", "alice")
    assert failed["target"] == "image r.example/app:1 of user alice" and "of user alice: boom" in failed["message"]


def test_control_a_plain_image_with_a_user_and_no_special_files_has_no_finding():
    info = {"Id": "2" * 64, "Config": {"User": "10001", "Labels": {"maintainer": "x"}}}
    files = [_image_inspect.special_file("/bin/busybox", 0o100755, 0, 0),
             _image_inspect.special_file("/bin/sh", 0o120777, 0, 0)]
    assert files == [None, None]
    assert _image_inspect.image_findings("localhost/podsec/busybox:latest", info, []) == []


def test_a_setuid_file_of_another_owner_is_special_but_not_setuid_root():
    entry = _image_inspect.special_file("/opt/tool", 0o104750, 1000, 1000)
    found = _image_inspect.image_findings("r.example/app:1", {"Config": {"User": "app"}}, [entry])
    assert [item["id"] for item in found] == ["image_special_files"]
    assert "/opt/tool (setuid uid 1000)" in found[0]["message"]
    assert _image_inspect.refusal("r.example/app:1", ["web"], [entry]) is None


def test_images_of_groups_containers_by_image_id():
    infos = [{"Name": "a", "Image": "f" * 64, "ImageName": "r.example/x:1"}, {"Name": "b", "Image": "f" * 64},
             {"Name": "c", "Image": "e" * 64}, {"Name": "d"}]
    assert _image_inspect.images_of(infos) == [("e" * 64, "e" * 12, ["c"]), ("f" * 64, "r.example/x:1", ["a", "b"])]


# --- refusal --------------------------------------------------------------------------------------------

def test_the_refusal_names_the_image_the_containers_the_paths_and_the_option():
    files = [_image_inspect.special_file("/usr/local/bin/tool", 0o104755, 0, 0)]
    message = _image_inspect.refusal("localhost/podsec/setuid:latest", ["app"], files)
    assert message.startswith("image localhost/podsec/setuid:latest (containers app) has setuid-root files: "
                              "/usr/local/bin/tool.")
    assert "setuid_root_ok: true" in message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from((stat.S_IFREG, stat.S_IFLNK, stat.S_IFDIR)), st.integers(0, 0o7777),
                          st.integers(0, 3), st.booleans()), max_size=8))
def test_refused_exactly_when_a_regular_file_owned_by_uid_0_has_the_setuid_bit(raw):
    entries = [_image_inspect.special_file("/f%d" % index, kind | perm, uid, 0, caps)
               for index, (kind, perm, uid, caps) in enumerate(raw)]
    files = [entry for entry in entries if entry]
    # Only regular files with a setuid/setgid bit or capabilities are kept at all.
    assert len(files) == sum(1 for kind, perm, _uid, caps in raw
                             if kind == stat.S_IFREG and (perm & 0o6000 or caps))
    expected = ["/f%d" % index for index, (kind, perm, uid, _caps) in enumerate(raw)
                if kind == stat.S_IFREG and perm & 0o4000 and uid == 0]
    message = _image_inspect.refusal("img", ["c"], files)
    assert (message is None) == (not expected)
    if expected:
        assert _image_inspect.setuid_root_paths(files) == expected
        assert all(path in message for path in expected)


def test_the_report_has_the_findings_and_a_failure_for_an_image_that_could_not_be_walked():
    images = [("a" * 64, "r.example/a:1", ["web"]), ("b" * 64, "r.example/b:1", ["db"])]
    seen = {"a" * 64: {"info": {"Config": {"User": "app"}}, "error": "walking the image: boom",
                       "files": [_image_inspect.special_file("/bin/su", 0o104755, 0, 0)]},
            "b" * 64: {"info": None, "files": [], "error": "podman image inspect: no such image"}}
    found = [(item["id"], item["target"]) for item in _image_inspect.report(images, seen, "alice")]
    assert found == [("image_inspect_failed", "image r.example/a:1 of user alice"),
                     ("image_setuid_root", "image r.example/a:1 of user alice"),
                     ("image_inspect_failed", "image r.example/b:1 of user alice")]


def test_vet_refuses_unless_every_container_of_the_image_allows_it_and_fails_closed_on_a_failed_scan():
    tool = [_image_inspect.special_file("/usr/local/bin/tool", 0o104755, 0, 0)]
    entries = [dict(image="r/a:1", containers=["web", "job"], id="1"), dict(image="r/b:1", containers=["db"], id="2"),
               dict(image="r/c:1", containers=["new"], id=None)]
    seen = {"r/a:1": {"info": {}, "files": tool, "error": None},
            "r/b:1": {"info": {}, "files": [], "error": "walking the image: boom"}}
    message = _image_inspect.vet(entries, seen, ["web"], "alice")
    assert message.startswith("image r/a:1 (containers job) has setuid-root files: /usr/local/bin/tool.")
    assert "could not look inside image r/b:1 (containers db) for setuid-root files: walking the image: boom" in message
    assert entries[0]["setuid_root_files"] == ["/usr/local/bin/tool"]
    assert entries[0]["findings"][0]["target"] == "image r/a:1 of user alice"
    # An image the storage does not hold (check mode, would be pulled) is not judged.
    assert "findings" not in entries[2]
    # Control: when every container allows it, nothing is refused; the findings stay.
    assert _image_inspect.vet([dict(image="r/a:1", containers=["web"], id="1")], seen, ["web"]) is None


def test_an_image_every_container_already_runs_is_not_looked_at_again():
    entries = [dict(image="reg/a:1", id="sha256aaaa1111", containers=["web", "api"]),
               dict(image="reg/b:1", id="sha256bbbb2222", containers=["db"]),
               dict(image="reg/c:1", id="sha256cccc3333", containers=["new"]),
               dict(image="reg/d:1", id=None, containers=["later"])]
    running = {"web": "sha256aaaa", "api": "sha256aaaa", "db": "sha256ffff"}
    assert [entry["image"] for entry in _image_inspect.images_to_vet(entries, running)] == [
        "reg/b:1", "reg/c:1", "reg/d:1"]
    # A container whose unit changes now (setuid_root_ok turned off, say) is redeployed: its image is looked at.
    assert [entry["image"] for entry in _image_inspect.images_to_vet(entries, running, ["api"])] == [
        "reg/a:1", "reg/b:1", "reg/c:1", "reg/d:1"]
    # Control: one container of the image not running yet makes the image looked at.
    del running["api"]
    assert "reg/a:1" in [entry["image"] for entry in _image_inspect.images_to_vet(entries, running)]
