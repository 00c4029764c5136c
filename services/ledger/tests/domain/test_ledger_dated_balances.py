"""Balances as of any date, kept as cumulative totals per date so no query reads history."""

from datetime import date

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    CLIENT_MONEY,
    MATTER,
    OTHER_MATTER,
    client_money_paid,
    client_money_received,
    new_ledger,
    on,
    send,
)

from cashroom_contracts.events.common import AccountKind
from cashroom_ledger.domain.balances import BalanceKey, DatedSeries

D1, D5, D9 = date(2026, 2, 1), date(2026, 2, 5), date(2026, 2, 9)


def test_a_series_answers_as_of_any_date() -> None:
    series = DatedSeries()
    series.add(D1, 100)
    series.add(D9, -30)
    assert series.as_of(date(2026, 1, 31)) == 0
    assert series.as_of(D1) == 100
    assert series.as_of(D5) == 100
    assert series.as_of(D9) == 100 - 30
    assert series.as_of() == 70


def test_a_back_dated_movement_moves_every_later_total() -> None:
    series = DatedSeries()
    series.add(D1, 100)
    series.add(D9, -30)
    series.add(D5, -50)
    series.add(D5, 5)
    assert list(series.points()) == [(D1, 100), (D5, 100 - 50 + 5), (D9, 100 - 50 + 5 - 30)]


def test_projection_shows_each_later_date_with_and_without_the_change() -> None:
    series = DatedSeries()
    series.add(D1, -100)
    series.add(D9, 80)
    projected = list(series.projected({D5: 30}))
    assert projected == [(D5, -100, -100 + 30), (D9, -100 + 80, -100 + 80 + 30)]
    assert list(series.points()) == [(D1, -100), (D9, -20)]  # nothing was written


def test_the_ledger_keeps_matter_columns_nominals_and_banks_as_of_each_date() -> None:
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "300.00", day=on(1)),
        client_money_received(2, "50.00", day=on(3), matter_id=OTHER_MATTER),
        client_money_paid(3, "120.00", day=on(9)),
        client_money_received(4, "10.00", day=on(5)),  # arrives late, dated earlier
    )
    assert ledger.client_balance(MATTER, as_of=on(4)).amount_minor == 30000
    assert ledger.client_balance(MATTER, as_of=on(5)).amount_minor == 30000 + 1000
    assert ledger.client_balance(MATTER).amount_minor == 30000 + 1000 - 12000
    assert ledger.bank_balance(CLIENT_ACCOUNT, as_of=on(3)).amount_minor == 30000 + 5000
    assert ledger.nominal_balance(CLIENT_MONEY, as_of=on(9)).amount_minor == -(
        30000 + 5000 + 1000 - 12000
    )
    key = BalanceKey(CLIENT_MONEY, MATTER, AccountKind.CLIENT, CLIENT_ACCOUNT)
    assert [(d, m.amount_minor) for d, m in ledger.balance_points(key)] == [
        (on(1), -30000),
        (on(5), -31000),
        (on(9), -19000),
    ]
