"""Refusals: target not on tmpfs (disk directory, bind mount, sibling prefix), escaping names, noswap unavailable, no pipelining."""

from conftest import recap, run_playbook


def test_refusals():
    proc = run_playbook("refusals.yml", output_name="refusals.log")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    counts = recap(proc.stdout)
    assert counts["failed"] == 0 and counts["unreachable"] == 0
    assert "TASK [Check every refusal and its reason]" in proc.stdout
