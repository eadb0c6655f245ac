"""What each block kind may contain: the resolver's table of the language.

Kinds of attribute values: `int`, `bool`, `str`, `size`, `duration`, `name` (a bare
identifier naming something), `choice:<a|b>` (an identifier or string from a set),
`strs` (list of strings), `names` (list of identifiers), `refs` (list of dotted
references), `map` (string map), `expr` (an expression kept as is).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiwfc.ir.models import (ACCESS_PATTERNS, COUPLINGS, LAUNCHERS, MOTIFS, PHASE_KINDS, STAGING,
                             TIERS)


def choice(values) -> str:
    return "choice:" + "|".join(values)


@dataclass(frozen=True)
class BlockSpec:
    """Allowed content of one block kind; `field` maps an attribute to its IR field name."""

    attrs: dict[str, str]
    statements: frozenset[str] = frozenset()
    blocks: frozenset[str] = frozenset()
    named: bool = True
    required: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)


RESOURCE = BlockSpec(attrs={
    "nodes": "int", "tasks_per_node": "int", "cores": "int", "memory": "size", "gpus": "int",
    "gpu_model": "str", "walltime": "duration", "launcher": choice(LAUNCHERS), "exclusive": "bool",
})
IMAGE = BlockSpec(attrs={
    "from": "str", "apt": "strs", "pip": "strs", "conda": "strs", "files": "map", "env": "map",
    "labels": "map", "entrypoint": "str", "cuda": "str", "mpi": "str", "test": "str",
}, required=("from",))
DATASET = BlockSpec(attrs={
    "path": "str", "tier": choice(TIERS), "size": "size", "files": "int", "format": "str",
    "access": choice(ACCESS_PATTERNS), "version": "str", "stage": choice(STAGING),
}, required=("path",))
PHASE = BlockSpec(attrs={
    "doc": "str", "image": "name", "resources": "name", "runtime": "duration", "retries": "int",
    "track": "refs", "uses": "names", "coupling": choice(COUPLINGS), "site": "name", "env": "map",
    "when": "expr", "batch": "int",
}, statements=frozenset({"foreach", "in", "out", "run"}))
FEEDBACK = BlockSpec(attrs={
    "body": "names", "until": "expr", "while": "expr", "max_iterations": "expr",
}, statements=frozenset({"next", "stop"}), required=("body",))
PARTITION = BlockSpec(attrs={
    "nodes": "int", "cores": "int", "memory": "size", "gpus": "int", "gpu_model": "str",
    "max_walltime": "duration", "default": "bool",
})
SITE = BlockSpec(attrs={
    "doc": "str", "scheduler": choice(("slurm", "local")), "account": "str", "qos": "str",
    "scratch": "str", "shared": "str", "container_runtime": choice(("apptainer", "singularity", "docker", "none")),
    "image_dir": "str", "gpu_request": choice(("gres", "gpus_per_node")), "max_array_size": "int",
    "max_jobs": "int", "modules": "strs", "cuda_driver": "str", "mpi_bind": "strs",
    "cluster_target": "duration", "track": "str",
}, blocks=frozenset({"partition"}))

_LIBRARY = frozenset({"resource", "image", "dataset"})
WORKFLOW = BlockSpec(attrs={"motif": choice(MOTIFS), "doc": "str", "track": "str"},
                     statements=frozenset({"param"}),
                     blocks=_LIBRARY | frozenset(PHASE_KINDS) | {"feedback"})

SPECS: dict[str, BlockSpec] = {
    "workflow": WORKFLOW, "site": SITE, "partition": PARTITION, "resource": RESOURCE, "image": IMAGE,
    "dataset": DATASET, "feedback": FEEDBACK, **{k: PHASE for k in PHASE_KINDS},
}
TOP_LEVEL = frozenset({"workflow", "site"}) | _LIBRARY
STATEMENT_WORDS = {"param": "param", "in": "in", "out": "out", "foreach": "foreach", "run": "run",
                   "next": "next", "stop": "stop"}
