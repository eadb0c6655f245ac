"""Resolve: AST to IR, imports, params overrides, and the `load` entry point."""
