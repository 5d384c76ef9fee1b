# -*- coding: utf-8 -*-
"""Make this checkout importable as ``ansible_collections.podsec.hardening`` for plain pytest.

ansible-test does the same by requiring an ``ansible_collections/podsec/hardening`` tree; here a
symlink tree under tests/output gives pytest that layout without moving the checkout.
"""

from __future__ import annotations

import os
import sys

_COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_NAMESPACE_DIR = os.path.join(_COLLECTION_ROOT, "tests", "output", "import-root", "ansible_collections", "podsec")
_LINK = os.path.join(_NAMESPACE_DIR, "hardening")

if not _COLLECTION_ROOT.endswith(os.path.join("ansible_collections", "podsec", "hardening")):
    os.makedirs(_NAMESPACE_DIR, exist_ok=True)
    if not os.path.islink(_LINK):
        os.symlink(_COLLECTION_ROOT, _LINK)
    sys.path.insert(0, os.path.dirname(os.path.dirname(_NAMESPACE_DIR)))
