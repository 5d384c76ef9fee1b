#!/usr/bin/env bash
# Runs every test of podsec.hardening on a fresh Debian 12/13 machine, as root:
#   lint (ansible-lint, production profile), ansible-test sanity, pytest unit tests, release checks
#   (module and role docs, changelog, Galaxy build and import), the test bed's own lifecycle tests, and
#   every molecule scenario on real booted test hosts (tests/testbed), the consumer example role's scenario,
#   the execution environment built and used (tests/ee/run.sh), and the demo (tests/demo runs
#   bash demo/run.sh and checks its output and reports). Installs what it needs itself.
# Prints the time of each stage, the hosts' boot-to-SSH times and the total at the end.
#
# `bash tests/run_all.sh --suite sid` is the second, CI-sized run of the podman version matrix: the
# scenarios that exercise podman (hardened_container, trust, secrets, fleet) against test hosts of
# another Debian suite (sid: podman 5.8), with the same environment, and nothing else.
set -uo pipefail
matrix_suite=
if [ "${1:-}" = "--suite" ]; then
  matrix_suite=${2:?"--suite needs a suite: sid or bookworm"}
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
run_started=$(date +%s)
output="$repo/tests/output"
mkdir -p "$output"
export PODSEC_TESTBED_BOOT_LOG="$output/boot-times.tsv"
: >"$PODSEC_TESTBED_BOOT_LOG"

venv=$(bash tests/bootstrap.sh) || { echo "bootstrap failed" >&2; exit 1; }
export PATH="$venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
# Nothing outside the clone and the caches this run builds may change a result: an empty HOME (so
# nothing under the real ~/.ansible or ~/.cache is read), holding a deliberately broken stale copy of
# podsec.hardening where a user's installed copy would be; every stage must load the checkout instead.
export HOME="$output/home"
rm -rf "$HOME"
mkdir -p "$HOME"
python3 tests/collection_guard.py plant "$HOME/.ansible/collections"
podsec_repo=$repo
# shellcheck source=tests/collection_env.sh
source tests/collection_env.sh

passed=0
failed=0
failed_names=()
timings=()
stage() {
  local name=$1
  shift
  local started=$(date +%s)
  echo
  echo "=== stage: $name"
  if "$@"; then
    passed=$((passed + 1))
    result=passed
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    result=FAILED
  fi
  timings+=("$(printf '%-32s %-7s %5d s' "$name" "$result" $(( $(date +%s) - started )))")
}

stage "collection resolves to this checkout" python3 tests/collection_guard.py check
if [ -n "$matrix_suite" ]; then
  export PODSEC_TESTBED_SUITE=$matrix_suite
  for scenario in hardened_container trust secrets fleet; do
    stage "molecule $scenario ($matrix_suite)" molecule test -s "$scenario"
  done
else
  stage "ansible-lint (production)" ansible-lint --offline -q
  stage "ansible-test sanity" bash tests/sanity.sh
  stage "pytest unit" python -m pytest -q tests/unit
  stage "release checks" bash tests/release_checks.sh
  stage "pytest test bed lifecycle" python -m pytest -q tests/testbed
  for scenario_dir in molecule/*/; do
    scenario=$(basename "$scenario_dir")
    [ -f "$scenario_dir/molecule.yml" ] || continue
    stage "molecule $scenario" molecule test -s "$scenario"
  done
  # A role outside the collection that reuses it, tested as its users test theirs (docs/reuse.md): about 100 s.
  stage "molecule consumer demo_app" bash -c 'cd tests/consumer/roles/demo_app && molecule test'
  # The execution environment built (ansible-builder, local Debian base) and site.yml/audit.yml run in it
  # through ansible-runner (docs/awx.md): 66 to 106 s with its caches warm, 139 s cold (no base root file
  # system, no image: debootstrap 59 s, image build 32 s).
  stage "execution environment" bash tests/ee/run.sh
  # The main job as a user runs it (bash demo/run.sh), its output and both fleet reports rendered by Chromium.
  stage "demo (bash demo/run.sh)" python -m pytest -q tests/demo
fi
# Whatever a scenario left behind (host, process, mount, disk, veth, namespace) is a defect of its
# destroy step: say so, then clean up.
stage "nothing left behind" python3 tests/testbed/testbed.py leftovers
python3 tests/testbed/testbed.py leftovers >/dev/null || python3 tests/testbed/testbed.py down --all

echo
echo "=== timings"
printf '%s\n' "${timings[@]}"
echo
echo "=== test hosts: boot to SSH-ready (seconds)"
if [ -s "$PODSEC_TESTBED_BOOT_LOG" ]; then
  sort -k2 -n "$PODSEC_TESTBED_BOOT_LOG" | awk '{n++; s+=$2; if ($2>m) m=$2; printf "  %-28s %6.1f\n", $1, $2} END {if (n) printf "  %d boots, mean %.1f s, max %.1f s\n", n, s/n, m}'
fi
echo "full test time: $(( $(date +%s) - run_started )) s"
[ ${#failed_names[@]} -eq 0 ] || echo "failed stages: ${failed_names[*]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
