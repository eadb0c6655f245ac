"""`aiwfc lsp`: the language server over stdio, for editors (see editors/README.md)."""

from __future__ import annotations

import argparse
import logging
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("lsp", help="run the language server (LSP over stdio)",
                       description="Run the aiwf language server over stdin/stdout: diagnostics, hover, "
                                   "completion, definition, references, rename, formatting, code actions.")
    p.add_argument("--site", metavar="SITE",
                   help="site profile to check against (also: initializationOptions.site)")
    p.add_argument("--log-file", metavar="FILE", help="write the server's log here (stdout carries the protocol)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from aiwfc.lsp.features import create_server  # noqa: PLC0415 - pygls is an optional extra
    except ModuleNotFoundError as e:
        print(f"aiwfc lsp: needs the `lsp` extra (pip install 'aiwfc[lsp]'): {e}", file=sys.stderr)
        return 2
    if args.log_file:
        logging.basicConfig(filename=args.log_file, level=logging.INFO)
    server = create_server()
    server.site = args.site
    server.tune_gc()
    server.start_io()
    return 0
