"""``python -m adoption``: the command line."""

import sys

from adoption.cli import main

sys.exit(main())
