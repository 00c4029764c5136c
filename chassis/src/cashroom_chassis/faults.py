"""Crash points for fault tests: a process started with ``CASHROOM_CRASH_AT=<point>`` dies at once
(``os._exit``) when it reaches that point, as a ``kill -9`` would leave it. Unset, it does nothing."""

from __future__ import annotations

import os
import sys

CRASH_EXIT_CODE = 137


def crash_point(name: str) -> None:
    if os.environ.get("CASHROOM_CRASH_AT") == name:
        print(f"CASHROOM_CRASH_AT={name}: exiting as if killed", file=sys.stderr, flush=True)
        os._exit(CRASH_EXIT_CODE)
