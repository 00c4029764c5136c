"""The cashroom command: data printed as people and tools need it, and every failure one clear
line with a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from cashroom_chassis.auth import Role, verify_token
from cashroom_cli.main import _report_path, app
from cashroom_cli.output import Format, emit, money_text, money_value, render_report
from cashroom_cli.target import Target, load_target

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    stack = tmp_path / "stack.json"
    monkeypatch.setenv("CASHROOM_STACK_FILE", str(stack))
    for name in ("CASHROOM_FIRM", "CASHROOM_TOKEN", "AUTH_SIGNING_KEY", "REPORTING_URL"):
        monkeypatch.delenv(name, raising=False)
    return stack


def test_money_is_shown_in_major_units_of_its_currency() -> None:
    assert money_text({"amount_minor": 123456, "currency": "EUR"}) == "1,234.56 EUR"
    assert money_text({"amount_minor": -5, "currency": "GBP"}) == "-0.05 GBP"
    assert money_text({"amount_minor": 1500, "currency": "JPY"}) == "1,500 JPY"


def test_without_a_running_cashroom_a_command_says_so_in_one_line() -> None:
    result = runner.invoke(app, ["report", "trial-balance"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "no token" in result.output or "no URL for the reporting service" in result.output


def test_an_unknown_report_is_named_with_the_choices() -> None:
    result = runner.invoke(app, ["report", "profit"])
    assert result.exit_code == 1
    assert "unknown report 'profit'" in result.output
    assert "trial-balance" in result.output


def test_a_matters_reference_is_sent_as_one_path_segment_whatever_it_holds() -> None:
    assert _report_path("matter-ledger/00097-Tír") == "/reports/matter-ledger/00097-T%C3%ADr"
    assert _report_path("matter-ledger/../trial-balance") == (
        "/reports/matter-ledger/..%2Ftrial-balance"
    )
    assert _report_path("matter-ledger/a#b?as_of=1") == "/reports/matter-ledger/a%23b%3Fas_of%3D1"
    assert _report_path("matter-ledger/..") == "/reports/matter-ledger/%2E%2E"
    assert _report_path("matter-ledger/.") == "/reports/matter-ledger/%2E"
    assert _report_path("aged-debtors") == "/reports/aged-debtors"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["matter-ledger/"], "name the matter: matter-ledger/REFERENCE"),
        (["matter-ledger"], "sync-summary, audit-trail, matter-ledger/MATTER"),
        (["audit-trail", "--param", "offset"], "expected NAME=VALUE, got 'offset'"),
        (["audit-trail", "-p", "=5"], "expected NAME=VALUE, got '=5'"),
    ],
)
def test_a_report_request_that_cannot_be_right_is_refused_before_any_call(
    monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.setenv("REPORTING_URL", "http://127.0.0.1:9")
    result = runner.invoke(app, ["report", *arguments])
    assert result.exit_code == 1
    assert message in result.output


@pytest.mark.parametrize("given", ["", "  ", "3f", "3f2", "not-an-id", "3f2a;drop"])
def test_an_exception_is_resolved_only_by_enough_of_its_id(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    # An empty prefix matched every open exception, so a lone one was resolved as a breach.
    monkeypatch.setenv("LEDGER_URL", "http://127.0.0.1:9")
    result = runner.invoke(app, ["exceptions", "resolve", given, "--as", "breach", "--reason", "x"])
    assert result.exit_code == 1
    assert "is not an exception id: give it, or at least its first 4" in result.output


def test_a_date_that_is_not_a_date_is_refused_before_any_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPORTING_URL", "http://127.0.0.1:9")
    result = runner.invoke(app, ["report", "trial-balance", "--as-of", "31/12/2025"])
    assert result.exit_code == 1
    assert "--as-of '31/12/2025' is not a date (YYYY-MM-DD)" in result.output


def test_an_unreachable_service_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTING_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CASHROOM_FIRM", "firm-a")
    monkeypatch.setenv("AUTH_SIGNING_KEY", "k")
    result = runner.invoke(app, ["report", "trial-balance"])
    assert result.exit_code == 1
    assert "reporting at http://127.0.0.1:9 did not answer" in result.output
    assert "Traceback" not in result.output


def test_the_stack_file_written_by_the_demo_is_what_other_terminals_use(no_stack: Path) -> None:
    Target(firm_id="firm-a", urls={"ledger": "http://127.0.0.1:1"}, signing_key="key").save()
    assert oct(no_stack.stat().st_mode & 0o777) == "0o600"  # it holds the signing key
    target = load_target()
    assert target.url("ledger") == "http://127.0.0.1:1"
    principal = verify_token("key", target.bearer(Role.CASHIER))
    assert (principal.firm_id, principal.role) == ("firm-a", Role.CASHIER)


def test_a_token_needs_the_signing_key() -> None:
    result = runner.invoke(app, ["token", "--firm", "firm-a"])
    assert result.exit_code == 2
    assert "set AUTH_SIGNING_KEY" in result.output
    issued = runner.invoke(
        app, ["token", "--firm", "firm-a", "--role", "viewer"], env={"AUTH_SIGNING_KEY": "k"}
    )
    assert issued.exit_code == 0
    assert verify_token("k", issued.output.strip()).role is Role.VIEWER


def test_a_token_is_signed_with_the_running_demos_key_for_its_firm(no_stack: Path) -> None:
    Target(firm_id="demo-firm", signing_key="demo-key").save(no_stack)
    issued = runner.invoke(app, ["token"])
    assert issued.exit_code == 0, issued.output
    principal = verify_token("demo-key", issued.output.strip())
    assert (principal.firm_id, principal.role) == ("demo-firm", Role.CASHIER)


def test_settings_need_name_value_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_URL", "http://127.0.0.1:9")
    result = runner.invoke(app, ["settings", "set", "allow_full_sync"])
    assert result.exit_code == 1
    assert "expected NAME=VALUE, got 'allow_full_sync'" in result.output


def test_a_report_prints_its_checks_and_money_in_major_units() -> None:
    report = json.loads(
        """{"title": "Trial balance", "firm": {"name": "Ní Bhriain & O'Sullivan"},
        "period": "as at 30 September 2026", "currency": "EUR",
        "figures": {"total_debit": 250000, "total_credit": 250000},
        "figure_labels": {"total_debit": "Total debits", "total_credit": "Total credits"},
        "checks": [{"label": "Debits equal credits", "ok": true, "difference": 0,
                    "left": {"label": "debits", "amount": 250000},
                    "right": {"label": "credits", "amount": 250000}}],
        "sections": [{"title": "Nominal balances",
                      "columns": [{"key": "code", "label": "Code", "kind": "text"},
                                  {"key": "debit", "label": "Debit", "kind": "money"},
                                  {"key": "credit", "label": "Credit", "kind": "money"}],
                      "rows": [{"code": "1100", "debit": 250000, "credit": null},
                               {"code": "2100", "debit": null, "credit": 250000}],
                      "totals": {"code": "Totals", "debit": 250000, "credit": 250000}}]}"""
    )
    console = Console(record=True, width=120)
    render_report(report, console)
    text = console.export_text()
    assert (
        "Trial balance — Ní Bhriain & O'Sullivan — as at 30 September 2026 — amounts in EUR" in text
    )
    assert "✓ Debits equal credits: debits 2,500.00 = credits 2,500.00" in text
    assert text.count("2,500.00") >= 6  # figures, check, two rows and the totals


def test_a_report_shows_counts_as_counts_and_marks_the_rows_its_section_highlights() -> None:
    report = json.loads(
        """{"title": "Clio sync summary", "firm": {"name": "Firm"}, "period": "today",
        "currency": "EUR",
        "figures": {"records": 18486, "differences": 1, "amount": 125050},
        "figure_labels": {"records": "Records synced", "differences": "Object types that differ",
                          "amount": "Money"},
        "figure_kinds": {"records": "int", "differences": "int", "amount": "money"},
        "checks": [],
        "sections": [{"title": "Compared with what Clio holds", "highlight": "differs",
                      "columns": [{"key": "object_type", "label": "Clio object", "kind": "text"},
                                  {"key": "record_difference", "label": "Diff.", "kind": "int"}],
                      "rows": [{"object_type": "Activity", "record_difference": -1,
                                "differs": true},
                               {"object_type": "Bill", "record_difference": 0,
                                "differs": false}]}]}"""
    )
    console = Console(record=True, width=120)
    render_report(report, console)
    text = console.export_text()
    lines = [line.split() for line in text.splitlines()[1:4]]
    figures = {" ".join(words[:-1]): words[-1] for words in lines}
    assert figures == {
        "Records synced": "18486",
        "Object types that differ": "1",
        "Money": "1,250.50",
    }
    coloured = Console(record=True, width=120, force_terminal=True)
    render_report(report, coloured)
    styled = coloured.export_text(styles=True).splitlines()
    red = "\x1b[31m"
    [activity] = [line for line in styled if "Activity" in line]
    [bill] = [line for line in styled if "Bill" in line]
    assert red in activity and red not in bill


def one_line_error(result: Result) -> str:
    """The failure as the user sees it: exit code 1, one line, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def nothing_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A firm and a key, but every service's port closed."""
    monkeypatch.setenv("CASHROOM_FIRM", "firm-a")
    monkeypatch.setenv("AUTH_SIGNING_KEY", "k")
    for service in ("CONNECTOR", "LEDGER", "RECONCILIATION", "REPORTING"):
        monkeypatch.setenv(f"{service}_URL", "http://127.0.0.1:9")


@pytest.mark.usefixtures("nothing_answers")
@pytest.mark.parametrize(
    ("args", "service"),
    [
        (["settings", "show"], "connector"),
        (["settings", "set", "allow_full_sync=true"], "connector"),
        (["sync"], "connector"),
        (["log"], "connector"),
        (["resolve", "7", "retry"], "connector"),
        (["link"], "connector"),
        (["reconcile", "1", "--as-of", "2026-09-30"], "reconciliation"),
        (["report", "trial-balance", "-f", "pdf"], "reporting"),
    ],
)
def test_every_command_says_which_service_did_not_answer(args: list[str], service: str) -> None:
    line = one_line_error(runner.invoke(app, args))
    assert line == f"cashroom: {service} at http://127.0.0.1:9 did not answer: " + (
        "[Errno 111] Connection refused"
    )


@pytest.mark.usefixtures("nothing_answers")
def test_status_lists_what_is_down_and_fails() -> None:
    result = runner.invoke(app, ["status", "-f", "json"])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["what"], r["state"]) for r in rows[:4]] == [
        ("connector", "down"),
        ("ledger", "down"),
        ("reconciliation", "down"),
        ("reporting", "down"),
    ]
    assert (
        result.stderr.strip() == "cashroom: not ready: connector, ledger, reconciliation, reporting"
    )


@pytest.mark.usefixtures("nothing_answers")
def test_a_bad_date_for_a_reconciliation_is_named() -> None:
    line = one_line_error(runner.invoke(app, ["reconcile", "1", "--as-of", "30/09/2026"]))
    assert line == "cashroom: --as-of '30/09/2026' is not a date (YYYY-MM-DD)"


@pytest.mark.usefixtures("nothing_answers")
def test_a_report_format_is_checked_before_any_call() -> None:
    line = one_line_error(runner.invoke(app, ["report", "trial-balance", "-f", "xml"]))
    assert line == "cashroom: --format 'xml': choose one of table, json, csv, pdf"


@pytest.mark.usefixtures("nothing_answers")
def test_a_missing_statement_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "september.camt053.xml"
    line = one_line_error(runner.invoke(app, ["bank", "import", str(missing), "--account", "1"]))
    assert line == f"cashroom: no statement file at {missing}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--firm", "huge"],
            "cashroom: no 'huge' demo firm; choose one of: tiny, small, medium, large",
        ),
        (["--jurisdiction", "us"], "cashroom: jurisdiction 'us' is not ie or ew"),
    ],
)
def test_the_demo_refuses_a_firm_it_cannot_generate_before_starting_anything(
    args: list[str], expected: str
) -> None:
    assert one_line_error(runner.invoke(app, ["demo", *args])) == expected


def test_a_stack_file_that_is_not_one_is_named(no_stack: Path) -> None:
    no_stack.write_text("{not json")
    line = one_line_error(runner.invoke(app, ["log"]))
    assert line.startswith(f"cashroom: {no_stack} is not a Cashroom stack file: ")


def test_dead_letters_when_the_broker_does_not_answer_is_one_line() -> None:
    result = runner.invoke(app, ["dlq", "list", "clio.events.v1", "--kafka", "127.0.0.1:9"])
    line = one_line_error(result)
    assert line.startswith("cashroom: the broker at 127.0.0.1:9 did not answer: ")


def test_an_error_line_is_not_wrapped_however_long() -> None:
    name = "x" * 150
    line = one_line_error(runner.invoke(app, ["report", name]))
    assert line.startswith(f"cashroom: unknown report '{name}'; choose one of: trial-balance")


def test_a_resolution_names_an_action_the_connector_knows() -> None:
    line = one_line_error(runner.invoke(app, ["resolve", "7", "choose_vat"]))
    assert line == (
        "cashroom: unknown action 'choose_vat'; "
        "choose one of: choose_vat_treatment, mark_outlay_paid, retry"
    )


def test_a_mistyped_command_line_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not click's usage box (exit 2): an account that is not a number, an unknown option."""
    from cashroom_cli.main import main

    for argv, expected in (
        (["reconcile", "NOPE", "--as-of", "2026-09-30"], "Invalid value for 'account'"),
        (["report", "trial-balance", "--colour"], "No such option: --colour"),
    ):
        monkeypatch.setattr(sys, "argv", ["cashroom", *argv])
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == 1
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("cashroom: ") and expected in lines[0], lines[0]
        assert lines[0].endswith("--help` shows the usage)")
        assert "(`cashroom " in lines[0]


def test_status_fails_only_for_a_service_that_is_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger's backlog is a count beside the services, not a service that is down."""
    from cashroom_cli import flows

    rows = [
        {"what": name, "state": "ready", "detail": ""}
        for name in ("connector", "ledger", "reconciliation", "reporting")
    ]
    monkeypatch.setattr(
        flows,
        "stack_status",
        lambda _: [*rows, {"what": "ledger backlog", "state": "3 not yet posted", "detail": ""}],
    )
    monkeypatch.setenv("CASHROOM_FIRM", "firm-a")
    monkeypatch.setenv("AUTH_SIGNING_KEY", "k")
    assert runner.invoke(app, ["status"]).exit_code == 0
    rows[1] = {"what": "ledger", "state": "down", "detail": "connection refused"}
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1
    assert "not ready: ledger" in result.output


def test_money_given_on_the_command_line_is_minor_units_with_its_currency() -> None:
    assert money_value("vat_amount", "12.34 EUR") == {"amount_minor": 1234, "currency": "EUR"}
    assert money_value("amount", "GBP 1,000.5") == {"amount_minor": 100050, "currency": "GBP"}
    assert money_value("amount", "-0.05eur") == {"amount_minor": -5, "currency": "EUR"}
    assert money_value("amount", "1500 JPY") == {"amount_minor": 1500, "currency": "JPY"}
    for text, problem in (
        ("12.34", "give an amount and its currency, e.g. amount='12.34 EUR'"),
        ("EUR 1 EUR", "give an amount and its currency"),
        ("twelve EUR", "give an amount and its currency"),
        ("12.345 EUR", "EUR has 2 decimal places"),
        ("1.5 JPY", "JPY has 0 decimal places"),
    ):
        with pytest.raises(ValueError, match=problem):
            money_value("amount", text)


def test_a_resolution_amount_without_its_currency_is_refused_before_any_call() -> None:
    line = one_line_error(runner.invoke(app, ["resolve", "7", "mark_outlay_paid", "amount=12.00"]))
    assert (
        line == "cashroom: amount='12.00': give an amount and its currency, e.g. amount='12.34 EUR'"
    )


def test_an_object_holding_lists_shows_each_list_as_a_table_with_money_in_major_units() -> None:
    """A reconciliation's unexplained items, not JSON with minor units in a cell."""
    console = Console(record=True, width=160)
    emit(
        {
            "difference": {"amount_minor": -125000, "currency": "EUR"},
            "can_sign": False,
            "unexplained_items": [
                {"on": "2024-01-24", "amount": {"amount_minor": -125000, "currency": "EUR"}},
                {"on": "2024-02-01", "amount": {"amount_minor": 3050, "currency": "EUR"}},
            ],
        },
        Format.TABLE,
        title="Reconciliation",
        console=console,
    )
    text = console.export_text()
    assert "amount_minor" not in text
    assert "Unexplained items (2)" in text
    assert text.count("-1,250.00 EUR") == 2  # the difference and the first item
    assert "30.50 EUR" in text
    assert "can_sign" in text and "no" in text


def test_dead_letters_are_read_from_the_running_demos_broker(
    no_stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    line = one_line_error(runner.invoke(app, ["dlq", "list", "clio.events.v1"]))
    assert line == (
        "cashroom: no broker: start `cashroom demo`, or give --kafka (or KAFKA_BOOTSTRAP_SERVERS)"
    )
    Target(firm_id="f", extra={"kafka_bootstrap_servers": "127.0.0.1:9"}).save(no_stack)
    line = one_line_error(runner.invoke(app, ["dlq", "list", "clio.events.v1"]))
    assert line.startswith("cashroom: the broker at 127.0.0.1:9 did not answer: ")


def test_a_report_written_to_a_file_needs_a_file_format() -> None:
    line = one_line_error(runner.invoke(app, ["report", "trial-balance", "-o", "tb.txt"]))
    assert line == "cashroom: --output writes pdf, csv or json: add --format pdf|csv|json"


def test_an_exception_is_resolved_as_a_breach_or_as_fixed_with_a_reason() -> None:
    line = one_line_error(
        runner.invoke(app, ["exceptions", "resolve", "3f2a", "--as", "ignored", "--reason", "x"])
    )
    assert line == "cashroom: --as 'ignored': choose breach or fixed"
    line = one_line_error(
        runner.invoke(app, ["exceptions", "resolve", "3f2a", "--as", "breach", "--reason", " "])
    )
    assert line == "cashroom: --reason: say why (it is kept in the audit trail)"


STOPPER = """
import os, signal, sys, time
from cashroom_cli.demo import stop_on_signals
signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell leaves a job it starts with &
stop_on_signals()
try:
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    time.sleep(10)
except KeyboardInterrupt:
    os.kill(os.getpid(), signal.SIGTERM)  # a second signal while stopping is ignored
    print("stopping in order")
"""


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_the_demo_stops_in_order_on_ctrl_c_or_sigterm_even_started_in_the_background(
    name: str,
) -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", STOPPER, name], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "stopping in order"), done.stderr


def test_the_stack_file_is_removed_when_its_demo_stops(tmp_path: Path) -> None:
    from cashroom_cli.demo import _forgotten_when_stopped

    mine = Target(firm_id="mine").save(tmp_path / "stack.json")
    with _forgotten_when_stopped(mine):
        assert mine.exists()
    assert not mine.exists()

    with _forgotten_when_stopped(Target(firm_id="mine").save(mine)):
        Target(firm_id="a later demo").save(mine)
    assert json.loads(mine.read_text())["firm_id"] == "a later demo"
