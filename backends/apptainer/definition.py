"""Apptainer definition files, written through spython's recipe model.

spython (0.3.14) writes `Bootstrap: docker` definitions from a `Recipe`; its parser
reads them back. Both have known faults (notes/ENGINES.md), so what is written here
keeps to the subset that round-trips, and tests/test_apptainer.py parses every
definition back to prove it:

* the stage gets the image's name in lower case (spython's own default stage name,
  `spython-base`, does not parse back, and the parser lower-cases stage names);
* comments go in the header and inside `%post` only (in `%labels`, `%files` and
  `%environment` spython would read them as content), and never contain `from:` or the
  word for the header's first keyword, which the parser takes for header lines;
* the entrypoint is the recipe's `entrypoint` (not `cmd`, which spython writes as
  `exec /bin/bash ...`); it becomes `%runscript` (and `%startscript`) as
  `exec ENTRYPOINT "$@"`, or `exec /bin/sh -c 'ENTRYPOINT' sh "$@"` when it holds shell
  syntax (an `exec` in front of `a && b` would end the script after `a`), which is
  what the Dockerfile's ENTRYPOINT runs; an image without one gets neither section, so
  the base image's own ENTRYPOINT/CMD applies, as in the Dockerfile;
* labels and files are (key, value) pairs, environment values are double-quoted shell
  words in which only `$NAME` expands (`shell_env_value`).

spython lower-cases `From:` values when parsing; Docker references are lower case
except for tags, which is why the round-trip test compares them case-insensitively.
"""

from __future__ import annotations

from spython.main.parse.recipe import Recipe
from spython.main.parse.writers import SingularityWriter

from aiwfc.emitter import Emitter, shell_env_value

from aiwfc_backends.apptainer.recipe import RecipeContent, runscript_command


def definition_text(rc: RecipeContent, header: list[str], names) -> str:
    """The `.def` text of one image: the header as comments, then spython's output with
    a blank line before each section."""
    recipe = Recipe()
    recipe.fromHeader = rc.base
    if rc.commands:
        install = ["set -eu"]
        for cmd in rc.commands:
            if cmd.span is not None:
                install.append(f"# {cmd.what} from {names(cmd.span.file)}:{cmd.span.line}")
            install.append(cmd.text)
        recipe.install = install
    recipe.environ = [f"{key}={shell_env_value(value)}" for key, value in rc.env]
    recipe.labels = [[key, value] for key, value in rc.labels]
    recipe.files = [[src, dst] for src, dst in rc.files]
    recipe.entrypoint = runscript_command(rc.entrypoint) if rc.entrypoint is not None else None
    recipe.test = list(rc.test) or None
    body = SingularityWriter({rc.name.lower(): recipe}).convert(runscript="/bin/sh")
    out = Emitter(comment_prefix="#")
    for text in header:
        out.comment(text)
    out.line()
    skipping = False
    for line in body.split("\n"):
        if line.startswith("%"):
            # Without an entrypoint, spython would write `exec /bin/sh "$@"`; leaving the
            # sections out keeps the base image's own ENTRYPOINT/CMD, as the Dockerfile does.
            skipping = rc.entrypoint is None and line in ("%runscript", "%startscript")
        if skipping:
            continue
        if line.startswith("%") and out.lines and out.lines[-1] != "":
            out.line()
        out.lines.append(line)  # verbatim: spython's lines, already laid out
    return out.text()
