# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Property: whatever text goes into a string field, the unit is refused naming the field, or it means exactly
that text to systemd and Quadlet, with no key or section more than the same unit with a harmless value.

Read with tests/unitfile_oracle.py, which shares no code with the renderer. The run in the test command is
bounded and derandomized (the same examples every time); PODSEC_HYPOTHESIS_EXAMPLES=20000 runs a longer,
random one locally (see docs/hardened_container.md).
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.podsec.hardening.plugins.module_utils._quadlet import QuadletError, build_unit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", ".."))
import unitfile_oracle as oracle  # noqa: E402  pylint: disable=wrong-import-position

BASE = {"name": "web", "image": "localhost/podsec/busybox:latest"}
VERSION = (5, 5)
LONG_RUN = int(os.environ.get("PODSEC_HYPOTHESIS_EXAMPLES", "0"))
TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(oracle.interesting_text()), max_size=12),
    st.text(max_size=12),
    st.sampled_from(["%t/podman/podman.sock", "/srv/%h", "a$HOME", "${X}", "x\nExecStartPre=/bin/sh",
                     "always\n[Service]", " PodmanArgs", "/srv/x\\", "a\\nb", '"quoted"', "it's", "100%"]),
)


def render(spec):
    return build_unit(dict(BASE, **spec), VERSION, header=["Ansible managed"])


def check_field(field, text):
    definition = oracle.FIELDS[field]
    try:
        rendered = render(definition["update"](text))
    except QuadletError as exc:
        assert oracle.refusal_names_field(field, str(exc)), (field, text, str(exc))
        return "refused"
    parsed = oracle.read(rendered)
    baseline = oracle.read(render(definition["update"](oracle.BENIGN[field])))
    assert oracle.key_counts(parsed) == oracle.key_counts(baseline), (field, text, rendered)
    assert parsed[definition["key"]] == definition["expected"](text), (field, text, rendered)
    return "accepted"


@pytest.mark.parametrize("field", sorted(oracle.FIELDS))
@settings(max_examples=LONG_RUN or 150, derandomize=not LONG_RUN, deadline=None, database=None)
@given(text=TEXT)
def test_any_text_is_refused_by_name_or_means_exactly_itself(field, text):
    check_field(field, text)


@pytest.mark.parametrize("field", sorted(oracle.FIELDS))
def test_every_field_accepts_its_harmless_value(field):
    # The property above would hold vacuously for a field that refuses everything.
    assert check_field(field, oracle.BENIGN[field]) == "accepted"


def test_the_reader_catches_what_the_renderer_must_prevent():
    # Controls: the oracle fails on exactly the unescaped forms the renderer escapes.
    with pytest.raises(oracle.Expansion):
        oracle.read("[Unit]\nDescription=%n\n")
    with pytest.raises(oracle.Expansion):
        oracle.read("[Container]\nVolume=$HOME:/data\n")
    parsed = oracle.read("[Service]\nRestart=always\nExecStartPre=/bin/sh\n")
    assert ("Service", "ExecStartPre") in parsed
    joined = oracle.read("[Unit]\nDescription=x\\\n[Service]\n")
    assert joined[("Unit", "Description")] == ["x [Service]"]
