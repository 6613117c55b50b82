"""`python -m ambientctl` is the same as the `ambientctl` console script."""

import sys

from ambientctl.cli.main import main

sys.exit(main())
