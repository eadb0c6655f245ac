"""Syntax: the lark parser for grammar/aiwf.lark and the AST it builds."""
