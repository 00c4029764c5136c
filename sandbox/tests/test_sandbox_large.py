"""Streaming generation of bigger firms (slow: run with `make test-slow`)."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from clio_sandbox import FirmDirectory, compute_oracle, generate_firm_to_dir


@pytest.mark.slow
def test_medium_firm_streams_to_disk_and_ties(tmp_path: Path) -> None:
    started = time.monotonic()
    directory = generate_firm_to_dir(tmp_path / "medium", 1, "medium", "ew")
    elapsed = time.monotonic() - started
    counts = FirmDirectory(directory.path)._doc["counts"]
    assert sum(counts.values()) >= 100_000
    oracle = compute_oracle(FirmDirectory(directory.path))
    assert oracle.check_ties() == []
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"medium: {sum(counts.values())} records in {elapsed:.0f}s, peak RSS {peak_mb:.0f} MB")
