"""Helpers shared by the fleet scenario's host tests."""

import json


def inspect(host, name, user=None):
    command = "podman container inspect %s" % name
    if user:
        command = "runuser -u %s -- sh -c 'cd && XDG_RUNTIME_DIR=/run/user/$(id -u) %s'" % (user, command)
    return json.loads(host.check_output(command))[0]


def policy(host):
    return json.loads(host.file("/etc/containers/policy.json").content_string)
