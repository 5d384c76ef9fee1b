# -*- coding: utf-8 -*-
"""The benchmark script's count of tasks and host calls (tests/benchmark/benchmark.py), from the json callback.

The free and host_pinned strategies make ansible.posix.json write one task entry per host; a fleet run of 12
hosts counted 48 tasks for the role's 4 before the count went by task id.
"""

from __future__ import annotations

from hypothesis import given, strategies as st

from ansible_collections.podsec.hardening.tests.benchmark import benchmark

MODULE = "podsec.hardening.quadlet_container"


def task(name, host=""):
    # an included role's task carries one id per host it was included on; its path and name are the same
    return {"id": "%s-%s" % (name, host), "path": "roles/x/tasks/main.yml:%d" % len(name), "name": name}


def linear(tasks, hosts):
    """The callback's layout for the linear strategy: one entry per task with every host's result."""
    return {"plays": [{"tasks": [{"task": task(name), "hosts": dict((host, result) for host in hosts)}
                                 for name, result in tasks]}]}


def per_host(tasks, hosts):
    """The layout for free and host_pinned: one entry per host and task, with an id of each host's own."""
    return {"plays": [{"tasks": [{"task": task(name, host), "hosts": {host: result}}
                                 for host in hosts for name, result in tasks]}]}


ROLE = [("plan", {"action": "ansible.builtin.set_fact"}),
        ("check the podman", {"action": "ansible.builtin.command", "skipped": True}),
        ("include the secrets", {"action": "ansible.builtin.include_tasks", "skipped": True}),
        ("apply the units", {"action": MODULE}),
        ("loop over the files", {"action": "ansible.builtin.lineinfile", "results": [{}, {"skipped": True}, {}]})]


def test_the_role_on_twelve_hosts_counts_its_tasks_once_whatever_the_strategy():
    hosts = ["h%d" % index for index in range(12)]
    # plan, apply and the loop ran; the check and the include were skipped everywhere
    assert benchmark.count_calls(linear(ROLE, hosts)) == (3, 12 * 4, 12 * 3)
    assert benchmark.count_calls(per_host(ROLE, hosts)) == (3, 12 * 4, 12 * 3)


def test_controller_actions_are_not_host_calls():
    assert benchmark.count_calls(linear(ROLE[:1], ["h"])) == (1, 1, 0)


results = st.one_of(
    st.builds(lambda action, skipped: {"action": action, "skipped": skipped},
              st.sampled_from(["ansible.builtin.set_fact", MODULE, "ansible.builtin.ping"]), st.booleans()),
    st.builds(lambda action, items: {"action": action, "results": [{"skipped": skip} for skip in items]},
              st.sampled_from(["ansible.builtin.debug", "ansible.builtin.systemd_service"]), st.lists(st.booleans())))


@given(st.lists(results, max_size=6), st.integers(min_value=1, max_value=5))
def test_both_layouts_of_the_same_run_count_the_same(role, host_count):
    tasks = [("task" + "-" * index, result) for index, result in enumerate(role)]
    hosts = ["h%d" % index for index in range(host_count)]
    counted = benchmark.count_calls(linear(tasks, hosts))
    assert benchmark.count_calls(per_host(tasks, hosts)) == counted
    assert counted[0] <= len(tasks) and counted[2] <= counted[1]


def test_own_cpu_seconds_reads_utime_and_stime_of_the_process_alone():
    # a command name with spaces and a parenthesis, as /proc/PID/stat writes it; utime 250, stime 50, children 999
    stat = "4242 (ansible-playbook (x)) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 999 999 20 0 1 0 5 0 0"
    assert benchmark.own_cpu_seconds(stat) == 300.0 / benchmark.CLOCK
