"""Timestamps the way Clio writes them, in the firm's zone (Dublin / London).

Both zones are UTC+0 in winter and UTC+1 from 01:00 UTC on the last Sunday of March to 01:00 UTC
on the last Sunday of October; the rule is coded here so output never depends on the machine's
time-zone database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime

__all__ = [
    "format_http_date",
    "format_ts",
    "from_us",
    "local_datetime_to_utc",
    "parse_http_date",
    "parse_ts",
    "to_us",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def _offset_for_utc(moment: datetime) -> timedelta:
    year = moment.year
    start = datetime.combine(_last_sunday(year, 3), time(1), tzinfo=UTC)
    end = datetime.combine(_last_sunday(year, 10), time(1), tzinfo=UTC)
    return timedelta(hours=1) if start <= moment < end else timedelta(0)


def format_ts(moment: datetime) -> str:
    """ISO 8601 with the firm's local offset, e.g. ``2026-02-03T16:05:40+00:00``."""
    utc = moment.astimezone(UTC)
    offset = _offset_for_utc(utc)
    local = (utc + offset).replace(tzinfo=None, microsecond=0)
    sign = "+"
    hours = int(offset.total_seconds()) // 3600
    return f"{local.isoformat()}{sign}{hours:02d}:00"


def local_datetime_to_utc(day: date, seconds: int) -> datetime:
    """The UTC instant of ``seconds`` after local midnight on ``day``."""
    naive = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(seconds=seconds)
    # Offset at that wall time: try winter first, then summer (no events fall in the gap).
    guess = naive - _offset_for_utc(naive)
    return naive - _offset_for_utc(guess)


def parse_ts(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset; a bare date means midnight UTC)."""
    value = text.strip()
    if not value:
        raise ValueError("empty timestamp")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    if len(value) == 10:
        parsed = datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    else:
        parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_us(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def format_http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(text: str) -> datetime:
    parsed = parsedate_to_datetime(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
