"""Process-wide runtime settings for long-running commands."""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Collect cyclic garbage less often.

    Applying a batch allocates many short-lived objects and few cycles; with CPython's default
    thresholds the collector walks the long-lived heap (identity map, caches) over and over,
    which cost ~10% of apply time in bench/pipeline.py. Objects alive at start-up are frozen
    out of collection altogether.
    """
    gc.freeze()
    gc.set_threshold(500_000, 50, 100)
