"""aiwfc: the compiler for aiwf, a declarative language for AI-coupled HPC workflows."""

__version__ = "0.1.0"
