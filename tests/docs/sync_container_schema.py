"""Write the parts of the docs and specs that derive from the one container schema.

    python3 tests/docs/sync_container_schema.py          rewrite them in place
    python3 tests/docs/sync_container_schema.py --check  exit 1 (naming the files) when they are stale

plugins/module_utils/_container_schema.py is the source. Generated from it, between BEGIN/END marker lines:
the per-container (and per-unit) options in plugins/modules/quadlet_container.py's DOCUMENTATION, and the role's
own keys in the descriptions of hardened_container_containers (_networks, _volumes, _pods) in
roles/hardened_container/meta/argument_specs.yml. tests/unit runs --check, so the module, its documentation and
the role cannot disagree. (The role's docs page takes its key tables from the schema itself: tests/docs/role_docs.py.)
"""

import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))

import _container_schema as schema  # noqa: E402  pylint: disable=wrong-import-position

BEGIN = "# BEGIN generated from plugins/module_utils/_container_schema.py (tests/docs/sync_container_schema.py)"
END = "# END generated"
TARGETS = (
    # (file, indentation of the block, what to write, block name: None for the container block)
    ("plugins/modules/quadlet_container.py", 2, schema.documentation, None),
    ("roles/hardened_container/meta/argument_specs.yml", 10, schema.role_keys_description, None),
) + tuple(
    target for _option, variable, kind, _section, _options in schema.UNIT_KINDS for target in (
        ("plugins/modules/quadlet_container.py", 6, lambda kind=kind: schema.kind_documentation(kind), kind),
        ("roles/hardened_container/meta/argument_specs.yml", 10,
         lambda kind=kind: schema.role_keys_description(kind), kind),
    )
)


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key (as ansible-lint's yamllint wants)."""

    def increase_indent(self, flow=False, indentless=False):
        return super(_Dumper, self).increase_indent(flow, False)


def _markers(name):
    """The BEGIN and END lines of a block: the container block's as before, a unit kind's named after it."""
    return (BEGIN, END) if name is None else ("%s: %s units" % (BEGIN, name), "%s: %s units" % (END, name))


def render_block(data, indent, name=None):
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=90, default_flow_style=False,
                     allow_unicode=True)
    pad = " " * indent
    begin, end = _markers(name)
    lines = [pad + begin] + [(pad + line) if line else line for line in text.splitlines()] + [pad + end]
    return "\n".join(lines) + "\n"


def replace_block(text, block, path, name=None):
    begin, end = _markers(name)
    lines = text.splitlines(True)
    starts = [i for i, line in enumerate(lines) if line.strip() == begin]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise SystemExit("%s: needs exactly one %r ... %r block" % (path, begin, end))
    return "".join(lines[:starts[0]]) + block + "".join(lines[ends[0] + 1:])


def main(argv):
    check = argv[1:] == ["--check"]
    stale = []
    for relative, indent, data, name in TARGETS:
        path = os.path.join(REPO, relative)
        with open(path) as handle:
            current = handle.read()
        wanted = replace_block(current, render_block(data(), indent, name), relative, name)
        if wanted != current:
            stale.append(relative)
            if not check:
                with open(path, "w") as handle:
                    handle.write(wanted)
    if check and stale:
        print("stale (run python3 tests/docs/sync_container_schema.py): %s" % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
