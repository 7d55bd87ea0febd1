"""``python -m lnp_neuro.experiments``: the ``lnp-experiment`` console script."""

import sys

from .cli import main

sys.exit(main())
