# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the relative links (and #anchors) of the Markdown documentation.

Usage: python3 check_links.py FILE.md...

A link to a file must resolve inside the repository; a link with an anchor into a Markdown file must
name one of its headings (GitHub's slugs) or an explicit <a id="...">. Exit 1 naming every broken link.
"""

from __future__ import annotations

import os
import re
import sys

LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"(?ms)^```.*?^```")
HEADING = re.compile(r"(?m)^#{1,6}\s+(.+?)\s*#*\s*$")
EXPLICIT = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")


def slug(heading):
    text = re.sub(r"`|\*\*|__", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    with open(path, encoding="utf-8") as handle:
        text = FENCE.sub("", handle.read())
    found = set(EXPLICIT.findall(text))
    seen = {}
    for heading in HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else "%s-%d" % (base, count))
    return found


def main(argv):
    broken = []
    for source in argv[1:]:
        with open(source, encoding="utf-8") as handle:
            text = FENCE.sub("", handle.read())
        for target in LINK.findall(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue
            path, anchor = (target.split("#", 1) + [""])[:2]
            resolved = os.path.normpath(os.path.join(os.path.dirname(source), path)) if path else source
            if not os.path.exists(resolved):
                broken.append("%s: %s does not exist" % (source, target))
            elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                broken.append("%s: %s has no heading or anchor #%s" % (source, path or source, anchor))
    for line in broken:
        sys.stderr.write("check_links: %s\n" % line)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
