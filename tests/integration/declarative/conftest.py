"""Makes ``tests/integration`` (runtime_support, runtime_testnodes) importable from here."""

import sys
from pathlib import Path

_INTEGRATION = str(Path(__file__).resolve().parent.parent)
if _INTEGRATION not in sys.path:
    sys.path.insert(0, _INTEGRATION)
