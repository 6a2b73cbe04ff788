"""The live helpers (`live_worker`, the worked examples' builders) import from the
subfolders' tests too."""

from __future__ import annotations

import sys
from pathlib import Path

HELPERS = Path(__file__).parent
if str(HELPERS) not in sys.path:
    sys.path.append(str(HELPERS))
