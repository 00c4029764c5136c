"""Process-wide tuning for a ledger process (the service's ``__main__`` and the benchmark).

The consumer allocates many short-lived objects per event (pydantic models, journals, rows);
with CPython's default thresholds the cyclic collector runs every 700 allocations and
regularly walks the whole heap of imported modules. After start-up the long-lived objects are
frozen out of collection and the young generation is allowed to grow before it is collected:
measured on the ledger benchmark, about twice the events per second. Memory stays bounded by the
batch (nothing accumulates between batches).
"""

from __future__ import annotations

import gc

YOUNG_GENERATION = 50_000


def tune_garbage_collection() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
