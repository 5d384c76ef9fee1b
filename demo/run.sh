#!/usr/bin/env bash
# The main job: boot a local demo fleet of two Debian 13 hosts (systemd-nspawn, reached over SSH) and show
# the collection's controls working on them, in this order:
#   1. on each host, a local registry (molecule/shared/trust_lab.yml) with a GPG-signed, a sigstore-signed
#      and an unsigned image, and a legacy container started by hand with weak settings (root, a password
#      in its environment, a port on all addresses); an unsigned pull is accepted (Debian's default policy)
#   2. the fleet report before hardening (playbooks/audit.yml): the legacy container's findings and fixes
#   3. hardening with playbooks/site.yml (trust policy with the lab's keys, hardened containers: the
#      hardened demo-web replaces the legacy one), then a second run that must change nothing
#   4. the signed images run, the unsigned pull is refused with podman's policy error
#   5. the fleet report after hardening, and a short per-host summary (demo/summary.py)
# Ansible's and the bootstrap's output go to log files under tests/output/demo/logs; the terminal shows
# progress lines and the summary. Run as root on Debian 12/13.
#   bash demo/run.sh          run, then power the demo hosts off (registry and keys go with them)
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

started=$(date +%s)
out="$repo/tests/output/demo"
logs="$out/logs"
rm -rf "$out"
mkdir -p "$logs" "$out/checks"
# The lab's public keys, fetched from the hosts for the trust role; the private keys never leave the hosts.
keys=$(mktemp -d /tmp/podsec-demo-keys.XXXXXX)
cleanup() {
  rm -rf "$keys"
  if ! $keep; then
    progress "powering the demo hosts off (their registry and private keys go with them)"
    $testbed down "${hosts[@]}" >>"$logs/testbed.log" 2>&1 || true
    progress "cleaned up"
  fi
}
trap cleanup EXIT

progress() { printf '[%3d s] %s\n' $(( $(date +%s) - started )) "$*"; }
# Runs a command with its output in a log file; on failure shows the end of that log and stops the demo.
logged() {
  local log="$logs/$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "demo FAILED: $* (last lines of $log):"
    tail -n 40 "$log"
    exit 1
  fi
}

progress "bootstrap: Debian packages and the pinned virtualenv (details: $logs/bootstrap.log)"
if ! venv=$(PODSEC_BOOTSTRAP_LOG="$logs/bootstrap.log" bash tests/bootstrap.sh); then
  echo "demo FAILED: bootstrap (last lines of $logs/bootstrap.log):"
  tail -n 40 "$logs/bootstrap.log"
  exit 1
fi
export PATH="$venv/bin:$PATH"
# This checkout is the collection podsec.hardening, whatever copy may be installed elsewhere.
podsec_repo=$repo
# shellcheck source=tests/collection_env.sh
source tests/collection_env.sh
export ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_PIPELINING=true ANSIBLE_INTERPRETER_PYTHON=/usr/bin/python3
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1

progress "booting the demo fleet: ${hosts[*]} (a fresh machine first builds the root file system)"
if ! up=$($testbed up "${hosts[@]}" 2>>"$logs/testbed.log"); then
  echo "demo FAILED: booting the hosts (last lines of $logs/testbed.log):"
  tail -n 40 "$logs/testbed.log"
  exit 1
fi
echo "$up" >"$out/hosts.json"
inventory="$out/inventory"
mkdir -p "$inventory"
cp -r demo/inventory/group_vars "$inventory/"
python3 - "$up" "$keys" >"$inventory/hosts.yml" <<'PY'
import json, sys
hosts = {h["name"]: {"ansible_host": h["address"], "ansible_user": "root",
                     "ansible_ssh_private_key_file": "/var/cache/podsec-testbed/ssh/id_ed25519",
                     "ansible_python_interpreter": "/usr/bin/python3"}
         for h in json.loads(sys.argv[1])}
print(json.dumps({"podman_hosts": {"hosts": hosts, "vars": {"demo_trust_lab_keys": sys.argv[2]}}}, indent=2))
PY
on() {
  local host=$1
  shift
  $testbed ssh "$host" -- "$@"
}
# Runs a command on a host and keeps its exit code and output for the summary: checks/<host>/<name>.
check() {
  local host=$1 name=$2
  shift 2
  mkdir -p "$out/checks/$host"
  set +e
  on "$host" "$@" >"$out/checks/$host/$name.out" 2>&1
  echo $? >"$out/checks/$host/$name.rc"
  set -e
}
for host in "${hosts[@]}"; do
  on "$host" podman load -q -i /usr/local/share/podsec-testbed/busybox.tar >>"$logs/testbed.log"
done

progress "local registry on each host: GPG-signed, sigstore-signed and unsigned images (molecule/shared/trust_lab.yml)"
logged trust-lab.log ansible-playbook -i "$inventory" molecule/shared/trust_lab.yml -e "trust_lab_keys_dir=$keys"

progress "before hardening: a legacy container started by hand (root, a password in its environment, port 8080 on all addresses)"
for host in "${hosts[@]}"; do
  on "$host" podman run -d --name demo-web --user 0 -e DB_PASSWORD=legacy-Pa55w0rd -e LOG_LEVEL=debug \
    -p 0.0.0.0:8080:8080 localhost/podsec/busybox:latest httpd -f -p 8080 >>"$logs/testbed.log"
  # The control: without the collection's trust policy, the unsigned image is pulled.
  check "$host" before-unsigned-pull podman pull -q localhost:5000/trusted/unsigned:latest
  on "$host" podman rmi -i localhost:5000/trusted/unsigned:latest >>"$logs/testbed.log" 2>&1
done
logged audit-before.log ansible-playbook -i "$inventory" playbooks/audit.yml -e "podsec_report_dir=$out/report-before"

progress "hardening the fleet with playbooks/site.yml (log: $logs/site-first-run.log)"
logged site-first-run.log ansible-playbook -i "$inventory" playbooks/site.yml
progress "second run of playbooks/site.yml (must change nothing)"
logged site-second-run.log ansible-playbook -i "$inventory" playbooks/site.yml

progress "after hardening: signed images run, the unsigned pull must be refused"
for host in "${hosts[@]}"; do
  check "$host" gpg-run podman run --rm --pull=always localhost:5000/trusted/gpg:latest id -u
  check "$host" sigstore-run podman run --rm --pull=always localhost:5000/trusted/sigstore:latest id -u
  check "$host" unsigned-pull podman pull -q localhost:5000/trusted/unsigned:latest
done
logged audit-after.log ansible-playbook -i "$inventory" playbooks/audit.yml -e "podsec_report_dir=$out/report-after"

progress "done; summary per host:"
status=0
python3 demo/summary.py "$out" "$(( $(date +%s) - started ))" || status=$?
exit "$status"
