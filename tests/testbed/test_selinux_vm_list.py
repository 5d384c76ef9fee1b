"""`selinux_vm.py list` shows only the VMs of the current PODSEC_TESTBED_PREFIX, like `testbed.py list`.

Runs the real script (as root, as the test bed does) against a state file of its own; boots nothing.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Point the script at a state file of this test, then run its command line.
RUNNER = """
import sys
sys.argv = ["selinux_vm.py", "list"]
sys.path.insert(0, %r)
import selinux_vm
selinux_vm.STATE_FILE = %r
selinux_vm.main()
"""


def listed(tmp_path, prefix):
    state_file = tmp_path / "vms.json"
    env = dict(os.environ, PODSEC_TESTBED_PREFIX=prefix)
    out = subprocess.run([sys.executable, "-c", RUNNER % (HERE, str(state_file))], env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return [state["name"] for state in json.loads(out)]


def test_list_shows_only_this_prefix(tmp_path):
    states = {name: {"name": name, "instance": name.split("-", 1)[1], "port": port}
              for port, name in enumerate(["ci-selinux-h1", "h16-selinux-h1", "ci-selinux-h2"], 40000)}
    (tmp_path / "vms.json").write_text(json.dumps(states))
    assert listed(tmp_path, "ci-") == ["ci-selinux-h1", "ci-selinux-h2"]
    assert listed(tmp_path, "h16-") == ["h16-selinux-h1"]
    # control: with no prefix every VM is this run's, as in testbed.py
    assert listed(tmp_path, "") == ["ci-selinux-h1", "h16-selinux-h1", "ci-selinux-h2"]
