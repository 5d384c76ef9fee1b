"""Refusals: target not on tmpfs (disk directory, bind mount, sibling prefix), escaping names, noswap unavailable, no pipelining."""

import secrets

from conftest import recap, run_playbook


def test_refusals():
    proc = run_playbook("refusals.yml", output_name="refusals.log")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    counts = recap(proc.stdout)
    assert counts["failed"] == 0 and counts["unreachable"] == 0
    assert "TASK [Check every refusal and its reason]" in proc.stdout


def test_a_value_in_a_mistyped_option_is_never_echoed():
    canary, control = "podsec-canary-" + secrets.token_hex(12), "podsec-control-" + secrets.token_hex(12)
    proc = run_playbook("mistyped.yml", "-vvv", "-e", "podsec_canary=%s podsec_control_canary=%s" % (canary, control),
                        output_name="mistyped.log")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and recap(proc.stdout)["failed"] == 0, output[-6000:]
    assert "SSH: EXEC" in output, "not a -vvv run"
    # the control shows that an echoed value would be found here ...
    assert control in output.split("TASK [Control")[1]
    # ... and the canary appears only where -vvv prints the extra vars on the command line, never in a result
    assert canary not in output.replace("podsec_canary=%s" % canary, "")
