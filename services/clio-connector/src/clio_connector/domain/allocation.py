"""Splitting an amount over lines in proportion to their values, to the exact minor unit."""

from __future__ import annotations

from collections.abc import Sequence


def allocate_proportionally(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` (minor units, either sign) over ``weights`` (each ≥ 0) in proportion.

    Largest-remainder rounding: each share is first rounded towards zero, then the units left
    over go one each to the shares with the largest remainders, ties to the earlier line. The
    shares always add up to ``amount`` exactly, and the same inputs always give the same split.
    """
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    total_weight = sum(weights)
    if total_weight == 0:
        if amount == 0:
            return [0] * len(weights)
        raise ValueError(f"cannot allocate {amount} over lines worth nothing")
    sign = -1 if amount < 0 else 1
    magnitude = abs(amount)
    floors = [magnitude * weight // total_weight for weight in weights]
    remainders = [magnitude * weight % total_weight for weight in weights]
    left_over = magnitude - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in by_remainder[:left_over]:
        floors[index] += 1
    return [sign * share for share in floors]
