"""``python -m fastgrad`` — same as the ``fastgrad`` command."""

import sys

from .cli import main

sys.exit(main())
