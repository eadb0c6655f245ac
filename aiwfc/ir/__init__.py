"""The IR: pydantic models that are the single source of truth of the language.

Its JSON Schema (`aiwfc schema`, spec/aiwf.schema.json) is generated from here, and
a JSON/YAML document of the same IR is accepted wherever a `.aiwf` file is.
"""

from aiwfc.ir.models import *  # noqa: F401,F403
