#!/usr/bin/env bash
# Regenerates everything in this repository that is generated from other files:
#   docs/modules/            antsibull-docs (simplified RST) from the modules' DOCUMENTATION/EXAMPLES/RETURN
#   docs/roles/              tests/docs/role_docs.py from each role's meta/argument_specs.yml and defaults
#   changelogs/changelog.yaml, CHANGELOG.rst
#                            antsibull-changelog release for the version in galaxy.yml, from the
#                            fragments in changelogs/fragments (see docs/releasing.md)
# Usage: bash tests/docs/generate.sh [DEST]
#   DEST defaults to the repository root (commit the result); tests/release_checks.sh passes a
#   temporary directory and diffs it with what is committed.
# Needs antsibull-docs and antsibull-changelog on PATH (tests/release_checks.sh installs the pins).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:-$repo}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A copy of the collection (files git knows, tracked or new and not ignored) under
# .../ansible_collections/podsec/hardening, so ansible-doc and antsibull-* see exactly what would be committed.
collection="$work/collections/ansible_collections/podsec/hardening"
mkdir -p "$collection"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$collection/")
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
export ANSIBLE_NOCOLOR=1 ANSIBLE_DEPRECATION_WARNINGS=0

version=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$repo/galaxy.yml")

# Module docs (antsibull-docs wants an existing destination that only its owner can write).
mkdir -m 0755 "$work/modules"
antsibull-docs collection --use-current --squash-hierarchy --output-format simplified-rst \
  --no-add-antsibull-docs-version --fail-on-error --cleanup everything \
  --dest-dir "$work/modules" podsec.hardening >"$work/antsibull-docs.log" 2>&1 \
  || { cat "$work/antsibull-docs.log" >&2; exit 1; }
python3 "$repo/tests/docs/module_docs.py" "$work/modules"
rm -rf "$dest/docs/modules"
mkdir -p "$dest/docs"
cp -a "$work/modules" "$dest/docs/modules"

# Role docs.
rm -rf "$dest/docs/roles"
python3 "$repo/tests/docs/role_docs.py" "$collection/roles" "$dest/docs/roles"

# Changelog: the release entry for the version in galaxy.yml is rebuilt from the fragments (its
# date is kept unless RELEASE_DATE=YYYY-MM-DD is given); older releases stay as they are.
kept_date=$(python3 - "$collection/changelogs/changelog.yaml" "$version" <<'EOF'
import datetime, sys, yaml
path, version = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as handle:
    data = yaml.safe_load(handle) or {}
releases = data.get("releases") or {}
release = releases.pop(version, None) or {}
data["releases"] = releases
data.setdefault("ancestor", None)
with open(path, "w", encoding="utf-8") as handle:
    yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=True)
print(release.get("release_date") or datetime.datetime.now(datetime.timezone.utc).date().isoformat())
EOF
)
release_date=${RELEASE_DATE:-$kept_date}
(cd "$collection" && antsibull-changelog release --version "$version" --date "$release_date" >"$work/changelog.log" 2>&1) \
  || { cat "$work/changelog.log" >&2; exit 1; }
mkdir -p "$dest/changelogs"
cp "$collection/changelogs/changelog.yaml" "$dest/changelogs/changelog.yaml"
cp "$collection/CHANGELOG.rst" "$dest/CHANGELOG.rst"
