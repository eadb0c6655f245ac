"""aiwfc's backends, installed as the package `aiwfc_backends` (one sub-package per target)."""
