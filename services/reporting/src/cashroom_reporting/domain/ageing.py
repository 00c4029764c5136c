"""Ageing: how old an open item is on the report date, and which bucket it falls in (§3.7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    label: str
    min_days: int
    max_days: int | None  # inclusive; None: no upper limit


BUCKETS: Sequence[Bucket] = (
    Bucket("current", "0-30 days", 0, 30),
    Bucket("d31_60", "31-60 days", 31, 60),
    Bucket("d61_90", "61-90 days", 61, 90),
    Bucket("d91_120", "91-120 days", 91, 120),
    Bucket("over_120", "over 120 days", 121, None),
)


def age_in_days(dated: date, as_of: date) -> int:
    """Whole days from ``dated`` to ``as_of``; an item dated after the report date is 0 days old."""
    return max((as_of - dated).days, 0)


def bucket_for(days: int) -> Bucket:
    for bucket in BUCKETS:
        if days >= bucket.min_days and (bucket.max_days is None or days <= bucket.max_days):
            return bucket
    raise ValueError(f"no bucket for {days} days")  # unreachable for days >= 0


@dataclass(frozen=True, slots=True)
class AgeBand:
    """A band for dormant balances, in whole years (e.g. 2 to 5 years)."""

    label: str
    min_days: int
    max_days: int | None


DORMANCY_BANDS: Sequence[AgeBand] = (
    AgeBand("under 1 year", 0, 364),
    AgeBand("1-2 years", 365, 729),
    AgeBand("2-5 years", 730, 1825),
    AgeBand("over 5 years", 1826, None),
)


def band_for(days: int) -> AgeBand:
    for band in DORMANCY_BANDS:
        if days >= band.min_days and (band.max_days is None or days <= band.max_days):
            return band
    raise ValueError(f"no band for {days} days")
