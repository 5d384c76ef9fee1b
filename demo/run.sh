#!/usr/bin/env bash
# The main job: boot a local demo fleet of two Debian 13 hosts (systemd-nspawn, reached over SSH),
# harden it with playbooks/site.yml and print what was hardened per host, then scan it with
# playbooks/audit.yml (JSON per host + HTML fleet report). Run as root on Debian 12/13.
#   bash demo/run.sh          run, then power the demo hosts off
#   bash demo/run.sh --keep   leave the hosts running (remove later: bash demo/run.sh --down)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
hosts=(demo-h1 demo-h2)
testbed="python3 tests/testbed/testbed.py"
if [ "${1:-}" = "--down" ]; then
  $testbed down "${hosts[@]}"
  exit 0
fi
keep=false
[ "${1:-}" = "--keep" ] && keep=true

venv=$(bash tests/bootstrap.sh)
export PATH="$venv/bin:$PATH"
# This checkout is the collection podsec.hardening, whatever copy may be installed elsewhere.
podsec_repo=$repo
# shellcheck source=tests/collection_env.sh
source tests/collection_env.sh
export ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_PIPELINING=true ANSIBLE_INTERPRETER_PYTHON=/usr/bin/python3
$keep || trap '$testbed down "${hosts[@]}" >/dev/null 2>&1' EXIT

echo "== booting the demo fleet: ${hosts[*]}"
up=$($testbed up "${hosts[@]}")
inventory="$repo/tests/output/demo/inventory"
mkdir -p "$inventory"
cp -r demo/inventory/group_vars "$inventory/"
python3 - "$up" >"$inventory/hosts.yml" <<'PY'
import json, sys
hosts = {h["name"]: {"ansible_host": h["address"], "ansible_user": "root",
                     "ansible_ssh_private_key_file": "/var/cache/podsec-testbed/ssh/id_ed25519",
                     "ansible_python_interpreter": "/usr/bin/python3"}
         for h in json.loads(sys.argv[1])}
print(json.dumps({"podman_hosts": {"hosts": hosts}}, indent=2))
PY
for host in "${hosts[@]}"; do
  $testbed ssh "$host" -- podman load -q -i /usr/local/share/podsec-testbed/busybox.tar >/dev/null
done

echo "== hardening the fleet with playbooks/site.yml"
ansible-playbook -i "$inventory" playbooks/site.yml
echo "== second run (must change nothing)"
ansible-playbook -i "$inventory" playbooks/site.yml | tee "$repo/tests/output/demo/second-run.log" | grep -A5 "PLAY RECAP"

echo "== scanning the fleet with playbooks/audit.yml"
ansible-playbook -i "$inventory" playbooks/audit.yml -e podsec_report_dir="$repo/tests/output/demo/report" >/dev/null
echo "fleet report: $repo/tests/output/demo/report/ (HTML and per-host JSON)"
ls "$repo/tests/output/demo/report/"
