"""Bank statements generated from the sandbox firm: every Clio bank transaction reaches exactly
one statement line (or is still clearing on the last day), the files parse with the
reconciliation service's own parser in every format, chain from one to the next, and add up to
the bank balances of the firm's Clio data; reconciled against a cashbook of the same Clio
transactions, the client accounts come out with no difference."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pytest

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.money import Money
from cashroom_reconciliation.csv_mapping import mapping_from_json, to_domain
from cashroom_reconciliation.domain import (
    CashbookEntry,
    ImportedStatement,
    MatchSet,
    Statement,
    StatementLine,
    auto_match,
    bank_balance_on,
    carried_balances,
    pair_cancelling_items,
    parse_statement,
    plan_import,
    position_of,
    prepare_reconciliation,
)
from clio_sandbox import Firm, bank_lines, generate_firm
from clio_sandbox.statements import (
    StatementFormat,
    WrittenStatement,
    bank_activity,
    write_statements,
)
from clio_sandbox.testing import sandbox, tiny_firm


@functools.cache
def small_firm() -> Firm:
    return generate_firm(seed=1, size="small", jurisdiction="ie")


def _parse(written: WrittenStatement) -> Statement:
    mapping = None
    if written.csv_mapping is not None:
        mapping = to_domain(
            mapping_from_json(written.csv_mapping), default_account=None, default_currency="EUR"
        )
    return parse_statement(written.path.read_bytes(), csv_mapping=mapping)


def test_the_same_firm_gives_the_same_files_byte_for_byte(tmp_path: Path) -> None:
    firm = tiny_firm()
    first = write_statements(firm, tmp_path / "a")
    second = write_statements(firm, tmp_path / "b")
    assert [w.path.name for w in first] == [w.path.name for w in second]
    for a, b in zip(first, second, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()
    other = write_statements(generate_firm(seed=8, size="tiny", jurisdiction="ie"), tmp_path / "c")
    assert [w.path.read_bytes() for w in other] != [w.path.read_bytes() for w in first]


def test_every_clio_transaction_is_on_one_statement_line_or_still_clearing() -> None:
    firm = small_firm()
    last_day = firm.meta.as_of
    for banking in bank_activity(firm):
        clio = {line.id: line for line in bank_lines(firm, banking.bank_account_id)}
        on_statements = Counter(i for e in banking.entries for i in e.transaction_ids)
        clearing = [line.id for line in banking.uncleared]
        assert set(on_statements) | set(clearing) == set(clio)
        assert all(n == 1 for n in on_statements.values())
        assert not set(on_statements) & set(clearing)
        for entry in banking.entries:
            if entry.kind in ("bank_charge", "charge_reimbursement"):
                assert entry.transaction_ids == ()  # the bank's own: not in Clio
                continue
            members = [clio[i] for i in entry.transaction_ids]
            # The bank books what Clio recorded, 0 to 4 days later, for the same money.
            assert entry.amount == sum(m.amount for m in members)
            for member in members:
                assert 0 <= (entry.booking_date - member.date).days <= 4
            if entry.kind == "lodgement":
                assert 2 <= len(members) <= 4
                assert all(m.amount > 0 for m in members)
        for line in banking.uncleared:
            assert 0 <= (last_day - line.date).days <= 4  # only the last days are still clearing
        kinds = Counter(e.kind for e in banking.entries)
        if banking.kind == "client" and clio:
            assert kinds["lodgement"] > 0
            assert kinds["bank_charge"] == kinds["charge_reimbursement"] > 0
        if banking.kind == "office":
            assert kinds["bank_charge"] > 0  # a fee every month


@pytest.mark.parametrize("fmt", list(StatementFormat))
def test_the_statements_parse_chain_and_sum_to_the_bank_balances(
    fmt: StatementFormat, tmp_path: Path
) -> None:
    firm = small_firm()
    meta = firm.meta
    written = write_statements(firm, tmp_path, formats={"office": fmt, "client": fmt})
    charges: dict[str, int] = {}  # a client account's charge reference → its amount
    for account_id in [*meta.trust_account_ids, meta.operating_account_id]:
        files = [w for w in written if w.bank_account_id == account_id]
        clio = bank_lines(firm, account_id)
        if not clio:
            continue
        history: list[ImportedStatement] = []
        known: dict[str, StatementLine] = {}
        for sequence, w in enumerate(files):
            statement = _parse(w)
            assert statement.file_format.value == fmt.value
            assert statement.lines_total().amount_minor == w.closing_balance - w.opening_balance
            plan = plan_import(statement, position_of(history), known)
            assert plan.breaks == ()
            if sequence == len(files) - 1 and len(files) > 1:
                assert plan.known_lines, "the last statement overlaps the one before it"
            opening, closing = carried_balances(statement, plan.position_after)
            assert closing is not None and closing.amount_minor == w.closing_balance
            history.append(
                ImportedStatement(
                    str(sequence), w.period_start, w.period_end, opening, closing, sequence
                )
            )
            known.update((line.bank_id, line) for line in plan.new_lines)
        lines = list(known.values())
        clearing = {
            line.id
            for line in next(
                b for b in bank_activity(firm) if b.bank_account_id == account_id
            ).uncleared
        }
        # Clio's balance on the last day, less what the bank had not yet booked by then.
        cleared_in_clio = clio[-1].running_balance - sum(
            line.amount for line in clio if line.id in clearing
        )
        bank_only = [
            line for line in lines if (line.reference or "").startswith(("CHG-", "REIMB", "FEE-"))
        ]
        final = position_of(history)
        assert final is not None
        assert final.closing_balance.amount_minor == cleared_in_clio + sum(
            line.amount.amount_minor for line in bank_only
        )
        if account_id in meta.trust_account_ids:
            # Each quarterly charge is replaced from office the same day: they cancel.
            assert sum(line.amount.amount_minor for line in bank_only) == 0
            charges.update(
                (line.reference or "", line.amount.amount_minor)
                for line in bank_only
                if (line.reference or "").startswith("CHG-")
            )
        else:
            # The office pays each replacement: the same reference, the same amount out.
            replaced = {
                line.reference: line.amount.amount_minor
                for line in bank_only
                if (line.reference or "").startswith("CHG-")
            }
            assert replaced == charges


def test_reconciled_against_the_same_clio_transactions_client_accounts_have_no_difference(
    tmp_path: Path,
) -> None:
    """The demo's path without the services: each statement imported in turn, auto-matched
    against a cashbook holding each Clio bank transaction on its Clio date (narratives as the
    ledger writes them), and reconciled as of the statement's last day."""
    firm = small_firm()
    meta = firm.meta
    for w_account in [*meta.trust_account_ids, meta.operating_account_id]:
        kind = AccountKind.OFFICE if w_account == meta.operating_account_id else AccountKind.CLIENT
        entries = [
            CashbookEntry.of(
                str(line.id),
                line.date,
                Money(amount_minor=line.amount, currency=meta.currency),
                f"{line.description} — M{line.matter_id}",
            )
            for line in bank_lines(firm, w_account)
        ]
        history: list[ImportedStatement] = []
        known: dict[str, StatementLine] = {}
        matches = MatchSet()
        files = [w for w in write_statements(firm, tmp_path) if w.bank_account_id == w_account]
        for sequence, w in enumerate(files):
            statement = _parse(w)
            plan = plan_import(statement, position_of(history), known)
            opening, closing = carried_balances(statement, plan.position_after)
            history.append(
                ImportedStatement(
                    str(sequence), w.period_start, w.period_end, opening, closing, sequence
                )
            )
            known.update((line.bank_id, line) for line in plan.new_lines)
            lines = list(known.values())
            result = auto_match(
                [line for line in lines if not matches.is_line_matched(line.bank_id)],
                [e for e in entries if not matches.is_entry_matched(e.entry_id)],
                existing=None,
            )
            matches = matches.with_matches(result.new_matches)
            balance, _ = bank_balance_on(w.as_of, history, lines)
            cashbook = sum(e.amount.amount_minor for e in entries if e.posted_on <= w.as_of)
            figures = prepare_reconciliation(
                account_kind=kind,
                as_of=w.as_of,
                statement_balance=balance,
                cashbook_balance=Money(amount_minor=cashbook, currency=meta.currency),
                entries=entries,
                lines=lines,
                matches=matches,
                client_ledgers_total=(
                    Money(amount_minor=cashbook, currency=meta.currency)
                    if kind is AccountKind.CLIENT
                    else None
                ),
            )
            items = pair_cancelling_items(figures.unexplained_lines)
            bank_only = sum(
                line.amount.amount_minor
                for line in lines
                if line.booking_date <= w.as_of
                and (line.reference or "").startswith(("CHG-", "REIMB", "FEE-"))
            )
            if kind is AccountKind.CLIENT:
                assert figures.difference.amount_minor == 0, (w_account, w.as_of)
                assert items.unexplained == ()
                charged = [p for p in items.cancelling if p.debit.reference]
                assert all((p.debit.reference or "") in p.credit.description for p in charged)
            else:
                # The office account's difference is its bank charges and the replacements of
                # the client accounts' charges, until the cashier posts them.
                assert figures.difference.amount_minor == bank_only, w.as_of
                assert sum(line.amount.amount_minor for line in items.unexplained) == bank_only


def _all_files(paths: Iterable[str]) -> bool:
    return all(Path(path).is_file() for path in paths)


async def test_the_control_api_writes_the_statements_and_lists_them(tmp_path: Path) -> None:
    async with sandbox() as (client, _app):
        response = await client.post(
            "/_control/statements",
            json={"dir": str(tmp_path / "out"), "formats": {"office": "mt940"}},
        )
        assert response.status_code == 200, response.text
        listed = response.json()["statements"]
        relative = await client.post("/_control/statements", json={"dir": "relative/path"})
        unknown = await client.post(
            "/_control/statements", json={"dir": str(tmp_path), "formats": {"client": "pdf"}}
        )
        missing = await client.post("/_control/statements", json={})
    firm = tiny_firm()
    assert {item["bank_account_id"] for item in listed} == {
        firm.meta.operating_account_id,
        *firm.meta.trust_account_ids,
    }
    assert _all_files(item["path"] for item in listed)
    for item in listed:
        expected = (
            "mt940" if item["bank_account_id"] == firm.meta.operating_account_id else "camt053"
        )
        assert item["format"] == expected
        assert date.fromisoformat(item["as_of"]) == date.fromisoformat(item["period_end"])
        assert set(item) >= {"bank_account_id", "name", "path", "format", "as_of"}
    last_days = {item["as_of"] for item in listed}
    assert firm.meta.as_of.isoformat() in last_days
    assert (relative.status_code, unknown.status_code, missing.status_code) == (422, 422, 422)
    assert "absolute" in relative.json()["error"]["message"]
