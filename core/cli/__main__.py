"""``python -m sealdesk.core.cli``: the ``sealdesk`` command."""

import sys

from sealdesk.core.cli.main import main

sys.exit(main())
