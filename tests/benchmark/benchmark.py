#!/usr/bin/env python
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-by-side benchmark of the hardened_container role (a script, not a test).

Boots test-bed hosts (tests/testbed/testbed.py), snapshots the collection (galaxy.yml, meta, plugins, roles of
this checkout) so that all runs measure the same code, then measures, per ansible-playbook run: wall time, tasks
executed, module invocations (loop items count one each), changed results and systemd daemon-reloads (counted on
the host from PID 1's "Reloading finished" journal messages during the run).

Series:
  1. One host, 1 -> 10 -> 30 hardened containers with podsec.hardening.hardened_container, each converge followed
     by a re-run with nothing to change.
  2. The same container set through containers.podman.podman_container (state: quadlet) plus the usual
     daemon-reload and start tasks, as the reference, on the same host (containers named ref-N).
  3. A first converge of 10 containers on 1 fresh host and on 3 fresh hosts at once (forks 5).

Prints a table and the ratios the project targets:
  re-run / first converge < 1/3; daemon-reloads for 10 -> 30 == for 1 -> 10 (one per run); 3 hosts / 1 host < 1.5.

Run as root on the test-bed machine:
  /var/cache/podsec-testbed/venv/bin/python tests/benchmark/benchmark.py [--counts 1,10,30] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTBED = os.path.join(REPO, "tests", "testbed", "testbed.py")
SSH_KEY = "/var/cache/podsec-testbed/ssh/id_ed25519"
IMAGE = "localhost/podsec/busybox:latest"

OURS = """---
- name: Hardened containers (podsec.hardening.hardened_container)
  hosts: bench
  gather_facts: false
  tasks:
    - name: Deploy the containers
      ansible.builtin.include_role:
        name: podsec.hardening.hardened_container
      vars:
        hardened_container_containers: "{{ bench_containers }}"
"""

REFERENCE = """---
- name: Reference (containers.podman.podman_container state quadlet)
  hosts: bench
  gather_facts: false
  tasks:
    - name: Write the Quadlet units
      containers.podman.podman_container:
        name: "{{ item.name }}"
        image: "{{ item.image }}"
        command: "{{ item.command }}"
        state: quadlet
        quadlet_dir: /etc/containers/systemd
        user: "10001"
        userns: auto
        read_only: true
        cap_drop: [all]
        security_opt: [no-new-privileges]
        tmpfs:
          /tmp: rw,noexec,nosuid,nodev,size=64m
        ports: "{{ item.ports | default([]) }}"
      loop: "{{ bench_containers }}"
      register: bench_units

    - name: Reload systemd
      ansible.builtin.systemd_service:
        daemon_reload: true
      when: bench_units is changed

    - name: Start the containers
      ansible.builtin.systemd_service:
        name: "{{ item.name }}.service"
        state: started
      loop: "{{ bench_containers }}"
"""

PREPARE = """---
- name: Prepare the benchmark hosts
  hosts: bench
  gather_facts: false
  tasks:
    - name: Load the local test image
      ansible.builtin.command: podman load -i /usr/local/share/podsec-testbed/busybox.tar
      changed_when: true

    # Test-bed quirk (see molecule/hardened_container/prepare.yml): UserNS=auto containers cannot start
    # inside systemd-nspawn while the host's tracefs/debugfs are mounted below /sys/kernel.
    - name: Unmount tracefs and debugfs below /sys/kernel
      ansible.posix.mount:
        path: "{{ item }}"
        state: unmounted
      loop: [/sys/kernel/tracing, /sys/kernel/debug]
"""


def containers(prefix, count):
    # The test hosts delegate no cgroup controllers (nspawn): memory and pids limits opt out by name.
    return [{"name": "%s%d" % (prefix, index), "image": IMAGE, "command": ["sleep", "1000000"],
             "memory": "unlimited", "pids_limit": "unlimited"} for index in range(1, count + 1)]


def testbed(*args):
    return subprocess.run(["python3", TESTBED] + list(args), check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def host_ssh(name, command):
    return testbed("ssh", name, "--", command)


class Bench(object):
    def __init__(self, workdir):
        self.workdir = workdir
        self.addresses = {}
        self.env = dict(os.environ)
        self.env.update({
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_COLLECTIONS_PATH": self._snapshot(workdir),
            "ANSIBLE_FORKS": "5",
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        })
        for name, text in (("ours.yml", OURS), ("reference.yml", REFERENCE), ("prepare.yml", PREPARE)):
            with open(os.path.join(workdir, name), "w") as handle:
                handle.write(text)

    @staticmethod
    def _snapshot(workdir):
        """Copy the collection once, so that every run measures the same code even while the tree changes."""
        root = os.path.join(workdir, "collections")
        target = os.path.join(root, "ansible_collections", "podsec", "hardening")
        os.makedirs(target)
        for name in ("galaxy.yml", "meta", "plugins", "roles"):
            source = os.path.join(REPO, name)
            if os.path.isdir(source):
                shutil.copytree(source, os.path.join(target, name), ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        return root

    def boot(self, names):
        for host in json.loads(testbed("up", *names)):
            self.addresses[host["name"]] = host["address"]

    def inventory(self, names):
        path = os.path.join(self.workdir, "inventory-%s.json" % "-".join(names))
        hosts = dict((name, {"ansible_host": self.addresses[name]}) for name in names)
        data = {"bench": {"hosts": hosts, "vars": {
            "ansible_user": "root", "ansible_ssh_private_key_file": SSH_KEY,
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        }}}
        with open(path, "w") as handle:
            json.dump(data, handle)
        return path

    def run(self, playbook, names, bench_containers):
        extra = os.path.join(self.workdir, "extra.json")
        with open(extra, "w") as handle:
            json.dump({"bench_containers": bench_containers}, handle)
        marks = dict((name, host_ssh(name, "date +%s.%N").strip()) for name in names)
        start = time.monotonic()
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                               "-i", self.inventory(names), "-e", "@" + extra, os.path.join(self.workdir, playbook)],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              check=False)
        wall = time.monotonic() - start
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
            raise SystemExit("%s failed (rc=%d)" % (playbook, proc.returncode))
        result = json.loads(proc.stdout)
        tasks = invocations = 0
        for play in result["plays"]:
            for task in play["tasks"]:
                ran = False
                for res in task["hosts"].values():
                    items = res.get("results")
                    if items is not None:
                        count = len([item for item in items if not item.get("skipped")])
                    else:
                        count = 0 if res.get("skipped") else 1
                    invocations += count
                    ran = ran or count > 0
                tasks += 1 if ran else 0
        reloads = 0
        for name, mark in marks.items():
            out = host_ssh(name, "journalctl _PID=1 --since @%s -o cat --no-pager | grep -c '^Reloading finished' "
                                 "|| true" % mark)
            reloads += int(out.strip() or 0)
        changed = sum(stats.get("changed", 0) for stats in result["stats"].values())
        return {"wall": wall, "tasks": tasks, "invocations": invocations, "changed": changed, "reloads": reloads}


def fmt(row):
    return "%-44s %8.1f %6d %8d %8d %8d" % (row["label"], row["wall"], row["tasks"], row["invocations"],
                                            row["changed"], row["reloads"])


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="1,10,30", help="container counts of series 1 and 2")
    parser.add_argument("--host-count", type=int, default=10, help="containers per host in series 3")
    parser.add_argument("--keep", action="store_true", help="leave the hosts running")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    hosts = ["bench-h1", "bench-h2", "bench-h3", "bench-h4", "bench-h5"]
    workdir = tempfile.mkdtemp(prefix="podsec-bench-")
    bench = Bench(workdir)
    rows = []
    try:
        bench.boot(hosts)
        bench.run("prepare.yml", hosts, [])
        for playbook, prefix, label in (("ours.yml", "hc", "hardened_container"),
                                        ("reference.yml", "ref", "podman_container quadlet")):
            for count in counts:
                for phase in ("converge", "re-run"):
                    row = bench.run(playbook, ["bench-h1"], containers(prefix, count))
                    row.update(label="%s %2d containers %s" % (label, count, phase), kind=label, count=count,
                               phase=phase)
                    rows.append(row)
                    print(fmt(row), flush=True)
        for names in (["bench-h2"], ["bench-h3", "bench-h4", "bench-h5"]):
            row = bench.run("ours.yml", names, containers("hc", args.host_count))
            row.update(label="hardened_container %d on %d host(s) converge" % (args.host_count, len(names)),
                       kind="hosts", count=len(names), phase="converge")
            rows.append(row)
            print(fmt(row), flush=True)
    finally:
        if not args.keep:
            testbed("down", *hosts)
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print("%-44s %8s %6s %8s %8s %8s" % ("run", "wall s", "tasks", "modules", "changed", "reloads"))
    for row in rows:
        print(fmt(row))
    print()

    def pick(kind, count, phase):
        return [r for r in rows if r["kind"] == kind and r["count"] == count and r["phase"] == phase][0]

    for count in counts:
        ours_first, ours_again = pick("hardened_container", count, "converge"), pick("hardened_container", count, "re-run")
        ref_first, ref_again = pick("podman_container quadlet", count, "converge"), pick("podman_container quadlet", count, "re-run")
        print("%2d containers: re-run/converge wall %.2f (target < 0.33) | ours/reference wall converge %.2f, "
              "re-run %.2f | module invocations ours/reference %.2f | daemon-reloads ours %d/%d, reference %d/%d" % (
                  count, ratio(ours_again["wall"], ours_first["wall"]), ratio(ours_first["wall"], ref_first["wall"]),
                  ratio(ours_again["wall"], ref_again["wall"]),
                  ratio(ours_first["invocations"], ref_first["invocations"]),
                  ours_first["reloads"], ours_again["reloads"], ref_first["reloads"], ref_again["reloads"]))
    if len(counts) >= 3:
        print("daemon-reloads %d->%d: %d, %d->%d: %d (target: equal, one per run)" % (
            counts[0], counts[1], pick("hardened_container", counts[1], "converge")["reloads"],
            counts[1], counts[2], pick("hardened_container", counts[2], "converge")["reloads"]))
    one, three = pick("hosts", 1, "converge"), pick("hosts", 3, "converge")
    print("3 hosts / 1 host wall: %.2f (target < 1.5)" % ratio(three["wall"], one["wall"]))


if __name__ == "__main__":
    main()
