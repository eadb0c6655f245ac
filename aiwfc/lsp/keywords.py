"""Documentation of the language's words, for hover and completion.

Attribute pages are generated from the resolver's table (resolve/specs.py: what a
block allows and of which kind) and the IR models' field descriptions, so they cannot
drift from what the compiler accepts; the prose for block kinds and statements is here.
"""

from __future__ import annotations

from aiwfc.ir import models as ir
from aiwfc.resolve.specs import SPECS

BLOCKS = {
    "workflow": "A campaign: params, resource classes, images, datasets, phases and feedback loops.",
    "resource": "A resource class: what one task of a phase needs (nodes, cores, memory, gpus, walltime, "
                "launcher). A phase names it with `resources = NAME`; the site maps it to a partition.",
    "image": "A container image: base (`from`), packages (apt, pip, conda), files, environment, "
             "entrypoint, CUDA/MPI needs. Pin versions.",
    "dataset": "Where data lives and how it is read: tier, size, file count, format, access pattern, "
               "staging. `${NAME}` in a command is its directory.",
    "site": "A site profile: scheduler, partitions and their limits, scratch and shared paths, container "
            "runtime. The site binds a portable workflow to a machine.",
    "partition": "A partition (queue) of a site with its limits per node.",
    "feedback": "An explicit, bounded feedback loop: `body` phases repeat `until`/`while` a condition "
                "holds, at most `max_iterations` times; `next` carries values, `stop` ends running work.",
    "simulation": "A phase that runs a simulation (HPC work).",
    "preprocess": "A phase that prepares data (CPU work: no GPUs).",
    "training": "A phase that trains a model.",
    "inference": "A phase that applies a model.",
    "analysis": "A phase that analyses results.",
    "task": "A generic phase.",
    "service": "A long-running phase (an inference server, a digital twin) coupled to the phases that "
               "`uses = [NAME]` it; clients reach it at `${NAME.address}`.",
}

STATEMENTS = {
    "aiwf": "The version header: `aiwf 0.1` on the first line.",
    "import": 'Imports a stdlib module (`import "std/sites/generic-slurm"`) or a file relative to this one; '
              "its sites, resources, images and datasets become visible.",
    "param": "`param NAME: TYPE = DEFAULT`: a typed workflow input; `-p NAME=VALUE` or `--params FILE` "
             "override it.",
    "in": "`in NAME: TYPE = PHASE.PORT`: an input port bound to another phase's output (or a param, a dataset).",
    "out": "`out NAME: TYPE [= \"path\"]`: an output port. A file/dir output is a path in the task "
           "directory; any other type is a JSON file `NAME.json` the command writes.",
    "foreach": "`foreach VAR in SOURCE`: one task per item of a range, a list param, a dataset's files or "
               "another phase's list output; `${index}` is the item number.",
    "run": "`run \"COMMAND\"`: the command template; `${name}` interpolates ports, params, datasets, "
           "`${project}`, `${index}`, `${iteration}`.",
    "next": "`next PHASE.INPUT = EXPR`: the value the next iteration of the loop receives.",
    "stop": "`stop PHASE when EXPR`: ends running work of a phase when the condition holds.",
    "when": "The condition of a `stop` rule or of a phase (`when = EXPR`: run only when it holds).",
    "as": "`import \"...\" as NAME`: an alias for an imported module.",
}

BUILTINS = {
    "project": "`${project}`: the directory of the root .aiwf file (scripts and relative dataset paths "
               "live there). Type `dir`.",
    "index": "`${index}`: the item number inside a foreach (0-based). Type `int`.",
    "iteration": "`${iteration}`: the feedback-loop iteration (0-based). Type `int`.",
}

VALUES = {
    "dynamic_orchestration": "Motif: AI steers an ensemble, spawning and terminating runs.",
    "multistage_pipeline": "Motif: AI filters between the stages of a pipeline.",
    "inverse_design": "Motif: AI iteratively infers simulation inputs.",
    "digital_replica": "Motif: a surrogate or twin runs concurrently with, and coupled to, the simulation.",
    "distributed_models": "Motif: components on geographically distributed resources.",
    "adaptive_training": "Motif: simulations produce data that adaptively improve models (HPO/NAS).",
    "tight": "Coupling: in memory, same process or node.",
    "semi": "Coupling: same allocation, inference served beside the simulation.",
    "loose": "Coupling: different machines.",
}

_MODELS = {"workflow": ir.Workflow, "resource": ir.ResourceClass, "image": ir.Image, "dataset": ir.Dataset,
           "feedback": ir.Feedback, "site": ir.SiteProfile, "partition": ir.Partition,
           **{k: ir.Phase for k in ir.PHASE_KINDS}}
_FIELD = {"from": "base", "while": "while_"}

KIND_TEXT = {"int": "a whole number", "bool": "`true` or `false`", "str": "text", "size": "a size (`16GiB`)",
             "duration": "a duration (`90m`, `2h`)", "name": "a name", "strs": "a list of strings",
             "names": "a list of names", "refs": "a list of references", "map": "a map `{ KEY = \"value\" }`",
             "expr": "an expression"}


def attribute_doc(block: str, key: str) -> str | None:
    """The page of attribute `key` in a `block` block, or None when it has no such attribute."""
    spec = SPECS.get(block)
    if spec is None or key not in spec.attrs:
        return None
    kind = spec.attrs[key]
    if kind.startswith("choice:"):
        what = "one of " + ", ".join(f"`{v}`" for v in kind[7:].split("|"))
    else:
        what = KIND_TEXT.get(kind, kind)
    text = f"**{key}** ({what}) in a `{block}` block"
    model = _MODELS.get(block)
    info = model.model_fields.get(_FIELD.get(key, key)) if model else None
    if info is not None and info.description:
        text += f": {info.description}"
    if key in spec.required:
        text += " (required)"
    return text


def word_doc(word: str, block: str | None) -> str | None:
    """Hover text for a language word: a block kind, a statement, an attribute or a value."""
    if block is not None:
        doc = attribute_doc(block, word)
        if doc:
            return doc
    if word in BLOCKS:
        return f"**{word}** block: {BLOCKS[word]}"
    if word in STATEMENTS:
        return f"**{word}**: {STATEMENTS[word]}"
    if word in VALUES:
        return f"**{word}**: {VALUES[word]}"
    return None
