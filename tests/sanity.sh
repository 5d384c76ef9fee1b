#!/usr/bin/env bash
# ansible-test sanity for this checkout. ansible-test needs the collection at
# .../ansible_collections/podsec/hardening, so the files git knows (tracked and new, not ignored)
# are copied into such a tree first. Extra arguments go to ansible-test (e.g. --test pep8 FILE).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tree="$repo/tests/output/sanity-tree/ansible_collections/podsec/hardening"
rm -rf "$repo/tests/output/sanity-tree"
mkdir -p "$tree"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$tree/")
cd "$tree"
ansible-test sanity --python 3.11 --color no --exclude tests/testbed/ --exclude molecule/ "$@"
