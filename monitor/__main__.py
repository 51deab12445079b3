"""`python -m monitor` runs the command-line interface."""

import sys

from monitor.cli import main

sys.exit(main())
