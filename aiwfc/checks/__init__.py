"""Checks and lints: one per module, registered with `@register` (see framework.py)."""
