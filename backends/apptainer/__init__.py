"""The Apptainer backend: container recipes for the images a workflow uses.

For each image that a phase of the workflow names (`image = ...`; library images
only when used) it emits

* `apptainer/NAME.def`: an Apptainer definition (written with spython's recipe model),
* `docker/NAME.Dockerfile`: the equivalent Dockerfile,

and `build-images.sh`, which builds every `.sif` into the path `aiwfc.images.sif_path`
gives (the path the Slurm and Parsl backends run) and records digests in
`images.lock`; with `--docker` it builds the Dockerfiles instead, tagged with
`aiwfc.images.docker_reference` (the reference the CWL backend names). GPU and MPI handling follow the rules in `aiwfc.images`; the lints
AIWF801-805 (aiwfc/checks/images_*.py) report what should be pinned or fixed.

This backend does not run workflows: its capability table covers only the features
it serves (containers, GPUs, MPI), and nothing else is reported against it.
"""

from __future__ import annotations

from aiwfc.backend import Artefacts, Backend, Capability, EmitContext
from aiwfc.emitter import header_lines
from aiwfc.images import image_builds

from aiwfc_backends.apptainer.build_script import build_script_text
from aiwfc_backends.apptainer.definition import definition_text
from aiwfc_backends.apptainer.dockerfile import dockerfile_text
from aiwfc_backends.apptainer.recipe import build_content

__all__ = ["ApptainerBackend"]


class ApptainerBackend(Backend):
    """Apptainer definitions, Dockerfiles and a build script for the workflow's images."""

    name = "apptainer"
    description = "Apptainer definitions (and Dockerfiles) for the workflow's images, with build-images.sh"
    capabilities = {
        "containers": Capability.NATIVE,
        "gpus": Capability.NATIVE,   # CUDA base images; GPU phases run with --nv
        "mpi": Capability.NATIVE,    # the site's mpi_bind paths, for the hybrid model
    }
    runs_workflow = False
    needs_plan = False

    def emit(self, ctx: EmitContext) -> Artefacts:
        out = Artefacts()
        wf = ctx.workflow
        names = ctx.source_name
        built = {}
        for name, build in image_builds(ctx.comp, wf).items():
            rc = build_content(build, ctx.sink, workflow=wf.name, source=ctx.source, names=names)
            if rc is None:
                continue
            title = f"image `{name}` of workflow `{wf.name}`"
            extra = tuple(rc.notes)
            def_path = f"apptainer/{name}.def"
            out.add(def_path, definition_text(
                rc, header_lines(f"Apptainer definition of {title}.", ctx.source, extra=extra), names))
            out.add(f"docker/{name}.Dockerfile", dockerfile_text(
                rc, header_lines(f"Dockerfile of {title}, equivalent to {def_path}.", ctx.source, extra=extra),
                names))
            built[name] = build
        script_header = header_lines(f"Builds the container images of workflow `{wf.name}`.", ctx.source)
        out.add("build-images.sh", build_script_text(built, script_header, ctx.site, names), executable=True)
        return out
