"""AWX readiness: ansible-builder accepts execution-environment.yml, every collection the EE installs is
pinned exactly, the EE's ansible.cfg turns pipelining on, and the collection it copies installs."""

import configparser
import glob
import os
import re
import subprocess
import sys

import yaml

from conftest import ee_ansible_cfg


def test_ansible_builder_create_and_collection_install(ee_build_context):
    context = ee_build_context
    [containerfile_path] = glob.glob(os.path.join(context, "*file"))
    with open(containerfile_path) as handle:
        containerfile = handle.read()
    assert "ansible-galaxy collection install --force --no-deps -p /usr/share/ansible/collections " \
           "/build/podsec_hardening" in containerfile
    copied = os.path.join(context, "_build", "podsec_hardening")
    assert os.path.isfile(os.path.join(copied, "plugins", "modules", "container_posture.py"))
    assert os.path.isfile(os.path.join(copied, "playbooks", "site.yml"))
    assert os.path.isfile(os.path.join(copied, "playbooks", "inventory.yml"))
    # What the image build runs in its galaxy stage, against the copied files.
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    target = os.path.join(os.path.dirname(context), "collections")
    install = subprocess.run([galaxy, "collection", "install", "--force", "--no-deps", "-p", target, copied],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert install.returncode == 0, install.stdout
    installed = os.path.join(target, "ansible_collections", "podsec", "hardening")
    assert os.path.isfile(os.path.join(installed, "MANIFEST.json"))
    assert os.path.isdir(os.path.join(installed, "roles", "hardened_container"))


def test_ee_collections_are_pinned_exactly(ee_build_context):
    with open(os.path.join(ee_build_context, "_build", "requirements.yml")) as handle:
        requirements = yaml.safe_load(handle)["collections"]
    # galaxy.yml declares no runtime dependency; any the EE installs must be pinned to one version.
    assert [item["name"] for item in requirements] == []
    for item in requirements:
        assert re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", str(item.get("version", ""))), item


def test_ee_ansible_cfg_turns_pipelining_on(ee_build_context):
    [containerfile_path] = glob.glob(os.path.join(ee_build_context, "*file"))
    with open(containerfile_path) as handle:
        containerfile = handle.read()
    assert "COPY _build/configs/ansible.cfg /etc/ansible/ansible.cfg" in containerfile
    config = configparser.ConfigParser()
    assert config.read(ee_ansible_cfg(ee_build_context))
    assert config.getboolean("connection", "pipelining") is True
