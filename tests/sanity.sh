#!/usr/bin/env bash
# ansible-test sanity for this checkout. ansible-test needs the collection at
# .../ansible_collections/podsec/hardening, so the files git knows (tracked and new, not ignored)
# are copied into such a tree first. Extra arguments go to ansible-test (e.g. --test pep8 FILE).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# Outside the checkout: inside it, ansible-test would find this repository's .git and skip the
# ignored copy.
tree_root=${PODSEC_SANITY_TREE:-/var/tmp/podsec-sanity}
tree="$tree_root/ansible_collections/podsec/hardening"
rm -rf "$tree_root"
mkdir -p "$tree"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$tree/")
# ansible-test bootstraps pip in its virtualenvs with a script it downloads from a host that is not
# reachable here; give it the offline stand-in under the name it looks for.
pip_version=$(python3 - <<'PY'
import os, re, ansible_test
source = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$get_pip")"
cmp -s "$repo/tests/ansible_test_get_pip.py" "$get_pip" || cp "$repo/tests/ansible_test_get_pip.py" "$get_pip"
cd "$tree"
ansible-test sanity --python 3.11 --color no --exclude tests/testbed/ --exclude molecule/ "$@"
