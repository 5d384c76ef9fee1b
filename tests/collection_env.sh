# Sourced (not run) by tests/run_all.sh and demo/run.sh after the virtualenv is on PATH: make this checkout
# the only podsec.hardening that Ansible, ansible-lint and molecule can load.
#
# The import root's ansible_collections/podsec/hardening links to the checkout, and it is the only directory
# in ANSIBLE_COLLECTIONS_PATH: the default search path (~/.ansible/collections, /usr/share/ansible/collections)
# is left out, so a stale copy installed there can never win. ansible-lint and molecule put their cache
# directory's collections first in the path (ANSIBLE_HOME, ~/.ansible by default), so ANSIBLE_HOME points into
# tests/output with the import root as its collections directory; molecule finds the link to the checkout
# there and installs no copy. Collections bundled with the ansible package are still found through the
# virtualenv's sys.path.
# shellcheck shell=bash
podsec_repo=${podsec_repo:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
podsec_import_root="$podsec_repo/tests/output/import-root"
mkdir -p "$podsec_import_root/ansible_collections/podsec" "$podsec_repo/tests/output/ansible-home"
ln -sfn "$podsec_repo" "$podsec_import_root/ansible_collections/podsec/hardening"
ln -sfn "$podsec_import_root" "$podsec_repo/tests/output/ansible-home/collections"
export ANSIBLE_HOME="$podsec_repo/tests/output/ansible-home"
export ANSIBLE_COLLECTIONS_PATH="$podsec_import_root"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true
