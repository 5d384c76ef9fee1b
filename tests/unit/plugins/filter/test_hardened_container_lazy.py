# -*- coding: utf-8 -*-
# Copyright: podsec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The plan filter through ansible-core's template engine, as the role's set_fact task calls it.

ansible-core 2.19 hands a filter lazy containers, and a deep copy of one copies its templar with the variables
(ArgumentSpecValidator copies the parameters of each container it checks): 0.6 to 2.8 s of controller CPU per
host for 30 containers in the benchmark. The filter reads its input into plain data first. Run in a
subprocess: the template engine installs ansible's collection loader, which the other unit tests do not use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

IMPORT_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "output", "import-root"))

SCRIPT = r"""
import json, sys
from ansible._internal._datatag._tags import TrustedAsTemplate
from ansible._internal._templating import _lazy_containers
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar

init_plugin_loader([sys.argv[1]])
from ansible_collections.podsec.hardening.plugins.filter import hardened_container as plugin
if sys.argv[2] == "without":
    plugin._plain = lambda value: value  # the control: the filter as it was
copies = []
for lazy in (_lazy_containers._AnsibleLazyTemplateDict, _lazy_containers._AnsibleLazyTemplateList):
    original = lazy.__deepcopy__
    lazy.__deepcopy__ = lambda self, memo, original=original: copies.append(1) or original(self, memo)
containers = [{"name": "hc%d" % index, "image": "localhost/podsec/busybox:latest", "command": ["sleep", "1000"],
               "volumes": [{"source": "/srv/hc%d" % index, "target": "/data"}]} for index in range(1, 31)]
templar = Templar(loader=DataLoader(), variables={"containers": containers, "owner": "root"})
plan = templar.template(TrustedAsTemplate().tag(
    "{{ containers | podsec.hardening.hardened_container_plan(owner, '/run/podsec-secrets-root') }}"))
direct = plugin.hardened_container_plan(json.loads(json.dumps(containers)), "root", "/run/podsec-secrets-root")
print(json.dumps({"copies": len(copies), "same": json.loads(json.dumps(plan)) == json.loads(json.dumps(direct)),
                  "units": len(plan["units"])}))
"""


def template_plan(variant):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, IMPORT_ROOT, variant], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=IMPORT_ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def with_plain():
    return template_plan("with")


def test_the_templated_plan_copies_no_lazy_container(with_plain):
    assert with_plain == {"copies": 0, "same": True, "units": 30}


def test_control_without_plain_data_every_container_check_copies_lazy_containers(with_plain):
    control = template_plan("without")
    # the same plan, at the cost of deep copies of lazy containers (each with its templar and variables)
    assert control["same"] and control["units"] == 30
    assert control["copies"] >= 30
