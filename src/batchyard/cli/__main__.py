"""``python -m batchyard.cli``."""

import sys

from batchyard.cli import main

sys.exit(main())
