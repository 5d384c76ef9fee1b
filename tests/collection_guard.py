"""Prove that the test run loads podsec.hardening from this checkout and from nowhere else.

    python3 tests/collection_guard.py plant DIR   put a deliberately broken, stale podsec.hardening into DIR
                                                  (a collections directory such as ~/.ansible/collections)
    python3 tests/collection_guard.py check       fail unless every Ansible tool of the run resolves the
                                                  collection to the checkout

tests/run_all.sh runs every stage with HOME pointed at an empty directory into which it plants the broken
copy: a stage that loaded it instead of the checkout fails (its modules and roles fail, its other plugins
are missing). ``check`` also runs the control: without tests/collection_env.sh's settings the planted copy
is the one Ansible finds, so the guard can fail and does not pass vacuously.
"""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STALE_VERSION = "0.0.0-stale"
_FAILING_MODULE = '''#!/usr/bin/python
DOCUMENTATION = """
module: quadlet_container
short_description: A stale, deliberately broken copy planted by tests/collection_guard.py
description: [Loading it means the test run did not use the checkout.]
author: [podsec.hardening tests]
"""
import json
print(json.dumps({"failed": True, "msg": "STALE podsec.hardening copy loaded instead of the checkout"}))
'''


def plant(collections_dir):
    root = os.path.join(collections_dir, "ansible_collections", "podsec", "hardening")
    files = {
        "MANIFEST.json": json.dumps({"collection_info": {"namespace": "podsec", "name": "hardening",
                                                         "version": STALE_VERSION, "dependencies": {}},
                                     "file_manifest_file": {"name": "FILES.json"}, "format": 1}),
        "FILES.json": json.dumps({"files": [], "format": 1}),
        "meta/runtime.yml": "requires_ansible: '>=2.15.0'\n",
        "plugins/modules/quadlet_container.py": _FAILING_MODULE,
        "roles/hardened_container/tasks/main.yml":
            "- name: Stale copy\n  ansible.builtin.fail:\n    msg: STALE podsec.hardening copy loaded\n",
    }
    for relative, content in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(content)
    print("planted a broken podsec.hardening %s in %s" % (STALE_VERSION, root))


def module_file(env):
    """The file ansible-doc loads for podsec.hardening.quadlet_container under ``env``."""
    out = subprocess.run(["ansible-doc", "-t", "module", "--json", "podsec.hardening.quadlet_container"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return os.path.realpath(json.loads(out)["podsec.hardening.quadlet_container"]["doc"]["filename"])


def listed_locations(env):
    """Every directory in which ansible-galaxy sees a podsec.hardening, with the version it reads."""
    run = subprocess.run(["ansible-galaxy", "collection", "list", "podsec.hardening", "--format", "json"],
                         env=env, capture_output=True, text=True, check=False)
    found = json.loads(run.stdout or "{}") if run.returncode == 0 else {}
    return {os.path.realpath(path): info.get("podsec.hardening", {}).get("version") for path, info in found.items()}


def check():
    ours = os.path.realpath(os.path.join(REPO, "plugins", "modules", "quadlet_container.py"))
    problems = []
    loaded = module_file(dict(os.environ))
    if loaded != ours:
        problems.append("ansible-doc loads podsec.hardening.quadlet_container from %s, not %s" % (loaded, ours))
    locations = listed_locations(dict(os.environ))
    if len(locations) != 1 or list(locations.values()) == [STALE_VERSION]:
        problems.append("ansible-galaxy sees podsec.hardening in %s; only the checkout's import root is allowed"
                        % (locations or "no directory"))
    # Control: the default search path (what a user's shell has) must find the planted stale copy, or the
    # check above proves nothing.
    control_env = {key: value for key, value in os.environ.items()
                   if key != "ANSIBLE_HOME" and not key.startswith("ANSIBLE_COLLECTIONS_")}
    control = module_file(control_env)
    if control == ours:
        problems.append("control failed: without ANSIBLE_COLLECTIONS_PATH the checkout is still loaded; plant a "
                        "stale copy first (collection_guard.py plant ~/.ansible/collections)")
    for problem in problems:
        print("collection guard: " + problem, file=sys.stderr)
    if not problems:
        print("collection guard: podsec.hardening resolves to %s only (control: the default path loads %s)"
              % (REPO, control))
    return 1 if problems else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "plant":
        plant(argv[2])
        return 0
    if len(argv) == 2 and argv[1] == "check":
        return check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
