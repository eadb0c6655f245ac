"""One CWL CommandLineTool per phase.

The tool runs `bash -c SCRIPT`, where SCRIPT is built by one JavaScript expression
from the phase's command template: literal text stays as written, every `${...}` is
expanded the aiwf way (`aiwf_words`: one quoted shell word per value, lists as
separate words). The tool's inputs are exactly the values the command and the output
paths read: the phase's input ports, its foreach variable, `index`, `iteration`,
`project` (the source directory, a Directory input so that a container runner mounts
it), params, datasets and other phases' outputs named directly in the command.
`Feed` tells the workflow builder how to wire each of them.

What CWL does not have is built around the command, in the same script:

* retries (`retries = N`): the command is tried up to N+1 times;
* services (`uses = [svc]`): the service is started in `_svc_<name>/` before the
  command, its `address.json` awaited and its address passed to the command, and it is
  stopped (SIGTERM) when the command ends; the service's outputs are outputs of the
  client's tool (`svc__<name>__<port>`);
* task records (a phase with `track = [...]`): after a successful command, python3 writes
  `aiwf-record.json` with the fields of the shared runtime's task.json (RECORD_SCRIPT): the
  expanded command, item, inputs, the params the phase reads, its datasets (declared version,
  content hash of one read whole), the sha256 of its input files, its image (name, recipe
  hash) and outputs, and the `tracked` values, all named as in the runtime spec the Slurm and
  Parsl backends run from (ToolOptions.spec); the tool's output `aiwf_record`. The workflow
  collects them and `python -m aiwfc.cwlrecords` turns them into RUN/tasks/... records.
  The record is built by the runtime's own code: the tool carries RECORD_MODULES in its
  InitialWorkDirRequirement (their text, so that the tool needs no file beside it) and
  RECORD_SCRIPT is a short driver over them.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from aiwfc.ir import models as ir
from aiwfc.semantic import RefContext, Scope, Typer
from aiwfc.syntax import ast

from aiwfc_backends.cwl.js import EXPRESSION_LIB, ValueRef, classify, compile_expr, with_fields
from aiwfc_backends.cwl.types import cwl_type, optional, value_output_eval
from aiwfc_backends.runtime.spec import runtime_source

__all__ = ["Feed", "ToolSpec", "ToolOptions", "build_tool", "MIB", "service_outputs", "project_relative",
           "project_dataset_items", "RECORD_OUTPUT", "RECORD_FILE", "RECORD_SCRIPT", "RECORD_MODULES",
           "cwl_literal"]

MIB = 1024 * 1024
CWLTOOL_NS = "http://commonwl.org/cwltool#"
ADDRESS_WAIT_STEPS = 1200  # x 0.05 s: how long a client waits for its service's address
RECORD_OUTPUT = "aiwf_record"
RECORD_FILE = "aiwf-record.json"
# The runtime modules a tracked tool ships into its directory (InitialWorkDirRequirement, the
# text verbatim: the tool stays self-contained) so that RECORD_SCRIPT builds its record with
# the runtime's own code; aiwf_records imports aiwf_base only.
RECORD_MODULES = ("aiwf_base.py", "aiwf_records.py")
# Completes a task record after the command (argv[1]: what the JavaScript knew before the
# command; argv[2]: when it started) with the functions the shared runtime writes task.json
# with: the record's fields (task_record), input file and dataset hashes (input_files,
# dataset_record), tracked output fields (tracked_values), the cache key (task_key), times
# (now). What stays here is CWL's: outputs are read as they are (cwltool checks them), and
# attempts are unknown under retries (the tool's script loops). stdlib only: it runs in the
# task's image, beside RECORD_MODULES.
RECORD_SCRIPT = """import json, os, sys, time
from pathlib import Path
from aiwf_base import now, write_json
from aiwf_records import dataset_record, input_files, task_key, task_record, tracked_values
v = json.loads(sys.argv[1])
t1 = time.time()
try:
    t0 = float(sys.argv[2])
except (IndexError, ValueError):
    t0 = t1
r = task_record(v['workflow'], v['phase'], v['kind'], v['iteration'], v['index'], v['item'], v['params'])
outs = {}
for name, (kind, path) in sorted(v['outs'].items()):
    try:
        outs[name] = json.load(open(path)) if kind == 'json' else os.path.abspath(path)
    except (OSError, ValueError):
        pass
s = round(t1 - t0, 3)
once = not v['retries']
r.update(command=v['command'], inputs=v['inputs'], image=v['image'], outputs=outs,
         tracked=dict(v['tracked'], **tracked_values(v['post'], outs, {})),
         input_files=input_files({'inputs': v['ports']}, v['inputs'], v['item']),
         datasets={n: dataset_record(d['path'], d['version'], d['whole']) for n, d in v['datasets'].items()},
         state='done', exit=0, start=now(t0), end=now(t1), seconds=s, attempts=1 if once else None,
         attempt_log=[{'attempt': 1, 'exit': 0, 'seconds': s, 'error': None}] if once else [])
r['key'] = task_key(r, v['env'])
write_json(Path('""" + RECORD_FILE + """'), r)
"""
# JSON.stringify's replacer in a record: a File or Directory value is its path, as in task.json
_PATHS_REPLACER = ('function (k, v) { return (v !== null && typeof v === "object" && '
                   '(v["class"] === "File" || v["class"] === "Directory")) ? v.path : v; }')


@dataclass(frozen=True)
class Feed:
    """Where the workflow takes a tool input from.

    kind: `param` / `dataset` (name), `project`, `index`, `iteration`, `foreach` (the
    scattered item), `port` (the phase's input port `name`: its binding, or the value a
    loop carries into it), `value` (another phase's output `ref.key`), `service_port`
    (input port `name` of service `service`)."""

    kind: str
    name: str = ""
    ref: ValueRef | None = None
    service: str | None = None


@dataclass
class ToolOptions:
    """What the plan and the command line decide for one tool."""

    cores: int = 1
    memory: int | None = None
    walltime: int | None = None
    tmpdir: int | None = None
    outdir: int | None = None
    gpus: int = 0
    cuda: str | None = None
    gpu_as_requirement: bool = False
    mpi_processes: int | None = None
    docker: str | None = None
    staged: frozenset[str] = frozenset()
    env: dict[str, str] = field(default_factory=dict)
    spec: dict[str, Any] | None = None  # the phase's runtime-spec entry: what its task record names


@dataclass
class ToolSpec:
    """A tool document and how to feed each of its inputs."""

    doc: dict[str, Any]
    feeds: dict[str, Feed]
    input_types: dict[str, Any]


class _Inputs:
    """The tool's inputs, collected while the command is rendered (first use first)."""

    def __init__(self) -> None:
        self.types: dict[str, Any] = {}
        self.feeds: dict[str, Feed] = {}

    def need(self, name: str, cwl: Any, feed: Feed) -> str:
        if name not in self.types:
            self.types[name] = cwl
            self.feeds[name] = feed
        return f"inputs.{name}"


class _Renderer:
    """Renders references of one phase's templates into JavaScript over the tool's inputs."""

    def __init__(self, scope: Scope, typer: Typer, phase: ir.Phase, inputs: _Inputs,
                 staged: frozenset[str], service_of: ir.Phase | None = None):
        self.scope, self.typer, self.phase, self.inputs = scope, typer, phase, inputs
        self.staged = staged
        self.datasets_used: set[str] = set()
        self.service_of = service_of  # rendering a service's command inside this client's tool
        self.ctx = RefContext(phase=phase, loop=scope.loop_of.get(phase.name), in_command=True)

    def _input_name(self, name: str) -> str:
        return f"svc__{self.phase.name}__{name}" if self.service_of is not None else name

    def value(self, ref: ast.Ref) -> str:
        """JavaScript for the value of a reference."""
        v = classify(self.typer, ref, self.ctx)
        ph = self.phase
        if v.kind == "output":
            port = ph.output(v.name)
            if port.type.is_path:
                return self.path_text(port)
            return json.dumps(f"{port.name}.json")
        if v.kind == "input":
            port = ph.input(v.name)
            name = self._input_name(v.name)
            feed = Feed("service_port", v.name, service=ph.name) if self.service_of is not None else Feed("port", v.name)
            cwl = cwl_type(port.type)
            if self.conditional_source(port):  # a skipped producer leaves null
                cwl = optional(cwl)
            return with_fields(self.inputs.need(name, cwl, feed), v.fields)
        if v.kind == "foreach":
            if project_dataset_items(self.scope, self.typer, ph) is not None:
                # files of a dataset inside the project: the item is the path below `project`
                item_js = self.inputs.need(v.name, "string", Feed("foreach", v.name))
                project = self.inputs.need("project", "Directory", Feed("project"))
                return f'({project}.path + "/" + {item_js})'
            item = self.typer.foreach_item_type(ph)
            return with_fields(self.inputs.need(v.name, cwl_type(item), Feed("foreach", v.name)), v.fields)
        if v.kind == "builtin":
            if v.name == "project":
                return self.inputs.need("project", "Directory", Feed("project"))
            return self.inputs.need(v.name, "int", Feed(v.name))
        if v.kind == "param":
            param = self.scope.params[v.name]
            return with_fields(self.inputs.need(v.name, cwl_type(param.type), Feed("param", v.name)), v.fields)
        if v.kind == "dataset":
            if v.name in self.staged:  # staged into the task directory by InitialWorkDirRequirement
                self.dataset_value(v.name)
                return f'(runtime.outdir + "/" + {json.dumps(v.name)})'
            return self.dataset_value(v.name)
        if v.kind == "port":
            t = self.typer.type_of(ast.Ref(parts=ref.parts[:2], span=ref.span), self.ctx, report=False)
            js = self.inputs.need(v.key, cwl_type(t), Feed("value", v.key, ref=ValueRef("port", v.name, v.phase, v.port)))
            return with_fields(js, v.fields)
        raise ValueError(f"`{ast.unparse(ref)}` cannot be used here")

    def conditional_source(self, port: ir.Port) -> bool:
        """Whether an input is bound to an output of a phase that runs only `when` ..."""
        if port.value is None:
            return False
        for ref in self.typer.refs(port.value):
            other = self.scope.phases.get(ref.parts[0].text)
            if other is not None and other.when is not None and other is not self.phase:
                return True
        return False

    def dataset_value(self, name: str) -> str:
        self.datasets_used.add(name)
        """JavaScript for a dataset's directory: inside the project directory it is a path
        below the `project` input (cwltool does not stage a Directory input that lies inside
        another input of the same tool), elsewhere a Directory input of its own."""
        rel = project_relative(self.scope.datasets[name])
        if rel is not None:
            project = self.inputs.need("project", "Directory", Feed("project"))
            return f'({project}.path + "/" + {json.dumps(rel)})'
        return self.inputs.need(name, "Directory", Feed("dataset", name))

    def path_text(self, port: ir.Port) -> str:
        """JavaScript for the path of a file/dir output, relative to the task directory."""
        if port.value is None:
            return json.dumps(port.name)
        return self.text(port.value)

    def text(self, t: ast.Expr) -> str:
        """A template as text (values joined by spaces, unquoted)."""
        if not isinstance(t, ast.Template):
            return f"aiwf_text({compile_expr(t, self.value)})"
        parts = [json.dumps(p) if isinstance(p, str) else f"aiwf_text({compile_expr(p, self.value)})"
                 for p in t.parts]
        return "(" + " + ".join(parts) + ")" if parts else '""'

    def command(self, t: ast.Template, addresses: dict[str, str]) -> str:
        """A command template as shell text: every interpolated value quoted."""
        parts = []
        for p in t.parts:
            if isinstance(p, str):
                parts.append(json.dumps(p))
                continue
            if isinstance(p, ast.Ref):
                v = classify(self.typer, p, self.ctx)
                if v.kind == "address":
                    parts.append(json.dumps(f'"${addresses[v.phase]}"'))
                    continue
            parts.append(f"aiwf_words({compile_expr(p, self.value)})")
        return " + ".join(parts) if parts else '""'


def project_relative(ds: ir.Dataset) -> str | None:
    """A dataset's path relative to the project directory, or None when it lies elsewhere."""
    path = ds.path.rstrip("/") or "."
    if "://" in path or posixpath.isabs(path):
        return None
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../"):
        return None
    return norm


def project_dataset_items(scope: Scope, typer: Typer, ph: ir.Phase) -> str | None:
    """For `foreach x in ds` over a dataset inside the project: the dataset's relative path."""
    src = ph.foreach.source if ph.foreach is not None else None
    if not isinstance(src, ast.Ref) or len(src.parts) != 1:
        return None
    v = classify(typer, src, RefContext(loop=scope.loop_of.get(ph.name)))
    if v.kind != "dataset":
        return None
    return project_relative(scope.datasets[v.name])


def cwl_literal(text: str) -> str:
    """`text` as a CWL string field (an InitialWorkDir entry's contents) that an engine takes
    literally: a string without `$(` or `${` is not interpolated at all (taken as it is); in
    one with them, every backslash is doubled and every `$(` / `${` escaped, as CWL v1.1+
    unescapes parameter references."""
    if "$(" not in text and "${" not in text:
        return text
    return text.replace("\\", "\\\\").replace("$(", "\\$(").replace("${", "\\${")


def _q(js: str) -> str:
    return f"aiwf_q({js})"


def _record_script(phase: ir.Phase, render: _Renderer, inputs: _Inputs, spec: dict[str, Any]) -> str:
    """JavaScript for the shell text that writes the task record after the command (see the
    module docstring). `spec` is the phase's entry of the runtime spec (aiwfc_backends.runtime.spec,
    the one Slurm and Parsl run from), so the record names the same params, datasets (declared
    version) and image (recipe hash) as theirs. What JavaScript knows before the command is
    written into the record: the item, input values, params, the datasets' directories and the
    expanded command (`aiwf_command`); outputs and hashes are read after it (RECORD_SCRIPT)."""
    def ref(name: str) -> str:
        return render.value(ast.Ref(parts=tuple(ast.Name(p, phase.span) for p in name.split(".")), span=phase.span))

    index = inputs.need("index", "int", Feed("index"))
    iteration = inputs.need("iteration", "int", Feed("iteration"))
    pre, post = [], []
    for name in phase.track:
        if phase.output(name.split(".")[0]) is not None:
            post.append(name)  # read after the command (RECORD_SCRIPT: tracked_values)
            continue
        try:
            pre.append(f"{json.dumps(name)}: {ref(name)}")
        except ValueError:  # a name the checks reported: nothing to record (as the runtime does)
            continue
    params = []
    for p in spec["params"]:
        own = Feed("param", p)
        key = p if inputs.feeds.get(p, own) == own else f"param__{p}"  # a port of the same name
        params.append(f"{json.dumps(p)}: {inputs.need(key, cwl_type(render.scope.params[p].type), own)}")
    datasets = []
    for n in spec["datasets"]:
        rel = project_relative(render.scope.datasets[n])
        where = f'{inputs.need("project", "Directory", Feed("project"))}.path + "/" + {json.dumps(rel)}' \
            if rel is not None else f"{inputs.need(n, 'Directory', Feed('dataset', n))}.path"
        declared = {"version": render.scope.datasets[n].version, "whole": n not in spec["item_datasets"]}
        datasets.append(f"{json.dumps(n)}: {{\"path\": {where}, {json.dumps(declared)[1:]}")
    image = spec["image"]
    if image is not None:
        # `container`: unknown (null): the CWL runner decides (DockerRequirement is a hint; --no-container,
        # --singularity) and a task cannot tell whether it runs inside the image
        image = {"name": image["name"], "recipe_hash": image["recipe_hash"], "sif": image["sif"], "container": None}
    outs = [f"{json.dumps(p.name)}: [{json.dumps('path' if p.type.is_path else 'json')}, "
            f"{render.path_text(p) if p.type.is_path else json.dumps(p.name + '.json')}]" for p in phase.outputs]
    values = [f"{json.dumps(p.name)}: {ref(p.name)}" for p in phase.inputs]
    ports = [{"name": p["name"], "type": p["type"]} for p in spec["inputs"]]  # which inputs are paths
    record = (f'{{"workflow": {json.dumps(render.scope.workflow.name)}, '
              f'"phase": {json.dumps(phase.name)}, "kind": {json.dumps(phase.kind)}, '
              f'"iteration": {iteration}, "index": {index}, '
              f'"item": {ref(phase.foreach.var) if phase.foreach is not None else "null"}, '
              f'"command": aiwf_command, "params": {{{", ".join(params)}}}, "inputs": {{{", ".join(values)}}}, '
              f'"ports": {json.dumps(ports)}, "datasets": {{{", ".join(datasets)}}}, "image": {json.dumps(image)}, '
              f'"env": {json.dumps(spec["env"], sort_keys=True)}, "retries": {phase.retries}, '
              f'"tracked": {{{", ".join(pre)}}}, "post": {json.dumps(post)}, "outs": {{{", ".join(outs)}}}}}')
    # a task whose command succeeded never fails for its record: without python3 (an image
    # without it) the record is missing (the output is optional) and the log says why;
    # -B: no __pycache__ of RECORD_MODULES left in the task's directory
    return ('"aiwf_t0=$(date +%s.%N)\\nbash -c " + aiwf_q(aiwf_cmd) + " || exit $?\\npython3 -B -c " + aiwf_q(' +
            json.dumps(RECORD_SCRIPT) + ') + " " + aiwf_q(JSON.stringify(' + record + ', ' + _PATHS_REPLACER +
            ')) + " \\"$aiwf_t0\\" || echo \\"aiwf: no task record written\\" >&2"')


def _service_script(svc: ir.Phase, svc_cmd: str, var: str) -> tuple[str, str]:
    """JavaScript for the shell lines that start a service and wait for its address, and
    for the lines that stop it."""
    d = f"_svc_{svc.name}"
    start = (f'"mkdir -p {d}\\n(cd {d} && exec bash -c " + {_q(svc_cmd)} + ") &\\n'
             f'aiwf_pid_{svc.name}=$!\\naiwf_n=0\\n'
             f'while [ ! -s {d}/address.json ]; do\\n'
             f'  kill -0 $aiwf_pid_{svc.name} 2>/dev/null || {{ echo \\"aiwf: service {svc.name} ended before '
             f'writing address.json\\" >&2; exit 1; }}\\n'
             f'  aiwf_n=$((aiwf_n + 1)); if [ $aiwf_n -gt {ADDRESS_WAIT_STEPS} ]; then echo \\"aiwf: service '
             f'{svc.name} wrote no address\\" >&2; kill $aiwf_pid_{svc.name}; exit 1; fi\\n'
             f'  sleep 0.05\\ndone\\nsleep 0.1\\n'
             f'export {var}=$(python3 -c \'import json, sys; print(json.load(open(sys.argv[1])))\' '
             f'{d}/address.json)\\n"')
    stop = (f'"kill -TERM $aiwf_pid_{svc.name} 2>/dev/null\\nwait $aiwf_pid_{svc.name} || '
            f'echo \\"aiwf: service {svc.name} ended with status $?\\" >&2\\n"')
    return start, stop


def service_outputs(svc: ir.Phase) -> list[ir.Port]:
    """The outputs of a service that its clients' tools collect."""
    return list(svc.outputs)


def _output(port: ir.Port, renderer: _Renderer, prefix: str = "") -> dict[str, Any]:
    if port.type.is_path:
        path = renderer.path_text(port)
        plain = port.value is None or (isinstance(port.value, ast.Template) and port.value.is_plain)
        if plain:
            path = json.dumps(port.name if port.value is None else port.value.text)
        glob = json.loads(path) if plain else f"$({path})"
        if prefix:
            glob = prefix + glob if not glob.startswith("$(") else f'$("{prefix}" + {path})'
        return {"type": cwl_type(port.type), "outputBinding": {"glob": glob}}
    return {"type": cwl_type(port.type),
            "outputBinding": {"glob": f"{prefix}{port.name}.json", "loadContents": True,
                              "outputEval": value_output_eval(port.type)}}


def build_tool(scope: Scope, typer: Typer, phase: ir.Phase, opts: ToolOptions, *,
               label: str, doc: str) -> ToolSpec:
    """The CommandLineTool of one phase (see the module docstring)."""
    inputs = _Inputs()
    render = _Renderer(scope, typer, phase, inputs, opts.staged)
    services = [scope.phases[s] for s in phase.uses if s in scope.phases]
    addresses = {s.name: f"aiwf_addr_{s.name}" for s in services}
    command = render.command(phase.command, addresses) if phase.command is not None else '"true"'
    outputs: dict[str, Any] = {p.name: _output(p, render) for p in phase.outputs}
    script = [f"aiwf_cmd = {command}"]
    if phase.retries > 0:
        attempts = " ".join(str(i) for i in range(phase.retries + 1))
        script.append(f'aiwf_cmd = "for aiwf_try in {attempts}; do bash -c " + aiwf_q(aiwf_cmd) + '
                      f'" && exit 0 || aiwf_rc=$?; done; exit $aiwf_rc"')
    if services:
        starts, stops = [], []
        for svc in services:
            svc_render = _Renderer(scope, typer, svc, inputs, opts.staged, service_of=phase)
            svc_cmd = svc_render.command(svc.command, {}) if svc.command is not None else '"true"'
            start, stop = _service_script(svc, svc_cmd, addresses[svc.name])
            starts.append(start)
            stops.append(stop)
            for port in service_outputs(svc):
                outputs[f"svc__{svc.name}__{port.name}"] = _output(port, svc_render, prefix=f"_svc_{svc.name}/")
        script.append("aiwf_cmd = " + " + ".join(starts) + ' + "bash -c " + aiwf_q(aiwf_cmd) + '
                      '"\\naiwf_rc=$?\\n" + ' + " + ".join(stops) + ' + "exit $aiwf_rc\\n"')
    if phase.track and opts.spec is not None:
        script[0] += ", aiwf_command = aiwf_cmd"  # the record's command, before the wrappers below
        script.append("aiwf_cmd = " + _record_script(phase, render, inputs, opts.spec))
        outputs[RECORD_OUTPUT] = {"type": "File?", "outputBinding": {"glob": RECORD_FILE}}
    body = "; ".join(script)
    requirements: dict[str, Any] = {
        "InlineJavascriptRequirement": {"expressionLib": list(EXPRESSION_LIB)},
    }
    resources: dict[str, Any] = {"coresMin": opts.cores}
    if opts.memory:
        resources["ramMin"] = max(1, -(-opts.memory // MIB))
    if opts.tmpdir:
        resources["tmpdirMin"] = max(1, -(-opts.tmpdir // MIB))
    if opts.outdir:
        resources["outdirMin"] = max(1, -(-opts.outdir // MIB))
    requirements["ResourceRequirement"] = resources
    if opts.walltime:
        requirements["ToolTimeLimit"] = {"timelimit": opts.walltime * (phase.retries + 1)}
    if services:
        requirements["NetworkAccess"] = {"networkAccess": True}
    staged = sorted(opts.staged & render.datasets_used)
    listing: list[dict[str, Any]] = []
    if staged:
        for n in staged:
            rel = project_relative(scope.datasets[n])
            entry = f"$(inputs.{n})" if rel is None else \
                f'$({{"class": "Directory", "location": inputs.project.location + "/" + {json.dumps(rel)}}})'
            listing.append({"entry": entry, "entryname": n})
    if RECORD_OUTPUT in outputs:
        listing += [{"entryname": name, "entry": cwl_literal(runtime_source(name))} for name in RECORD_MODULES]
    if listing:
        requirements["InitialWorkDirRequirement"] = {"listing": listing}
    if opts.env:
        requirements["EnvVarRequirement"] = {"envDef": dict(opts.env)}
    hints: dict[str, Any] = {}
    if opts.docker:
        hints["DockerRequirement"] = {"dockerPull": opts.docker}
    if opts.gpus > 0:
        cuda = {"cudaVersionMin": opts.cuda or "11.0", "cudaComputeCapability": "3.0",
                "cudaDeviceCountMin": opts.gpus}
        (requirements if opts.gpu_as_requirement else hints)["cwltool:CUDARequirement"] = cuda
    if opts.mpi_processes:
        hints["cwltool:MPIRequirement"] = {"processes": opts.mpi_processes}
    tool: dict[str, Any] = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "label": label,
        "doc": doc,
    }
    if opts.gpus > 0 or opts.mpi_processes:
        tool["$namespaces"] = {"cwltool": CWLTOOL_NS}
    tool["requirements"] = requirements
    if hints:
        tool["hints"] = hints
    tool["inputs"] = {name: {"type": t} for name, t in inputs.types.items()}
    tool["outputs"] = outputs
    tool["baseCommand"] = ["bash", "-c"]
    tool["arguments"] = [{"valueFrom": "${ var " + body + "; return aiwf_cmd; }"}]
    return ToolSpec(tool, dict(inputs.feeds), dict(inputs.types))
