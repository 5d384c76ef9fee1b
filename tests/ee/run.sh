#!/usr/bin/env bash
# The execution environment built and used, end to end, with nothing but PyPI and Debian's mirror:
#   1. base image: a debootstrapped Debian 13 minbase (python3, pip, venv, openssh-client) imported into podman
#      as localhost/podsec/ee-base:trixie (the root file system is cached in /var/cache/podsec-testbed, keyed
#      by this script's package list)
#   2. ansible-builder build of execution-environment.yml from it (localhost/podsec/hardening-ee:test)
#   3. two booted test hosts (tests/testbed), the busybox image loaded
#   4. playbooks/site.yml twice and playbooks/audit.yml once through ansible-runner with process isolation in
#      the image (as AWX runs a job): a project dir with the playbooks and no ansible.cfg, the inventory's
#      container secret in an ansible-vault file, the SSH key as runner's ssh_key
#   5. checks: every run successful, the second site.yml run changed=0, the planted secret value in no file of
#      the runner artifacts, and (control) a value planted on purpose in an extra variable found there.
# Run as root from the repository root with the virtualenv on PATH and tests/collection_env.sh sourced.
# Prints one line per step and its time; exits non-zero naming the failed check. PODSEC_TESTBED_PREFIX applies.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=/var/cache/podsec-testbed
work="$repo/tests/output/ee"
base_image=localhost/podsec/ee-base:trixie
ee_image=localhost/podsec/hardening-ee:test
packages="python3,python3-pip,python3-venv,openssh-client,ca-certificates"
key=$(printf '%s\n' "$packages" trixie | sha256sum | cut -c1-16)
rootfs="$cache/ee-rootfs-trixie-$key"
hosts=(ee-h1 ee-h2)
secret="ee-vaulted-token-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
control="ee-control-canary-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
started=$(date +%s)

step() { printf '[ee %4ds] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
cleanup() { python3 "$repo/tests/testbed/testbed.py" down "${hosts[@]}" >/dev/null 2>&1 || true; }
trap cleanup EXIT

rm -rf "$work" && mkdir -p "$work"

# ---- 1. the base image
if [ ! -x "$rootfs/usr/bin/python3" ]; then
  step "debootstrap Debian 13 minbase into $rootfs"
  rm -rf "$rootfs.tmp"
  debootstrap --variant=minbase --include="$packages" trixie "$rootfs.tmp" http://deb.debian.org/debian \
    > "$work/debootstrap.log" 2>&1 || fail "debootstrap (log: $work/debootstrap.log)"
  rm -rf "$rootfs.tmp/var/cache/apt/archives/"*.deb "$rootfs.tmp/var/lib/apt/lists/"*_Packages
  mv "$rootfs.tmp" "$rootfs"
fi
# This machine's own CA certificates (a TLS-inspecting egress proxy signs PyPI's certificate here) go into the
# base image's trust store, so that pip in the build trusts what this machine trusts; the image's label keys
# them together with the root file system.
extra_cas=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-16)
if [ "$(podman image inspect --format '{{index .Labels "podsec.rootfs"}}' "$base_image" 2>/dev/null)" != "$key-$extra_cas" ]; then
  step "import $rootfs as $base_image"
  rm -rf "$rootfs/usr/local/share/ca-certificates/"*.crt
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  chroot "$rootfs" update-ca-certificates > /dev/null
  tar -C "$rootfs" --numeric-owner -c . \
    | podman import --change "LABEL podsec.rootfs=$key-$extra_cas" --change 'CMD ["/bin/bash"]' - "$base_image" >/dev/null
fi

# ---- 2. the EE
step "ansible-builder build $ee_image"
ansible-builder build -f "$repo/execution-environment.yml" -c "$work/context" -t "$ee_image" \
  --container-runtime podman -v 2 > "$work/build.log" 2>&1 || fail "ansible-builder build (log: $work/build.log)"
# podman 4.3's default open-files and process limits for a container are more than runc may set on this
# machine ("error setting rlimit type 7: operation not permitted"); the EE gets lower ones.
limits=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
podman run --rm "${limits[@]}" "$ee_image" ansible-galaxy collection list podsec.hardening > "$work/collections.txt" 2>&1 \
  || fail "podsec.hardening is not installed in the EE: $(cat "$work/collections.txt")"

# ---- 3. the hosts
step "boot ${hosts[*]}"
python3 "$repo/tests/testbed/testbed.py" up "${hosts[@]}" > "$work/hosts.json"
for host in "${hosts[@]}"; do
  python3 "$repo/tests/testbed/testbed.py" ssh "$host" -- \
    'podman load -q -i /usr/local/share/podsec-testbed/busybox.tar >/dev/null
     umount /sys/kernel/tracing /sys/kernel/debug 2>/dev/null; true' > /dev/null
done

# ---- 4. the runner's private data dir, as AWX lays it out
pdd="$work/runner"
mkdir -p "$pdd/project" "$pdd/inventory" "$pdd/env" "$pdd/inventory/group_vars/podman_hosts"
cp -r "$repo/playbooks" "$pdd/project/"
[ ! -e "$pdd/project/ansible.cfg" ] && [ ! -e "$pdd/project/playbooks/ansible.cfg" ] || fail "the project has an ansible.cfg"
cp "$cache/ssh/id_ed25519" "$pdd/env/ssh_key"
python3 - "$work/hosts.json" "$pdd/inventory/hosts.yml" <<'PY'
import json, sys
hosts = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as out:
    out.write("podman_hosts:\n  hosts:\n")
    for host in hosts:
        out.write("    %s:\n      ansible_host: %s\n" % (host["name"], host["address"]))
PY
cat > "$pdd/inventory/group_vars/podman_hosts/main.yml" <<'YAML'
ansible_user: root
ansible_python_interpreter: /usr/bin/python3
ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
podsec_enable_trust: true
podsec_enable_containers: true
trust_default: reject
trust_scopes:
  - transport: containers-storage
    scope: ""
    requirements: [accept]
hardened_container_containers:
  - name: ee-web
    image: localhost/podsec/busybox:latest
    command: [httpd, -f, -p, "8080"]
    ports: ["8080:8080"]
    memory: unlimited
    pids_limit: unlimited
    secrets:
      - name: api_token
        value: "{{ vault_ee_token }}"
YAML
vault_pass="$work/vault-pass"
head -c 24 /dev/urandom | base64 > "$vault_pass"
printf 'vault_ee_token: %s\n' "$secret" > "$pdd/inventory/group_vars/podman_hosts/vault.yml"
ansible-vault encrypt --vault-password-file "$vault_pass" "$pdd/inventory/group_vars/podman_hosts/vault.yml" >/dev/null
grep -q "$secret" "$pdd/inventory/group_vars/podman_hosts/vault.yml" && fail "the vault file is not encrypted"
# The vault password reaches the container like an AWX vault credential: a file mounted read-only, outside
# the private data dir (so never in the artifacts).
run_playbook() {  # ident playbook [extra cmdline]
  local ident=$1 playbook=$2; shift 2
  # --user=0: the EE's default user 1000 cannot read the root-owned private data dir of a rootful podman (runner
  # passes --user only to docker), and blocks runner forever on its ssh key fifo; hence the timeout as well.
  timeout 1200 ansible-runner run "$pdd" --ident "$ident" -p "playbooks/$playbook" --process-isolation \
    --process-isolation-executable podman --container-image "$ee_image" \
    --container-volume-mount "$vault_pass:/runner/vault-pass:ro,Z" --container-option=--network=host --container-option=--user=0 \
    --container-option=--ulimit=nofile=1024:1024 --container-option=--ulimit=nproc=4096:4096 \
    --cmdline "--vault-password-file /runner/vault-pass $*" > "$work/$ident.log" 2>&1
  status=$(cat "$pdd/artifacts/$ident/status" 2>/dev/null || echo missing)
  [ "$status" = successful ] || fail "$ident: ansible-runner status $status (log: $work/$ident.log)"
}
changed() {  # ident: the sum of changed= over the recap
  sed 's/\x1b\[[0-9;]*m//g' "$pdd/artifacts/$1/stdout" | grep -E '^[^ ]+ +: ok=' | sed -E 's/.*changed=([0-9]+).*/\1/' | awk '{s += $1} END {print s + 0}'
}

step "site.yml through ansible-runner in the EE (first run)"
run_playbook site-1 site.yml
step "site.yml again: changed=0 expected"
run_playbook site-2 site.yml
[ "$(changed site-2)" = 0 ] || fail "the second site.yml run changed $(changed site-2): $(grep -E ': ok=' "$pdd/artifacts/site-2/stdout")"
step "audit.yml through ansible-runner in the EE (check mode, -vvv, a control value as extra variable)"
run_playbook audit audit.yml "--check -vvv -e podsec_ee_control=$control -e podsec_report_dir=/runner/artifacts/report"

for host in "${hosts[@]}"; do
  python3 "$repo/tests/testbed/testbed.py" ssh "$host" -- systemctl is-active --quiet ee-web.service \
    || fail "site.yml from the EE left ee-web.service not running on $host"
done

# ---- 5. nothing secret in the artifacts; the control value is found, so the search can find one
python3 "$repo/tests/testbed/testbed.py" ssh "${hosts[0]}" -- "grep -qx '$secret' /run/podsec-secrets-root/*" \
  || fail "the vaulted value did not reach the host's secret file (the search below would prove nothing)"
if grep -rl --binary-files=text -- "$secret" "$pdd/artifacts" > "$work/leaks.txt"; then
  fail "the vaulted value is in the runner artifacts: $(cat "$work/leaks.txt")"
fi
grep -rlq --binary-files=text -- "$control" "$pdd/artifacts/audit" || fail "control: the planted extra variable is not found"
step "ok: EE built from $base_image, site.yml twice (second changed=0) and audit.yml in it via ansible-runner on ${hosts[*]}; no secret in $pdd/artifacts, the control value found"
