"""demo_app came out hardened: only the checks podsec.hardening ships (docs/reuse.md)."""

import pytest

from ansible_collections.podsec.hardening.tests.verify import podsec_checks

testinfra_hosts = ["ansible://app_hosts"]


@pytest.mark.parametrize("name, user", [("demo-web", None), ("demo-api", "podsec")])
def test_the_application_runs_hardened(host, name, user):
    podsec_checks.assert_hardened(host, name, user=user, secrets=["demo_app_token"])


@pytest.mark.parametrize("user", [None, "podsec"])
def test_the_trust_policy_refuses_an_unsigned_image_of_the_applications_registry(host, user):
    podsec_checks.assert_trust_refuses(host, "localhost:5000/trusted/unsigned:latest", user=user)
