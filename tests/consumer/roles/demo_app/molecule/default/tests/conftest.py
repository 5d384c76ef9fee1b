"""How a consumer's verify gets the collection's checks: from the collection molecule's ANSIBLE_COLLECTIONS_PATH holds."""

import os
import sys

sys.path[:0] = os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)
