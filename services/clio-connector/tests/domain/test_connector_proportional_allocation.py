"""Splitting a discount (or VAT difference) over lines to the exact cent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clio_connector.domain.allocation import allocate_proportionally


class TestLargestRemainder:
    def test_an_even_split_needs_no_rounding(self) -> None:
        # 30.00 over 100 : 200 → 10.00 and 20.00
        assert allocate_proportionally(3000, [10000, 20000]) == [1000, 2000]

    def test_the_left_over_cent_goes_to_the_largest_remainder(self) -> None:
        # 1.00 over weights 70 : 19 : 6 (of 95): exact shares 73.68, 20.00 and 6.32 cents.
        # Rounded down: 73 + 20 + 6 = 99; the cent left goes to the largest remainder (0.68).
        assert allocate_proportionally(100, [70, 19, 6]) == [74, 20, 6]

    def test_equal_remainders_go_to_the_earlier_line(self) -> None:
        # 0.10 over three equal lines: 3.33 cents each → 3 each, the cent left to the first.
        assert allocate_proportionally(10, [1, 1, 1]) == [4, 3, 3]

    def test_a_negative_amount_is_split_the_same_way_with_its_sign(self) -> None:
        assert allocate_proportionally(-10, [1, 1, 1]) == [-4, -3, -3]

    def test_a_line_worth_nothing_gets_nothing(self) -> None:
        assert allocate_proportionally(7, [0, 3, 0, 4]) == [0, 3, 0, 4]

    def test_nothing_to_split_over_is_an_error_unless_nothing_is_split(self) -> None:
        assert allocate_proportionally(0, [0, 0]) == [0, 0]
        with pytest.raises(ValueError, match="worth nothing"):
            allocate_proportionally(5, [0, 0])

    def test_negative_weights_are_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            allocate_proportionally(5, [3, -1])


@given(
    amount=st.integers(min_value=-(10**9), max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_shares_add_up_exactly_and_each_is_within_a_cent_of_its_exact_share(
    amount: int, weights: list[int]
) -> None:
    shares = allocate_proportionally(amount, weights)

    assert sum(shares) == amount
    total = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        exact_times_total = amount * weight  # the exact share is this / total
        assert abs(share * total - exact_times_total) < total
        if weight == 0:
            assert share == 0
