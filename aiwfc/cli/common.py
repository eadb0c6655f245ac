"""Options and output shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiwfc.diagnostics import Diagnostic, Severity
from aiwfc.render import render_json, render_sarif, render_text, summary
from aiwfc.tracking import parse_track


def add_input_options(p: argparse.ArgumentParser, *, many: bool = False) -> None:
    """PATH(s), --site, -p NAME=VALUE, --params FILE."""
    if many:
        p.add_argument("paths", nargs="+", metavar="PATH", help=".aiwf, .aiwf.json or .aiwf.yaml files")
    else:
        p.add_argument("path", metavar="PATH", help=".aiwf, .aiwf.json or .aiwf.yaml file")
    p.add_argument("--site", metavar="SITE", help="site profile: a stdlib name (generic-slurm, local) or a file")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a param (repeatable)")
    p.add_argument("--params", metavar="FILE", help="JSON or YAML file of param values")


def add_report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["text", "json", "sarif"], default="text",
                   help="diagnostics format (default: text)")
    p.add_argument("--strict", action="store_true", help="warnings count as errors")


def track_option(value: str) -> tuple[str, str | None]:
    """argparse type of `--track`: aiwfc.tracking.parse_track, a usage error when it says no."""
    track = parse_track(value)
    if track is None:
        raise argparse.ArgumentTypeError(f"expected mlflow, mlflow:URI or none, got `{value}`")
    return track


def add_track_options(p: argparse.ArgumentParser, when: str) -> None:
    """`--track mlflow[:URI]` / `--no-track`: the command line's say in aiwfc.tracking.resolve_track
    (it overrides the workflow's and the site's `track`); `when` says when the logging happens."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--track", metavar="mlflow[:URI]", type=track_option,
                       help=f"log params, per-iteration metrics and model files to MLflow {when}; "
                            "overrides the workflow's and the site's `track` setting")
    group.add_argument("--no-track", action="store_true",
                       help="no experiment tracking, whatever the workflow or site says (the task records remain)")


def track_choice(args: argparse.Namespace) -> tuple[str, str | None] | None:
    """The command line's tracking choice as resolve_track takes it: ("none", None) for
    --no-track, the parsed --track, or None (the workflow and site decide)."""
    return ("none", None) if args.no_track else args.track


def parse_params(items: list[str]) -> dict[str, str] | None:
    out = {}
    for item in items:
        if "=" not in item:
            print(f"aiwfc: -p expects NAME=VALUE, got `{item}`", file=sys.stderr)
            return None
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def io_problem(paths: list[str], params_file: str | None, diags: list[Diagnostic]) -> bool:
    """Whether the run met an I/O problem rather than an error in the input (exit status 2,
    DESIGN.md): an input or params file that cannot be read, or an unreadable file named on
    the command line (AIWF105 there)."""
    return (any(not Path(p).is_file() for p in paths)
            or (params_file is not None and not Path(params_file).is_file())
            or any(d.code == "AIWF105" and d.span.file == "<command line>" for d in diags))


def failed(diags: list[Diagnostic], strict: bool) -> bool:
    bad = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return any(d.severity in bad for d in diags)


def emit_diagnostics(diags: list[Diagnostic], sources, fmt: str, stream=None, footer: bool = True) -> None:
    """Prints diagnostics in the chosen format (text goes with a one-line summary)."""
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(render_json(diags))
    elif fmt == "sarif":
        stream.write(render_sarif(diags))
    else:
        stream.write(render_text(diags, sources, colour=stream.isatty()))
        if footer and diags:
            stream.write(summary(diags) + "\n")
