"""Per-user places sealdesk keeps derived data in (rebuilt when missing, never personal data)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$SEALDESK_CACHE`` or the user cache directory (platformdirs): glyphs, font coverage, pinyin."""
    import platformdirs

    return Path(os.environ.get("SEALDESK_CACHE") or platformdirs.user_cache_dir("sealdesk", appauthor=False))
