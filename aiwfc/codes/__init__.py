"""Diagnostic codes: the registry plus every family module.

Import the constants from here (`from aiwfc import codes; codes.UNDEFINED_NAME`).
"""

from aiwfc.codes.registry import REGISTRY, Code, all_codes, lookup  # noqa: F401
from aiwfc.codes.syntax import *  # noqa: F401,F403
from aiwfc.codes.names import *  # noqa: F401,F403
from aiwfc.codes.types import *  # noqa: F401,F403
from aiwfc.codes.graph import *  # noqa: F401,F403
from aiwfc.codes.resources import *  # noqa: F401,F403
from aiwfc.codes.data import *  # noqa: F401,F403
from aiwfc.codes.feedback import *  # noqa: F401,F403
from aiwfc.codes.practices import *  # noqa: F401,F403
from aiwfc.codes.containers import *  # noqa: F401,F403
from aiwfc.codes.backend import *  # noqa: F401,F403
