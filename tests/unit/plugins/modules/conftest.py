# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.podsec.hardening.tests.unit.plugins.modules.utils import patch_module, run_main


@pytest.fixture
def module_runner(monkeypatch):
    """``run_main`` with AnsibleModule patched: ``module_runner(main, args, check_mode, diff, expect=ExitJson)``."""
    patch_module(monkeypatch)
    return run_main
