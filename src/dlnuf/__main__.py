"""``python -m dlnuf`` runs the ``dlnuf`` command."""

import sys

from .cli import main

sys.exit(main())
