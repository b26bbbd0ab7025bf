"""`python -m jam`: the `jam` command without its console script."""

import sys

from jam.cli import main

sys.exit(main())
