"""AWX readiness: ansible-builder accepts execution-environment.yml, and the collection it copies installs."""

import os
import subprocess
import sys
import tempfile

from conftest import REPO


def test_ansible_builder_create_and_collection_install():
    work = tempfile.mkdtemp(prefix="podsec-ee-")
    context = os.path.join(work, "context")
    create = subprocess.run([sys.executable, "-m", "ansible_builder", "create", "-f",
                             os.path.join(REPO, "execution-environment.yml"), "-c", context],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            check=False)
    assert create.returncode == 0, create.stdout
    with open(os.path.join(context, "Containerfile")) as handle:
        containerfile = handle.read()
    assert "ansible-galaxy collection install --force --no-deps -p /usr/share/ansible/collections " \
           "/build/podsec_hardening" in containerfile
    with open(os.path.join(context, "_build", "requirements.yml")) as handle:
        requirements = handle.read()
    for name in ("containers.podman", "ansible.posix", "community.general"):
        assert name in requirements
    copied = os.path.join(context, "_build", "podsec_hardening")
    assert os.path.isfile(os.path.join(copied, "plugins", "modules", "container_posture.py"))
    assert os.path.isfile(os.path.join(copied, "playbooks", "site.yml"))
    # What the image build runs in its galaxy stage, against the copied files.
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    target = os.path.join(work, "collections")
    install = subprocess.run([galaxy, "collection", "install", "--force", "--no-deps", "-p", target, copied],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert install.returncode == 0, install.stdout
    installed = os.path.join(target, "ansible_collections", "podsec", "hardening")
    assert os.path.isfile(os.path.join(installed, "MANIFEST.json"))
    assert os.path.isdir(os.path.join(installed, "roles", "hardened_container"))
