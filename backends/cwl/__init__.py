"""The CWL backend: a CWL v1.2 Workflow, one CommandLineTool per phase, a job file.

`aiwfc compile PATH --target cwl -o DIR` writes

* `<workflow>.cwl`: the Workflow (steps wired by the phases' ports; every phase output
  and every tracked param is a workflow output, so `cwltool --provenance` records them;
  so is every tracked phase's task record, every loop iteration's included, which
  `python -m aiwfc.cwlrecords OUTPUTS.json RUN` turns into the RUN/tasks/... records
  the Slurm and Parsl runs write, with the same fields);
* `workflow.json`: the run spec Slurm and Parsl run from (aiwfc_backends.runtime.spec), when
  a phase is tracked: the tools' records take its params, datasets and images, and the
  workflow passes it to its outputs (`aiwf_spec`), where cwlrecords finds it;
* `tools/<phase>.cwl`: one CommandLineTool per phase (services have none: they run
  inside their clients' tools, see tool.py);
* `loops/<loop>.cwl`: each feedback loop's body, run under `cwltool:Loop`
  (`--cwl-loop ext`, the default; `cwltool --enable-ext`) or as a v1.3.0-dev1 native
  loop (`--cwl-loop native`; `cwltool --enable-dev`);
* `<workflow>.inputs.yml`: the job file: `project` (the source directory, where the
  scripts live), the params' values and the datasets' directories.

Run it with `cwltool --enable-ext [--no-container] DIR/<workflow>.cwl DIR/<workflow>.inputs.yml`.
The plan supplies resources (after partition choice) and staging; the documents are
deterministic (no clock, keys in a fixed order). What CWL cannot say is in the
capability table below and reported as AIWF901/AIWF902 by the compile command.
"""

from __future__ import annotations

from typing import Any

from aiwfc.backend import Artefacts, Backend, Capability, EmitContext
from aiwfc.graph import graph_of
from aiwfc.images import docker_reference, image_builds
from aiwfc.ir import models as ir
from aiwfc.semantic import Typer

from aiwfc_backends.cwl.documents import dump_document, job_value
from aiwfc_backends.cwl.js import ValueRef
from aiwfc_backends.cwl.tool import RECORD_OUTPUT, ToolOptions, build_tool, project_relative
from aiwfc_backends.cwl.types import cwl_type, optional
from aiwfc_backends.cwl.workflow import FILES, RECORDS, Place, WorkflowBuilder
from aiwfc_backends.runtime.spec import SPEC_FILE, build_spec, spec_text

__all__ = ["CwlBackend", "LOOP_FORMS", "SPEC_OUTPUT"]

LOOP_FORMS = ("ext", "native")
SPEC_OUTPUT = "aiwf_spec"  # the runtime spec: input aiwf_spec_file (default: the file beside) passed to the outputs


class CwlBackend(Backend):
    """CWL v1.2 documents for cwltool, Toil or Arvados."""

    name = "cwl"
    description = "CWL v1.2 workflow, one CommandLineTool per phase, and a job file (cwltool, Toil, Arvados)"
    needs_plan = True
    capabilities = {
        "foreach": Capability.NATIVE,
        "arrays": Capability.NATIVE,
        "bundles": Capability.UNSUPPORTED,
        "fusion": Capability.UNSUPPORTED,
        "staging": Capability.NATIVE,
        "feedback_loops": Capability.NATIVE,
        "loop_carry": Capability.NATIVE,
        "spawn": Capability.NATIVE,
        "stop_running": Capability.EMULATED,
        "services": Capability.EMULATED,
        "gpus": Capability.NATIVE,
        "containers": Capability.NATIVE,
        "mpi": Capability.NATIVE,
        "distributed_training": Capability.UNSUPPORTED,
        "tracking": Capability.NATIVE,
        "retries": Capability.EMULATED,
        "conditional_when": Capability.NATIVE,
        "multi_site": Capability.UNSUPPORTED,
    }
    notes = {
        "bundles": "CWL has no items-per-job: every item is one scatter job (the results are the same)",
        "fusion": "one CommandLineTool per phase; the CWL runner schedules them",
        "stop_running": "CWL cannot end running work: every task runs to completion, and the results of "
                        "the tasks the rule would have stopped are dropped after the scatter",
        "services": "CWL cannot run a step concurrently with others: the service is started inside each "
                    "client's task, before its command, and stopped when the command ends",
        "retries": "CWL has no retries: the tool's script runs the command up to N+1 times",
        "distributed_training": "CWL cannot ask for several nodes: the task runs on one node "
                                "(cwltool:MPIRequirement covers MPI launches)",
        "multi_site": "a CWL workflow runs where its runner runs: phases bound to another site run there too",
    }

    def emit(self, ctx: EmitContext) -> Artefacts:
        wf = ctx.workflow
        scope = ctx.scope
        typer = Typer(scope)
        plan = ctx.plan.plan if ctx.plan is not None and hasattr(ctx.plan, "plan") else ctx.plan
        loop_form = ctx.options.get("cwl_loop") or "ext"
        if loop_form not in LOOP_FORMS:
            raise ValueError(f"unknown CWL loop form `{loop_form}`")
        gpu_req = ctx.options.get("cwl_gpu") == "requirement"
        builds = image_builds(ctx.comp, wf)
        order = graph_of(ctx.comp, wf).topo_order()
        # the spec Slurm and Parsl run from: task records name the same params, datasets and images
        runtime_spec = build_spec(ctx)
        tools, tool_paths = {}, {}
        for ph in wf.phases:
            if ph.kind == "service":
                continue
            opts = self._tool_options(ctx, scope, plan, ph, builds, gpu_req)
            opts.spec = runtime_spec["phases"].get(ph.name)
            where = ctx.source_name(ph.span.file) + f":{ph.span.line}" if ph.span else ctx.source
            spec = build_tool(scope, typer, ph, opts, label=f"{ph.kind} {ph.name}",
                              doc=f"Phase `{ph.name}` ({ph.kind}) of workflow `{wf.name}`, from {where}."
                                  + (f" {ph.doc}" if ph.doc else ""))
            tools[ph.name] = spec
            tool_paths[ph.name] = f"tools/{ph.name}.cwl"
        params = dict(plan.params) if plan is not None else {}
        builder = WorkflowBuilder(scope, typer, tools, params, loop_form, ctx.source_name)
        main = Place(None)
        main.inputs["project"] = {"type": "Directory", "doc": "the directory of the workflow's source file"}
        for p in wf.params:
            main.inputs[p.name] = {"type": cwl_type(p.type)}
            if p.doc:
                main.inputs[p.name]["doc"] = p.doc
        datasets = self._datasets(scope, tools)
        for ds in datasets:
            main.inputs[ds.name] = {"type": "Directory", "doc": f"dataset `{ds.name}` ({ds.tier})"}
        done: set[str] = set()
        version = "v1.3.0-dev1" if loop_form == "native" else "v1.2"
        for name in order:
            if name in done or name not in tools:
                continue
            fb = scope.loop_of.get(name)
            if fb is None:
                builder.add_phase(main, scope.phases[name], tool_paths[name])
                done.add(name)
                continue
            body_order = [n for n in order if n in fb.body and n in tools]
            body = builder.build_body(fb, body_order, {n: f"../{p}" for n, p in tool_paths.items()})
            builder.add_loop(main, fb, body, f"loops/{fb.name}.cwl")
            done.update(body_order)
        self._outputs(builder, main, wf, scope)
        if any(k.startswith(("aiwf_record__", f"{RECORDS}__")) for k in main.outputs):
            # task records: cwlrecords reads the spec from the outputs, beside the records
            main.inputs[f"{SPEC_OUTPUT}_file"] = {"type": "File", "default": {"class": "File", "location": SPEC_FILE},
                                        "doc": "the run spec (format aiwf-runtime/1) the task records refer to"}
            main.outputs[SPEC_OUTPUT] = {"type": "File", "outputSource": f"{SPEC_OUTPUT}_file",
                                         "doc": "the run spec, for python -m aiwfc.cwlrecords"}
        title = f"CWL Workflow of aiwf workflow `{wf.name}`."
        docs: dict[str, str] = {}
        docs[f"{wf.name}.cwl"] = dump_document(builder.document(
            main, label=wf.name, doc=wf.doc or f"aiwf workflow {wf.name}", version=version), title, ctx.source)
        for name, body in builder.bodies.items():
            docs[f"loops/{name}.cwl"] = dump_document(builder.document(
                body, label=f"feedback {name}", doc=f"One iteration of feedback loop `{name}`.", version=version),
                f"Body of feedback loop `{name}` of workflow `{wf.name}`.", ctx.source)
        for name, spec in tools.items():
            docs[tool_paths[name]] = dump_document(
                spec.doc, f"CommandLineTool of phase `{name}` of workflow `{wf.name}`.", ctx.source)
        job = {"project": job_value("dir", ".", ctx.project_dir)}
        for p in wf.params:
            value = params.get(p.name)
            if value is not None:
                job[p.name] = job_value(p.type.name, value, ctx.project_dir)
        for ds in datasets:
            job[ds.name] = job_value("dir", ds.path, ctx.project_dir)
        docs[f"{wf.name}.inputs.yml"] = dump_document(
            job, f"Job file (inputs) of {wf.name}.cwl: the source directory, params and datasets.",
            ctx.source, shebang=False)
        result = Artefacts()
        for path in [f"{wf.name}.cwl", f"{wf.name}.inputs.yml", *sorted(p for p in docs if "/" in p)]:
            result.add(path, docs[path])
        if SPEC_OUTPUT in main.outputs:
            result.add(SPEC_FILE, spec_text(runtime_spec))
        return result

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _datasets(scope, tools) -> list[ir.Dataset]:
        names: set[str] = set()
        for spec in tools.values():
            names.update(f.name for f in spec.feeds.values() if f.kind == "dataset")
        for ph in scope.workflow.phases:
            for e in [p.value for p in ph.inputs if p.value is not None] + \
                     ([ph.foreach.source] if ph.foreach else []) + ([ph.when] if ph.when is not None else []):
                for ref in Typer(scope).refs(e):
                    if ref.parts[0].text in scope.datasets:
                        names.add(ref.parts[0].text)
        return [scope.datasets[n] for n in sorted(names) if project_relative(scope.datasets[n]) is None]

    @staticmethod
    def _tool_options(ctx, scope, plan, ph: ir.Phase, builds, gpu_req: bool) -> ToolOptions:
        res = scope.resource_of(ph)
        job = step = None
        if plan is not None:
            job_id = plan.job_of_phase().get(ph.name)
            job = plan.job(job_id) if job_id else None
            step = next((s for s in job.steps if s.phase == ph.name), None) if job else None
        opts = ToolOptions()
        if job is not None:
            opts.cores = max(1, job.resources.cores)
            opts.memory = job.resources.memory
            opts.walltime = job.resources.walltime
        elif res is not None:
            opts.cores, opts.memory = res.cores, res.memory
        if res is not None and res.walltime:
            opts.walltime = int(res.walltime)
        if res is not None:
            opts.gpus = res.gpus
            if res.launcher in ("srun", "mpirun"):
                opts.mpi_processes = res.nodes * res.tasks_per_node
        if step is not None:
            opts.staged = frozenset(d.dataset for d in step.datasets if d.location == "scratch")
            opts.env = dict(step.env)
            out_bytes = sum(o.bytes for o in step.outputs)
            opts.outdir = out_bytes or None
            staged_bytes = sum((plan.dataset(d).size or 0) for d in opts.staged if plan.dataset(d))
            opts.tmpdir = staged_bytes or None
        elif ph.env:
            opts.env = dict(ph.env)
        opts.gpu_as_requirement = gpu_req
        if ph.image and ph.image in builds:
            build = builds[ph.image]
            opts.docker = docker_reference(build)
            opts.cuda = build.cuda
        elif ph.image and ph.image in scope.images:
            opts.docker = docker_reference(scope.images[ph.image])
        return opts

    @staticmethod
    def _outputs(builder: WorkflowBuilder, main: Place, wf: ir.Workflow, scope) -> None:
        tracked = {(ph.name, t) for ph in wf.phases for t in ph.track}
        for ph in wf.phases:
            if ph.kind == "service" and not builder.clients.get(ph.name):
                continue
            for port in ph.outputs:
                v = ValueRef("port", ph.name, ph.name, port.name)
                cwl = builder.value_type(v)
                if builder.loop_of(ph.name) is not None:  # a loop step may run no iteration
                    cwl = optional(cwl)
                entry: dict[str, Any] = {"type": cwl, "outputSource": builder.source(main, v)}
                if (ph.name, port.name) in tracked:
                    entry["doc"] = f"tracked: {ph.name}.{port.name}"
                main.outputs[v.key] = entry
        for fb in wf.feedbacks:
            if fb.name in builder.bodies:
                main.outputs[f"{fb.name}__iterations"] = {
                    "type": "int?", "outputSource": f"{fb.name}/loop_iteration_next",
                    "doc": f"iterations feedback loop `{fb.name}` ran"}
        # the task records (tool.py): each tracked phase's outside loops, each loop's every iteration's
        for name in main.records:
            ph = builder.phases[name]
            rec: Any = ["null", "File"]  # none when skipped, or when python3 could not write it
            main.outputs[f"aiwf_record__{name}"] = {
                "type": {"type": "array", "items": rec} if ph.foreach is not None else rec,
                "outputSource": f"{name}/{RECORD_OUTPUT}", "doc": f"task records of {name}"}
        for fb in wf.feedbacks:
            body = builder.bodies.get(fb.name)
            if body is not None and f"{RECORDS}_next" in body.outputs:
                main.outputs[f"{RECORDS}__{fb.name}"] = {
                    "type": optional(FILES), "outputSource": f"{fb.name}/{RECORDS}_next",
                    "doc": f"task records of every iteration of feedback loop `{fb.name}`"}
        params = []
        for ph in wf.phases:
            for t in ph.track:
                if t in scope.params and ph.output(t) is None and t not in params:
                    params.append(t)
        for name in params:
            main.outputs[f"param__{name}"] = {"type": cwl_type(scope.params[name].type), "outputSource": name,
                                             "doc": f"tracked param {name}"}
