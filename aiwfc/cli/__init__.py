"""The `aiwfc` command line. One module per subcommand, each with `add_parser` and `run`.

Exit status: 0 success (warnings allowed), 1 the input has errors, 2 usage or I/O
problem. No Python traceback reaches the user for any input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from aiwfc import __version__
from aiwfc.cli import warm

# Subcommand modules, in the order `aiwfc --help` lists them.
COMMANDS = ["check", "compile", "plan", "run", "graph", "fmt", "lsp", "explain", "schema", "runs"]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `only`, the parser of that one subcommand (its
    module alone is imported: `aiwfc check` need not import the planner and backends,
    ~0.15 s of every run's start-up)."""
    parser = argparse.ArgumentParser(
        prog="aiwfc", description="Compiler for aiwf, a language for AI-coupled HPC workflows.")
    parser.add_argument("--version", action="version", version=f"aiwfc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is not None and name != only:
            continue
        try:
            mod = importlib.import_module(f"aiwfc.cli.{name}_cmd")
        except ModuleNotFoundError as e:
            if e.name == f"aiwfc.cli.{name}_cmd":
                continue  # a subcommand not built yet
            raise
        mod.add_parser(sub)
    return parser


# Commands whose process may end with os._exit once its output is flushed: they start no
# threads or child processes and leave nothing to clean up but memory, and tearing down
# the ~300 MB a 10,000-phase check holds took longer than a second at interpreter exit.
FAST_EXIT = frozenset({"check"})


def main(argv: list[str] | None = None) -> int:
    """Runs one command.  Called as the process's entry point (argv None), a FAST_EXIT
    command ends the process itself after flushing stdout and stderr."""
    if argv is None:  # `aiwfc run`: its program's interpreter starts importing Parsl at once
        warm.prestart(sys.argv[1:])
    parser = build_parser(_command_word(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    rc = _run(args)
    if argv is None and args.command in FAST_EXIT:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            pass
        except OSError:
            return rc  # let the interpreter report what it can
        os._exit(rc)
    return rc


def _command_word(words: list[str]) -> str | None:
    """The subcommand argv names, when only its parser is needed: the first word that is not
    an option (no top-level option takes a value); None for top-level help or an unknown
    word, which need every command's parser."""
    for w in words:
        if w in ("-h", "--help"):
            return None
        if not w.startswith("-"):
            return w if w in COMMANDS else None
    return None


def _run(args: argparse.Namespace) -> int:
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("aiwfc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        print(f"aiwfc: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - the contract: never a traceback for the user
        print(f"aiwfc: internal error: {type(e).__name__}: {e}\n"
              "This is a bug in aiwfc; please report it with the input that caused it.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
