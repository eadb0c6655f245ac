"""`python -m aiwfc ...`: the same as the `aiwfc` command."""

import sys

from aiwfc.cli import main

sys.exit(main())
