"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads for its virtualenvs.

ansible-test fetches get-pip from a host this machine cannot reach; its error message says the script
may be saved to ~/.ansible/test/cache by hand. This one bootstraps pip with the standard library's
ensurepip and then installs the requested packages from the package index, which is reachable.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
arguments = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + arguments))
