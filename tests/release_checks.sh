#!/usr/bin/env bash
# Release gate for podsec.hardening: what Galaxy and the docs need, checked from the repository root
# with the project's virtualenv on PATH (installs the pinned release tools into it when missing):
#   ansible-doc     every module documents itself (DOCUMENTATION, non-empty EXAMPLES and RETURN) and every
#                   role has argument specs ansible-doc can show;
#   docs            docs/modules (antsibull-docs) and docs/roles (tests/docs/role_docs.py) are what
#                   tests/docs/generate.sh produces now, antsibull-docs' collection docs linter passes, and
#                   the relative links (and anchors) of the Markdown files resolve;
#   changelog       antsibull-changelog lint (fragments and changelog.yaml); changelogs/changelog.yaml and
#                   CHANGELOG.rst are up to date; the version in galaxy.yml is the latest release there;
#                   no fragment of an earlier release is left in changelogs/fragments;
#   build-import    ansible-builder create (the EE's build context, context/) and then ansible-galaxy
#                   collection build make the artifact (nothing of context/, molecule/, tests/output/,
#                   .ansible/ inside) and galaxy-importer accepts it (no ERROR; ansible-test is disabled).
# Usage: bash tests/release_checks.sh [CHECK...]   (default: all four, in that order)
# A stale generated file is fixed with `bash tests/docs/generate.sh` and a commit; see docs/releasing.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# Pinned release tools; requirements-dev.txt carries the same pins.
release_tools=(antsibull-docs==2.28.0 antsibull-changelog==0.36.0 galaxy-importer==0.4.44)

check_ansible_doc() {
  local module role modules=() roles=()
  for module in plugins/modules/*.py; do
    module=$(basename "$module" .py)
    [ "$module" = "__init__" ] || modules+=("$module")
  done
  for role in roles/*/; do
    roles+=("$(basename "$role")")
  done
  [ ${#modules[@]} -gt 0 ] || { echo "no module found in plugins/modules" >&2; return 1; }
  ansible-doc --json "${modules[@]/#/podsec.hardening.}" >"$RELEASE_WORK/modules.json"
  ansible-doc --json -t role "${roles[@]/#/podsec.hardening.}" >"$RELEASE_WORK/roles.json"
  python3 - "$RELEASE_WORK/modules.json" "$RELEASE_WORK/roles.json" "${modules[@]}" -- "${roles[@]}" <<'EOF'
import json
import sys

import yaml

modules_json, roles_json = sys.argv[1], sys.argv[2]
rest = sys.argv[3:]
modules, roles = rest[:rest.index("--")], rest[rest.index("--") + 1:]
with open(modules_json, encoding="utf-8") as handle:
    docs = json.load(handle)
with open(roles_json, encoding="utf-8") as handle:
    role_docs = json.load(handle)
problems = []


def option_problems(spec_options, value, where):
    """Options an EXAMPLES task uses that DOCUMENTATION does not know (recursing into suboptions)."""
    if not isinstance(value, dict):
        return []
    found = []
    by_name = {}
    for option, spec in spec_options.items():
        for alias in [option] + list(spec.get("aliases") or []):
            by_name[alias] = spec
    for key, item in value.items():
        spec = by_name.get(key)
        if spec is None:
            found.append("%s: option %s is not documented" % (where, key))
            continue
        templated = isinstance(item, str) and "{{" in item
        if spec.get("choices") and not templated and not isinstance(item, (list, dict)) and item not in spec["choices"]:
            found.append("%s: %s=%r is not one of the documented choices" % (where, key, item))
        if spec.get("suboptions"):
            for index, element in enumerate(item if isinstance(item, list) else [item]):
                found.extend(option_problems(spec["suboptions"], element, "%s.%s[%d]" % (where, key, index)))
    return found


def example_tasks(tasks):
    for task in tasks if isinstance(tasks, list) else []:
        if isinstance(task, dict):
            yield task
            for key in ("block", "rescue", "always"):
                yield from example_tasks(task.get(key))


for module in modules:
    name = "podsec.hardening." + module
    entry = docs.get(name)
    if not entry or not entry.get("doc"):
        problems.append("%s: ansible-doc finds no DOCUMENTATION" % name)
        continue
    doc = entry["doc"]
    for key in ("short_description", "description", "author"):
        if not doc.get(key):
            problems.append("%s: DOCUMENTATION has no %s" % (name, key))
    if doc.get("module") != module:
        problems.append("%s: DOCUMENTATION says module: %r" % (name, doc.get("module")))
    if not (entry.get("examples") or "").strip():
        problems.append("%s: EXAMPLES is empty" % name)
    else:
        try:
            examples = yaml.safe_load(entry["examples"])
        except yaml.YAMLError as error:
            examples = None
            problems.append("%s: EXAMPLES is not YAML: %s" % (name, error))
        uses = 0
        for task in example_tasks(examples):
            for key in (name, module):
                if key in task:
                    uses += 1
                    problems.extend(option_problems(doc.get("options") or {}, task[key],
                                                    "%s EXAMPLES task %r" % (name, task.get("name"))))
        if examples is not None and not uses:
            problems.append("%s: no EXAMPLES task uses the module" % name)
    if not entry.get("return"):
        problems.append("%s: RETURN is empty" % name)
    for option, spec in sorted((doc.get("options") or {}).items()):
        if not spec.get("description"):
            problems.append("%s: option %s has no description" % (name, option))
    for key, spec in sorted((entry.get("return") or {}).items()):
        if not spec.get("description") or not spec.get("returned") or not spec.get("type"):
            problems.append("%s: return value %s needs description, returned and type" % (name, key))
    print("ok  %-42s %2d options, %2d return values, %4d lines of examples" % (
        name, len(doc.get("options") or {}), len(entry.get("return") or {}),
        len(entry["examples"].strip().splitlines()) if entry.get("examples") else 0))
for role in roles:
    name = "podsec.hardening." + role
    entry = role_docs.get(name) or {}
    main = (entry.get("entry_points") or {}).get("main")
    if not main:
        problems.append("%s: ansible-doc -t role shows no main entry point (meta/argument_specs.yml)" % name)
        continue
    if not main.get("short_description") or not main.get("options"):
        problems.append("%s: main entry point needs short_description and options" % name)
        continue
    print("ok  %-42s %2d role variables" % (name, len(main["options"])))
for problem in problems:
    print("FAIL " + problem)
sys.exit(1 if problems else 0)
EOF
}

# diff -ru, but a missing side is named instead of being silently skipped.
compare_tree() {
  local generated=$1 committed=$2
  if [ ! -e "$committed" ]; then
    echo "missing: $committed (generated: $generated)"
    return 1
  fi
  diff -ru "$committed" "$generated" >"$RELEASE_WORK/diff.txt" || {
    head -60 "$RELEASE_WORK/diff.txt"
    echo "stale: $committed differs from what tests/docs/generate.sh produces (diff above, first 60 lines)"
    return 1
  }
}

# tests/docs/generate.sh into $RELEASE_WORK/gen, once per run of this script.
generate() {
  if [ ! -f "$RELEASE_WORK/gen.done" ]; then
    bash tests/docs/generate.sh "$RELEASE_WORK/gen" >/dev/null
    touch "$RELEASE_WORK/gen.done"
  fi
}

check_docs() {
  generate
  local stale=0
  compare_tree "$RELEASE_WORK/gen/docs/modules" docs/modules || stale=1
  compare_tree "$RELEASE_WORK/gen/docs/roles" docs/roles || stale=1
  if [ "$stale" -ne 0 ]; then
    echo "run: bash tests/docs/generate.sh && git add docs/modules docs/roles changelogs/changelog.yaml CHANGELOG.rst"
    return 1
  fi
  echo "ok  docs/modules and docs/roles are up to date"
  local markdown=()
  mapfile -t markdown < <(git ls-files --cached --others --exclude-standard -- '*.md' | grep -v -E '^(molecule|tests)/')
  python3 tests/docs/check_links.py "${markdown[@]}"
  echo "ok  relative links and anchors of ${#markdown[@]} Markdown files resolve"
  (cd "$RELEASE_WORK/collections/ansible_collections/podsec/hardening" &&
    antsibull-docs lint-collection-docs --plugin-docs --output-format simplified-rst .)
  echo "ok  antsibull-docs lint-collection-docs"
}

check_changelog() {
  antsibull-changelog lint
  antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
  echo "ok  antsibull-changelog lint and lint-changelog-yaml"
  generate
  local stale=0
  compare_tree "$RELEASE_WORK/gen/changelogs/changelog.yaml" changelogs/changelog.yaml || stale=1
  compare_tree "$RELEASE_WORK/gen/CHANGELOG.rst" CHANGELOG.rst || stale=1
  if [ "$stale" -ne 0 ]; then
    echo "run: bash tests/docs/generate.sh && git add changelogs/changelog.yaml CHANGELOG.rst"
    return 1
  fi
  echo "ok  changelogs/changelog.yaml and CHANGELOG.rst hold every fragment"
  python3 - <<'EOF'
import os
import sys

import yaml
from packaging.version import Version

with open("galaxy.yml", encoding="utf-8") as handle:
    version = str(yaml.safe_load(handle)["version"])
with open("changelogs/changelog.yaml", encoding="utf-8") as handle:
    releases = (yaml.safe_load(handle) or {}).get("releases") or {}
if not releases:
    sys.exit("FAIL changelogs/changelog.yaml has no release; galaxy.yml says %s" % version)
latest = max(releases, key=Version)
if latest != version:
    sys.exit("FAIL galaxy.yml version %s is not the latest release in changelogs/changelog.yaml (%s)"
             % (version, latest))
present = set(os.listdir("changelogs/fragments")) if os.path.isdir("changelogs/fragments") else set()
left = sorted((name, release) for release, data in releases.items() if release != version
              for name in data.get("fragments") or [] if name in present)
for name, release in left:
    print("FAIL changelogs/fragments/%s was released in %s; remove it" % (name, release))
if left:
    sys.exit(1)
print("ok  galaxy.yml version %s is the latest release in changelogs/changelog.yaml" % version)
EOF
}

check_build_import() {
  local artifact config listing
  mkdir -p "$RELEASE_WORK/dist" "$RELEASE_WORK/import"
  # A release is built where the execution environment is prepared too: `ansible-builder create` writes
  # its build context to context/ in the checkout (a copy of the collection, 88 files), which the artifact
  # must not carry. A context/ made here is removed again; one that was there already is left as it was.
  if [ ! -e context ]; then
    trap 'rm -rf "$repo/context"' EXIT
  fi
  ansible-builder create -f execution-environment.yml -c context >/dev/null
  [ -f context/_build/configs/ansible.cfg ] || { echo "FAIL ansible-builder create wrote no context/"; return 1; }
  ansible-galaxy collection build --force --output-path "$RELEASE_WORK/dist" .
  artifact=$(ls "$RELEASE_WORK"/dist/podsec-hardening-*.tar.gz)
  listing="$RELEASE_WORK/artifact-files.txt"
  tar -tzf "$artifact" >"$listing"
  if grep -E '^(context|molecule|tests/output|tests/testbed|\.ansible|\.git|\.pytest_cache)(/|$)|__pycache__' "$listing"; then
    echo "FAIL the artifact carries the files listed above; extend build_ignore in galaxy.yml"
    return 1
  fi
  for required in MANIFEST.json FILES.json README.md meta/runtime.yml changelogs/changelog.yaml \
                  plugins/modules/image_trust.py roles/hardened_container/meta/argument_specs.yml; do
    grep -qx "$required" "$listing" || { echo "FAIL the artifact lacks $required"; return 1; }
  done
  echo "ok  $(basename "$artifact"): $(wc -l <"$listing") entries, $(du -k "$artifact" | cut -f1) KiB"
  # galaxy-importer: everything Galaxy runs except ansible-test in a container (no container engine
  # or registry here; bash tests/sanity.sh runs ansible-test sanity itself).
  config="$RELEASE_WORK/galaxy-importer.cfg"
  cat >"$config" <<'EOF'
[galaxy-importer]
run_ansible_test = False
ansible_test_local_image = False
local_image_docker = False
infra_osd = False
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
run_flake8 = False
check_changelog = True
check_required_tags = False
require_v1_or_greater = False
log_level_main = INFO
EOF
  local rc=0
  (cd "$RELEASE_WORK/import" && GALAXY_IMPORTER_CONFIG="$config" python3 -m galaxy_importer.main "$artifact") \
    >"$RELEASE_WORK/import/importer.log" 2>&1 || rc=$?
  grep -E '^(WARNING|ERROR|CRITICAL)' "$RELEASE_WORK/import/importer.log" || true
  if [ "$rc" -ne 0 ] || grep -qE '^(ERROR|CRITICAL)|Traceback' "$RELEASE_WORK/import/importer.log" ||
     ! grep -q 'Importer processing completed successfully' "$RELEASE_WORK/import/importer.log"; then
    tail -40 "$RELEASE_WORK/import/importer.log"
    echo "FAIL galaxy-importer refused $(basename "$artifact") (exit $rc)"
    return 1
  fi
  python3 - "$RELEASE_WORK/import/importer_result.json" <<'EOF'
import json
import sys

with open(sys.argv[1], encoding="utf-8") as handle:
    result = json.load(handle)
contents = result.get("contents") or []
kinds = {}
for item in contents:
    kinds[item.get("content_type")] = kinds.get(item.get("content_type"), 0) + 1
if not kinds.get("module") or not kinds.get("role"):
    sys.exit("FAIL galaxy-importer found no modules or no roles")
# galaxy-importer accepts a module whose DOCUMENTATION ansible-doc cannot read: Galaxy then shows
# it without any documentation. Refuse that here.
problems = []
for item in (result.get("docs_blob") or {}).get("contents") or []:
    if item.get("content_type") == "module" and not item.get("doc_strings"):
        problems.append("module %s has no documentation in the import" % item.get("content_name"))
for item in contents:
    if item.get("content_type") in ("module", "role") and not item.get("description"):
        problems.append("%s %s has no description in the import" % (item.get("content_type"), item.get("name")))
for problem in problems:
    print("FAIL galaxy-importer: " + problem)
if problems:
    sys.exit(1)
print("ok  galaxy-importer accepted it: %s" % ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())))
EOF
}

if [ "${1:-}" = "--run-one" ]; then
  "check_${2//-/_}"
  exit 0
fi

installed_ok=1
for pin in "${release_tools[@]}"; do
  [ "$(python3 -m pip show "${pin%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" = "${pin##*==}" ] || installed_ok=0
done
if [ "$installed_ok" -ne 1 ]; then
  echo "release_checks: installing ${release_tools[*]} into $(python3 -c 'import sys; print(sys.prefix)')" >&2
  python3 -m pip install -q --disable-pip-version-check "${release_tools[@]}" >&2
fi

RELEASE_WORK=$(mktemp -d)
export RELEASE_WORK
trap 'rm -rf "$RELEASE_WORK"' EXIT
# The collection as ansible-doc and antsibull-docs must find it: .../ansible_collections/podsec/hardening.
mkdir -p "$RELEASE_WORK/collections/ansible_collections/podsec"
ln -s "$repo" "$RELEASE_WORK/collections/ansible_collections/podsec/hardening"
export ANSIBLE_COLLECTIONS_PATH="$RELEASE_WORK/collections"
export ANSIBLE_NOCOLOR=1 ANSIBLE_DEPRECATION_WARNINGS=0

checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(ansible-doc docs changelog build-import)
passed=0
failed=0
failed_names=()
for check in "${checks[@]}"; do
  echo "--- release check: $check"
  # A child bash, so that set -e stays in force inside the check.
  if bash "$0" --run-one "$check"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_names+=("$check")
  fi
done
[ ${#failed_names[@]} -eq 0 ] || echo "release checks failed: ${failed_names[*]}"
echo "release-checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
