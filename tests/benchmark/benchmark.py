#!/usr/bin/env python
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-by-side benchmark of the hardened_container role (a script, not a test).

Boots test-bed hosts (tests/testbed/testbed.py), snapshots the collection (galaxy.yml, meta, plugins, roles of
this checkout) so that all runs measure the same code, then measures, per ansible-playbook run: wall time, tasks
executed, module invocations (loop items count one each), the calls among them that reach the host (all but
set_fact, assert, include and the other controller-only actions), changed results and systemd daemon-reloads
(counted on the host from PID 1's "Reloading finished" journal messages during the run).

Series:
  0. The floor: a playbook with one ansible.builtin.ping on a host, which is what any run costs before it does
     anything (ansible-playbook start, inventory, one module over SSH).
  1. 1, 10 and 30 hardened containers with podsec.hardening.hardened_container, each count on a fresh host: a first
     converge from nothing, then a re-run with nothing to change.
  2. The same container sets through containers.podman.podman_container (state: quadlet) plus the usual
     daemon-reload and start tasks, as the reference, each count on a fresh host of its own.
  3. A first converge of 1 and of 10 containers per host on 1 fresh host and on 3 fresh hosts at once (forks 5).

Every run also records the machine's busy CPU seconds (/proc/stat) and the controller's share of them (the
ansible-playbook process tree): the test hosts and the controller share this machine's cores, so a run that keeps
them all busy cannot be shorter than its CPU seconds / cores.

Prints a table and the ratios the project targets:
  re-run / first converge < 1/3; daemon-reloads for 30 containers == for 10 (one per converge, none per re-run);
  3 hosts / 1 host < 1.5 (printed with the CPU-bound lower bound of the 3-host run on this machine).

Run as root on the test-bed machine:
  /var/cache/podsec-testbed/venv/bin/python tests/benchmark/benchmark.py [--counts 1,10,30] [--host-counts 1,10] [--keep]
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
# Actions that run on the controller only; every other module invocation is a call to the host.
LOCAL_ACTIONS = ("ansible.builtin.set_fact", "ansible.builtin.assert", "ansible.builtin.debug",
                 "ansible.builtin.include_tasks", "ansible.builtin.include_role", "ansible.builtin.meta",
                 "ansible.builtin.validate_argument_spec", "ansible.builtin.fail")

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
    # What a user of podman_container must add for rootful UserNS=auto too (the role does it itself).
    - name: Give rootful user namespaces a subordinate id range
      ansible.builtin.lineinfile:
        path: "{{ item }}"
        line: containers:2147483647:2147483648
        create: true
        mode: "0644"
      loop: [/etc/subuid, /etc/subgid]

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

FLOOR = """---
- name: The floor of every run (one module on the host, nothing else)
  hosts: bench
  gather_facts: false
  tasks:
    - name: Reach the host
      ansible.builtin.ping:
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


def busy_cpu_seconds():
    """CPU time this machine (controller and test hosts alike) has spent working, since boot.

    user + nice + system + irq + softirq of /proc/stat's cpu line: not idle or iowait, not steal (another
    guest's), not guest and guest_nice (already counted in user and nice).
    """
    with open("/proc/stat") as handle:
        user, nice, system, _idle, _iowait, irq, softirq = [int(value) for value in handle.readline().split()[1:8]]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def controller_cpu_seconds():
    """CPU time of the finished ansible-playbook runs (with their workers and SSH clients)."""
    times = os.times()
    return times.children_user + times.children_system


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
        for name, text in (("ours.yml", OURS), ("reference.yml", REFERENCE), ("prepare.yml", PREPARE),
                           ("floor.yml", FLOOR)):
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

    def ansible_playbook(self, playbook, names, *args):
        """Run one playbook on the hosts; its result as the json callback reports it."""
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                               "-i", self.inventory(names)] + list(args) + [os.path.join(self.workdir, playbook)],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
            raise SystemExit("%s failed (rc=%d)" % (playbook, proc.returncode))
        return json.loads(proc.stdout)

    def run(self, playbook, names, bench_containers):
        # Every measured run starts with the same warm SSH connections (ControlPersist, as Ansible defaults to),
        # whether or not the hosts were reached in the last minute.
        self.ansible_playbook("floor.yml", names)
        extra = os.path.join(self.workdir, "extra.json")
        with open(extra, "w") as handle:
            json.dump({"bench_containers": bench_containers}, handle)
        marks = dict((name, host_ssh(name, "date +%s.%N").strip()) for name in names)
        start, cpu_start, own_start = time.monotonic(), busy_cpu_seconds(), controller_cpu_seconds()
        result = self.ansible_playbook(playbook, names, "-e", "@" + extra)
        wall, cpu = time.monotonic() - start, busy_cpu_seconds() - cpu_start
        controller = controller_cpu_seconds() - own_start
        tasks = invocations = host_calls = 0
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
                    if res.get("action") not in LOCAL_ACTIONS:
                        host_calls += count
                    ran = ran or count > 0
                tasks += 1 if ran else 0
        reloads = 0
        for name, mark in marks.items():
            out = host_ssh(name, "journalctl _PID=1 --since @%s -o cat --no-pager | grep -c '^Reloading finished' "
                                 "|| true" % mark)
            reloads += int(out.strip() or 0)
        changed = sum(stats.get("changed", 0) for stats in result["stats"].values())
        return {"wall": wall, "cpu": cpu, "controller": controller, "tasks": tasks, "invocations": invocations, "host_calls": host_calls, "changed": changed,
                "reloads": reloads}


def fmt(row):
    return "%-48s %7.1f %6.1f %6.1f %6d %8d %6d %8d %8d" % (
        row["label"], row["wall"], row["cpu"], row["controller"], row["tasks"], row["invocations"], row["host_calls"], row["changed"],
        row["reloads"])


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="1,10,30", help="container counts of series 1 and 2")
    parser.add_argument("--host-counts", default="1,10", help="containers per host in series 3")
    parser.add_argument("--keep", action="store_true", help="leave the hosts running")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    host_counts = [int(c) for c in args.host_counts.split(",")]
    series = (("ours.yml", "hc", "hardened_container"), ("reference.yml", "ref", "podman_container quadlet"))
    # A fresh host per series and count, so that every first converge starts from nothing.
    fresh = dict(((entry[1], count), "bench-%s%d" % (entry[1], count)) for entry in series for count in counts)
    fleets = dict((count, (["bench-f%d-1" % count], ["bench-f%d-%d" % (count, index) for index in (2, 3, 4)]))
                  for count in host_counts)
    hosts = sorted(fresh.values()) + sorted(name for one, three in fleets.values() for name in one + three)
    workdir = tempfile.mkdtemp(prefix="podsec-bench-")
    bench = Bench(workdir)
    rows = []
    try:
        bench.boot(hosts)
        bench.run("prepare.yml", hosts, [])
        for attempt in range(3):
            row = bench.run("floor.yml", [hosts[0]], [])
            row.update(label="floor: one ping (run %d)" % (attempt + 1), kind="floor", count=0, phase="floor")
            rows.append(row)
            print(fmt(row), flush=True)
        for playbook, prefix, label in series:
            for count in counts:
                for phase in ("converge", "re-run"):
                    row = bench.run(playbook, [fresh[(prefix, count)]], containers(prefix, count))
                    row.update(label="%s %2d containers %s" % (label, count, phase), kind=label, count=count,
                               phase=phase)
                    rows.append(row)
                    print(fmt(row), flush=True)
        for count in host_counts:
            for names in fleets[count]:
                row = bench.run("ours.yml", names, containers("hc", count))
                row.update(label="hardened_container %d per host, %d host(s) converge" % (count, len(names)),
                           kind="hosts-%d" % count, count=len(names), phase="converge")
                rows.append(row)
                print(fmt(row), flush=True)
    finally:
        if not args.keep:
            testbed("down", *hosts)
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print("%-48s %7s %6s %6s %6s %8s %6s %8s %8s" % (
        "run", "wall s", "cpu s", "ctl s", "tasks", "modules", "host", "changed", "reloads"))
    for row in rows:
        print(fmt(row))
    print()

    def pick(kind, count, phase):
        return [r for r in rows if r["kind"] == kind and r["count"] == count and r["phase"] == phase][0]

    floor = min(row["wall"] for row in rows if row["kind"] == "floor")
    print("floor (fastest of the ping runs): %.1f s; 'above floor' ratios subtract it from both runs" % floor)
    for count in counts:
        ours_first, ours_again = pick("hardened_container", count, "converge"), pick("hardened_container", count, "re-run")
        ref_first, ref_again = pick("podman_container quadlet", count, "converge"), pick("podman_container quadlet", count, "re-run")
        print("%2d containers: re-run/converge wall %.2f (target < 0.33), above floor %.2f, host calls %.2f | ours/reference wall converge %.2f, "
              "re-run %.2f | module invocations ours/reference %.2f | daemon-reloads ours %d/%d, reference %d/%d" % (
                  count, ratio(ours_again["wall"], ours_first["wall"]),
                  ratio(ours_again["wall"] - floor, ours_first["wall"] - floor),
                  ratio(ours_again["host_calls"], ours_first["host_calls"]), ratio(ours_first["wall"], ref_first["wall"]),
                  ratio(ours_again["wall"], ref_again["wall"]),
                  ratio(ours_first["invocations"], ref_first["invocations"]),
                  ours_first["reloads"], ours_again["reloads"], ref_first["reloads"], ref_again["reloads"]))
    if len(counts) >= 3:
        print("daemon-reloads of a converge with %d / %d containers: %d / %d (target: equal, one)" % (
            counts[1], counts[2], pick("hardened_container", counts[1], "converge")["reloads"],
            pick("hardened_container", counts[2], "converge")["reloads"]))
    cores = len(os.sched_getaffinity(0))
    for count in host_counts:
        one, three = pick("hosts-%d" % count, 1, "converge"), pick("hosts-%d" % count, 3, "converge")
        print("%2d containers per host: 3 hosts / 1 host wall %.2f (target < 1.5); the 3-host run used %.1f CPU s, so "
              "on %d cores it cannot take less than %.1f s = %.2f x one host" % (
                  count, ratio(three["wall"], one["wall"]), three["cpu"], cores, three["cpu"] / cores,
                  ratio(three["cpu"] / cores, one["wall"])))


if __name__ == "__main__":
    main()
