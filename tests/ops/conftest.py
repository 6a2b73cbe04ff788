"""The operations tests reuse the live tests' helpers (tests/agents/live_worker.py and the
worked examples' builders)."""

from __future__ import annotations

import sys
from pathlib import Path

LIVE_HELPERS = Path(__file__).resolve().parents[1] / "agents"
if str(LIVE_HELPERS) not in sys.path:
    sys.path.append(str(LIVE_HELPERS))
