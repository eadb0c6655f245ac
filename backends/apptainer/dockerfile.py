"""Dockerfiles equivalent to the Apptainer definitions, for docker/podman users and CI.

Written from the same `RecipeContent` in the order Apptainer applies a definition:
files are copied before the install commands run (`%files` precedes `%post`), the
environment is set after them (Apptainer's `%environment` is not visible to `%post`),
then the image's test runs as the last build step (Apptainer runs `%test` after the
build, in the image's environment). Build from the project directory, which is the
context the `COPY` sources are relative to:

    docker build -f OUT/docker/NAME.Dockerfile -t localhost/aiwf/NAME:RECIPE_HASH .

(`build-images.sh --docker` does that for every image; the tag is `docker_reference`.)

The entrypoint is exec-form words when it holds no shell syntax, else it runs through
`/bin/sh -c 'ENTRYPOINT' sh ARGS...`, exactly as the Apptainer `%runscript` runs it.
Every line is one instruction (no continuation lines), which spython's Docker parser
reads back.
"""

from __future__ import annotations

from aiwfc.emitter import Emitter, docker_quote, json_literal
from aiwfc.images import docker_reference

from aiwfc_backends.apptainer.recipe import RecipeContent, docker_entrypoint


def dockerfile_text(rc: RecipeContent, header: list[str], names) -> str:
    out = Emitter(comment_prefix="#", names=names)
    for text in header:
        out.comment(text)
    out.comment(f"Build from the project directory: docker build -f OUT/docker/{rc.name}.Dockerfile "
                f"-t {docker_reference(rc.build)} .")
    out.line()
    out.line(f"FROM {rc.base}")
    for key, value in rc.labels:
        out.line(f"LABEL {key}={_word(value, keep_vars=False)}")
    if rc.files:
        out.source(rc.build.image.where("files"), "files")
        for src, dst in rc.files:
            out.line(f"COPY {src} {dst}")
    for cmd in rc.commands:
        out.source(cmd.span, cmd.what)
        out.line(f"RUN {cmd.text}")
    for key, value in rc.env:
        out.line(f"ENV {key}={_word(value, keep_vars=True)}")
    if rc.test:
        out.comment("the image's test (Apptainer runs it as %test)")
        script = "\n".join(rc.test)
        if len(rc.test) == 1:
            out.line(f"RUN {script}")
        else:
            out.line("RUN " + json_literal(["/bin/sh", "-ec", script]))
    if rc.entrypoint is not None:
        out.line("ENTRYPOINT " + json_literal(docker_entrypoint(rc.entrypoint)))
    return out.text()


def _word(value: str, keep_vars: bool) -> str:
    """A LABEL/ENV value: double-quoted, or single-quoted when it holds a `"` (which
    spython's Docker parser cannot read escaped; recipe.py refuses what neither form carries)."""
    if '"' in value:
        return "'" + value + "'"
    return docker_quote(value, keep_vars=keep_vars)
