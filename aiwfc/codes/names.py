"""AIWF1xx: names, structure and imports."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

UNDEFINED_NAME = define(
    "AIWF101", "undefined-name", S.ERROR, "{kind} `{name}` is not defined{hint}",
    summary="A reference to a param, resource, image, dataset, phase, port or site that does not exist.",
    why="The reference would bind to nothing at run time.",
    example='simulation md { resources = cpu_tsak }',
    instead='simulation md { resources = cpu_task }')

DUPLICATE_NAME = define(
    "AIWF102", "duplicate-name", S.ERROR, "{kind} `{name}` is defined more than once",
    summary="Two definitions of the same kind share a name in one scope.",
    why="References to the name would be ambiguous.",
    example='resource cpu { cores = 1 }\nresource cpu { cores = 2 }',
    instead='resource cpu { cores = 1 }\nresource cpu_wide { cores = 2 }')

UNKNOWN_ATTRIBUTE = define(
    "AIWF103", "unknown-attribute", S.ERROR, "unknown {what} `{name}` in {context}{hint}",
    summary="An attribute, statement or block that the enclosing block does not have.",
    why="Usually a typo; an ignored setting would silently not apply.",
    example='resource cpu { coers = 4 }',
    instead='resource cpu { cores = 4 }')

MISSING_ATTRIBUTE = define(
    "AIWF104", "missing-attribute", S.ERROR, "{context} needs {what}",
    summary="A block lacks something it cannot work without (an image without a base, a phase without a command).",
    why="There is no sensible default; the backends could not emit anything runnable.",
    example='image sim { pip = ["numpy==2.1.3"] }',
    instead='image sim { from = "docker.io/library/python:3.11-slim"  pip = ["numpy==2.1.3"] }')

IMPORT_NOT_FOUND = define(
    "AIWF105", "import-not-found", S.ERROR, "cannot import `{target}`: {detail}",
    summary="An `import` names a stdlib module or file that does not exist.",
    why="Definitions from it would be missing.",
    example='import "std/sites/genric-slurm"',
    instead='import "std/sites/generic-slurm"')

IMPORT_CYCLE = define(
    "AIWF106", "import-cycle", S.ERROR, "import cycle: {cycle}",
    summary="Files import each other in a circle.",
    why="There is no order in which to read them; split the shared part into its own file.",
    example='# a.aiwf\nimport "./b.aiwf"\n# b.aiwf\nimport "./a.aiwf"',
    instead='# a.aiwf and b.aiwf both\nimport "./common.aiwf"')

INVALID_VALUE = define(
    "AIWF107", "invalid-value", S.ERROR, "{detail}",
    summary="An attribute has a value of the wrong kind (text where a number belongs, an unknown choice).",
    why="The value cannot mean what the attribute needs.",
    example='resource cpu { cores = "four" }',
    instead='resource cpu { cores = 4 }')

UNKNOWN_SITE = define(
    "AIWF108", "unknown-site", S.ERROR, "site `{name}` is not defined{hint}",
    summary="`--site` (or a phase's `site`) names a site profile that no imported module and no stdlib module defines.",
    why="Resources can only be bound to a machine that is described.",
    example='aiwfc check wf.aiwf --site generic-slrm',
    instead='aiwfc check wf.aiwf --site generic-slurm')

NO_WORKFLOW = define(
    "AIWF109", "no-workflow", S.WARNING, "{file} defines no workflow",
    summary="A file given to `check`/`compile` holds only library definitions (sites, images, resources).",
    why="Nothing would be compiled; library modules are meant to be imported.",
    example='aiwf 0.1\nresource cpu { cores = 1 }',
    instead='aiwf 0.1\nworkflow w { ... }')
