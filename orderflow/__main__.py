"""``python -m orderflow …`` is the ``orderflow`` command (how the embedded stack starts its
children, with the same Python)."""

import sys

from orderflow.cli import main

if __name__ == "__main__":
    sys.exit(main())
