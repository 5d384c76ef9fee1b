# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Post-process the antsibull-docs output (simplified RST, squashed hierarchy) in DIR.

Usage: module_docs.py DIR

- Role pages (*_role.rst) are removed: docs/roles/<role>.md (tests/docs/role_docs.py) documents the
  roles with their defaults, which argument_specs.yml does not carry; index.rst links there instead.
- References to plugins of other collections point at their published documentation instead of a
  file next to ours that does not exist.
- Every remaining relative .rst link must resolve to a file in DIR (exit 1 otherwise).
"""

from __future__ import annotations

import os
import re
import sys

OWN = ("podsec", "hardening")
LINK = re.compile(r"`([^`<]*?)\s*<([^>`]+)>`(__?)")
FQCN_TEXT = re.compile(r"^([a-z0-9_]+)\.([a-z0-9_]+)\.([A-Za-z0-9_\\]+)$")
PUBLISHED = "https://docs.ansible.com/ansible/latest/collections/%s/%s/%s_%s.html"


def rewrite(text, existing):
    problems = []

    def replace(match):
        label, target, underscores = match.group(1), match.group(2), match.group(3)
        role = re.match(r"^([a-z0-9_]+)_role\.rst$", target)
        if role:
            return "`%s <../roles/%s.md>`%s" % (label, role.group(1), underscores)
        plugin = re.match(r"^([a-z0-9_]+)_([a-z]+)\.rst$", target)
        fqcn = FQCN_TEXT.match(label)
        if plugin and target not in existing:
            if fqcn and (fqcn.group(1), fqcn.group(2)) != OWN:
                url = PUBLISHED % (fqcn.group(1), fqcn.group(2), plugin.group(1), plugin.group(2))
                return "`%s <%s>`%s" % (label, url, underscores)
            problems.append(target)
        return match.group(0)

    return LINK.sub(replace, text), problems


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: module_docs.py DIR\n")
        return 2
    directory = argv[1]
    for name in os.listdir(directory):
        if name.endswith("_role.rst"):
            os.unlink(os.path.join(directory, name))
    existing = set(os.listdir(directory))
    failed = False
    for name in sorted(existing):
        if not name.endswith(".rst"):
            continue
        path = os.path.join(directory, name)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        new, problems = rewrite(text, existing)
        for target in problems:
            sys.stderr.write("module_docs: %s links to %s, which was not generated\n" % (name, target))
            failed = True
        if new != text:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(new)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
