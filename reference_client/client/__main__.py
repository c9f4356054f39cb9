"""``python -m reference_client.client``: one real device (see cli.py)."""

import sys

from reference_client.client.cli import main

sys.exit(main())
