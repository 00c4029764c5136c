"""The connector's Clio client and normalisers against the Clio sandbox (in-process, through
httpx.ASGITransport): the field lists are accepted, every record is read at the fewest requests,
rate limits, faults and token expiry are survived, and the events from a whole generated firm add
up to the sandbox's oracle, which computes the same figures independently from Clio's data."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from cashroom_contracts.events.clio import (
    BankAccountUpserted,
    BillApproved,
    BillPaymentReceived,
    ClientMoneyPaid,
    ClientMoneyReceived,
    CreditMemoIssued,
    DisbursementPaid,
    PurchaseInvoiceRecorded,
)
from cashroom_contracts.events.common import AccountKind
from clio_connector.clio.client import ClioClient
from clio_connector.clio.errors import ClioPreconditionFailed
from clio_connector.clio.oauth import refresh_access_token
from clio_connector.domain import fields
from clio_connector.domain.normalise import (
    classify_activity,
    normalise_activity,
    normalise_allocation,
    normalise_bank_account,
    normalise_bank_transaction,
    normalise_bill,
    normalise_credit_memo,
)
from clio_connector.domain.outcomes import Flagged, Outcome, Publish
from clio_connector.domain.settings import KnownBankAccount, SyncSettings
from clio_sandbox import Firm, SandboxSettings, create_app
from clio_sandbox.oracle import Oracle, compute_oracle
from clio_sandbox.oracle import SyncSettings as OracleSettings
from clio_sandbox.settings import FaultSettings
from clio_sandbox.testing import CLIENT_ID, SECRET, tiny_firm

BASE = "http://sandbox.test"
FIRM_ID = "firm-sandbox"


class SandboxTokens:
    """Tokens from the sandbox, refreshed through its real /oauth/token endpoint."""

    def __init__(self, http: httpx.AsyncClient, grant: dict[str, Any]) -> None:
        self._http = http
        self.current: str = grant["access_token"]
        self._refresh_token: str = grant["refresh_token"]
        self.refreshes = 0

    async def access_token(self) -> str:
        return self.current

    async def refresh_access_token(self, rejected: str) -> str:
        grant = await refresh_access_token(
            self._http,
            BASE,
            client_id=CLIENT_ID,
            client_secret=SECRET,
            refresh_token=self._refresh_token,
        )
        self.current = grant.access_token
        self._refresh_token = grant.refresh_token or self._refresh_token
        self.refreshes += 1
        return self.current


@dataclass
class TimeMachine:
    """The client's clock is the sandbox's; a wait moves the sandbox's clock instead of sleeping."""

    state: Any
    waits: list[float] = field(default_factory=list)

    def now(self) -> float:
        now: float = self.state.now()
        return now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.state.clock_offset += seconds


@dataclass
class Connection:
    client: ClioClient
    tokens: SandboxTokens
    time: TimeMachine
    statuses: Counter[int]


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, statuses: Counter[int]) -> None:
        self.inner = inner
        self.statuses = statuses

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.statuses[response.status_code] += 1
        return response


@asynccontextmanager
async def connected(firm: Firm, settings: SandboxSettings) -> AsyncIterator[Connection]:
    app = create_app(firm, settings)
    transport = httpx.ASGITransport(app=app)
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        grant = (await http.post("/_control/tokens", json={})).json()
        tokens = SandboxTokens(http, grant)
        time = TimeMachine(app.state.sandbox)
        client = ClioClient(
            BASE,
            tokens,
            transport=CountingTransport(transport, statuses),
            sleep=time.sleep,
            clock=time.now,
            jitter=lambda: 1.0,
        )
        async with client:
            yield Connection(client, tokens, time, statuses)


async def read_everything(client: ClioClient) -> dict[str, list[dict[str, Any]]]:
    return {
        resource.path: [record async for page in client.pages(resource) for record in page.records]
        for resource in fields.SYNC_ORDER
    }


class TestReadingTheSandbox:
    async def test_every_record_is_read_with_the_connectors_fields_at_the_fewest_requests(
        self,
    ) -> None:
        firm = tiny_firm()
        async with connected(firm, SandboxSettings(rate_limit="off")) as clio:
            records = await read_everything(clio.client)

        for resource in fields.SYNC_ORDER:
            expected = sorted(record["id"] for record in firm.records(resource.path))
            assert [record["id"] for record in records[resource.path]] == expected
        # Cursor paging at 200 a page: one request per started page of each resource, no more.
        fewest = sum(math.ceil(len(records[r.path]) / 200) or 1 for r in fields.SYNC_ORDER)
        assert clio.client.stats.requests == fewest
        assert clio.statuses == Counter({200: fewest})

    async def test_at_peak_the_budget_is_used_up_before_waiting_and_clio_never_says_429(
        self,
    ) -> None:
        firm = tiny_firm()
        limited = SandboxSettings(rate_limit="peak", peak_limit=5)
        async with connected(firm, limited) as clio:
            pages = [page async for page in clio.client.pages(fields.ACTIVITIES, limit=40)]

        activities = len(list(firm.records("activities")))
        assert sum(len(page.records) for page in pages) == activities
        requests = math.ceil(activities / 40)
        # Five requests per window: a wait after every fifth request, and only then.
        assert len(clio.time.waits) == (requests - 1) // 5
        assert clio.statuses == Counter({200: requests})

    async def test_server_errors_and_truncated_bodies_are_survived_with_nothing_lost(self) -> None:
        firm = tiny_firm()
        faults = FaultSettings(error_rate=0.2, truncate_rate=0.2, seed=3)
        async with connected(firm.clone(), SandboxSettings(rate_limit="off")) as clean:
            expected = await read_everything(clean.client)
        async with connected(firm, SandboxSettings(rate_limit="off", faults=faults)) as faulty:
            records = await read_everything(faulty.client)

        assert records == expected
        assert faulty.client.stats.retries > 0
        assert sum(n for status, n in faulty.statuses.items() if status >= 500) > 0

    async def test_a_429_storm_is_waited_out(self) -> None:
        firm = tiny_firm()
        storm = SandboxSettings(rate_limit="off", faults=FaultSettings(rate_limit_storm=3))
        async with connected(firm, storm) as clio:
            pages = [page async for page in clio.client.pages(fields.BANK_ACCOUNTS)]

        assert [record["id"] for record in pages[0].records] == [7001, 7002, 7003]
        assert clio.statuses[429] == 3
        assert clio.client.stats.rate_limit_waits == 3

    async def test_an_expired_token_is_refreshed_through_oauth_and_reading_carries_on(
        self,
    ) -> None:
        firm = tiny_firm()
        expiring = SandboxSettings(rate_limit="off", faults=FaultSettings(expire_tokens_after=2))
        async with connected(firm, expiring) as clio:
            pages = [page async for page in clio.client.pages(fields.ACTIVITIES)]

        assert sum(len(page.records) for page in pages) == len(list(firm.records("activities")))
        assert clio.tokens.refreshes == 1
        assert clio.statuses[401] == 1


class TestTalkingToTheSandbox:
    async def test_who_am_i_names_the_authorising_user_and_the_firm(self) -> None:
        firm = tiny_firm()
        async with connected(firm, SandboxSettings(rate_limit="off")) as clio:
            user = await clio.client.who_am_i()
        assert user["id"] == firm.meta.owner_user_id
        assert user["account"]["name"] == firm.meta.firm_name

    async def test_a_disbursement_correction_is_written_back_only_over_the_version_read(
        self,
    ) -> None:
        firm = tiny_firm()
        unbilled = next(
            record
            for record in firm.records("activities")
            if record["type"] == "HardCostEntry" and not record["billed"]
        )
        async with connected(firm, SandboxSettings(rate_limit="off")) as clio:
            read = await clio.client.get_record(fields.ACTIVITIES, unbilled["id"])
            written = await clio.client.patch_activity(
                unbilled["id"], {"reference": "CHQ 777001"}, if_match=read["etag"]
            )
            with pytest.raises(ClioPreconditionFailed):
                await clio.client.patch_activity(
                    unbilled["id"], {"reference": "CHQ 777002"}, if_match=read["etag"]
                )
            again = await clio.client.get_record(fields.ACTIVITIES, unbilled["id"])

        assert written["reference"] == again["reference"] == "CHQ 777001"
        assert written["etag"] != read["etag"]


# --- The whole firm, normalised, against the oracle ---------------------------------------------


async def normalise_firm(client: ClioClient, settings: SyncSettings) -> list[tuple[str, Outcome]]:
    """What a sync does, minus storage: read in order, normalise, hold what depends on a hold."""
    records = await read_everything(client)
    outcomes: list[tuple[str, Outcome]] = []
    known: dict[int, KnownBankAccount] = {}
    for record in records["bank_accounts"]:
        outcome = normalise_bank_account(record, settings, firm_id=FIRM_ID)
        assert isinstance(outcome, Publish) and isinstance(outcome.payload, BankAccountUpserted)
        account = outcome.payload
        known[account.bank_account_id] = KnownBankAccount(
            account.bank_account_id, account.name, account.kind, account.currency
        )
    kinds, held_activities, held_bills = {}, set(), set()
    for record in records["activities"]:
        kinds[record["id"]] = classify_activity(record)
        outcome = normalise_activity(record, settings, firm_id=FIRM_ID, bank_accounts=known)
        outcomes.append(("activities", outcome))
        if isinstance(outcome, Flagged) and outcome.held is not None:
            held_activities.add(record["id"])
    for record in records["bills"]:
        items = [
            item
            async for page in client.pages(fields.LINE_ITEMS, filters={"bill_id": record["id"]})
            for item in page.records
        ]
        outcome = normalise_bill(
            record,
            items,
            settings,
            firm_id=FIRM_ID,
            expense_kinds=kinds,
            held_activity_ids=held_activities,
        )
        outcomes.append(("bills", outcome))
        if isinstance(outcome, Flagged) and outcome.held is not None:
            held_bills.add(record["id"])
    for record in records["allocations"]:
        outcome = normalise_allocation(
            record, settings, firm_id=FIRM_ID, bank_accounts=known, held_bill_ids=held_bills
        )
        outcomes.append(("allocations", outcome))
    for record in records["bank_transactions"]:
        outcome = normalise_bank_transaction(record, settings, firm_id=FIRM_ID, bank_accounts=known)
        outcomes.append(("bank_transactions", outcome))
    for record in records["credit_memos"]:
        outcomes.append(("credit_memos", normalise_credit_memo(record, settings, firm_id=FIRM_ID)))
    return outcomes


def totals(outcomes: list[tuple[str, Outcome]]) -> Counter[str]:
    """The figures the oracle reports, summed from the published events (minor units)."""
    sums: Counter[str] = Counter()
    for _, outcome in outcomes:
        if not isinstance(outcome, Publish):
            continue
        payload = outcome.payload
        if isinstance(payload, BillApproved):
            bill = payload.bill
            sums["bills_posted"] += 1
            sums["bills_total"] += bill.total.amount_minor
            sums["fees"] += sum(line.net.amount_minor for line in bill.fees)
            sums["discounts_allowed"] += bill.bill_level_discount.amount_minor
            sums["vat_output"] += bill.vat_total.amount_minor
            sums["recoverable_expenses"] += sum(
                line.net.amount_minor for line in bill.recoverable_expenses
            )
            sums["disbursements_billed"] += sum(
                line.net.amount_minor for line in bill.disbursements
            )
        elif isinstance(payload, DisbursementPaid):
            sums["disbursements_paid_from_office"] += payload.net.amount_minor
        elif isinstance(payload, PurchaseInvoiceRecorded):
            sums["linked_outlays"] += payload.net.amount_minor
        elif isinstance(payload, BillPaymentReceived):
            if payload.paid_from is AccountKind.OFFICE:
                sums["office_receipts"] += payload.amount.amount_minor
            else:
                sums["transfers_client_to_office"] += payload.amount.amount_minor
                sums["trust_payments"] += payload.amount.amount_minor  # it left the client bank
        elif isinstance(payload, CreditMemoIssued):
            sums["credits_applied"] += payload.amount.amount_minor
        elif isinstance(payload, ClientMoneyReceived):
            sums["trust_receipts"] += payload.amount.amount_minor
        elif isinstance(payload, ClientMoneyPaid):
            sums["trust_payments"] += payload.amount.amount_minor
    return sums


CUT_OFF = date(2024, 1, 1)  # the generated firm's own cut-off: its legacy matters end before


@dataclass(frozen=True)
class FirmSynced:
    oracle: Oracle
    outcomes: list[tuple[str, Outcome]]


@pytest.fixture(scope="module")
async def firm_synced() -> FirmSynced:
    """The tiny generated firm read and normalised once, and its oracle computed apart."""
    firm = tiny_firm()
    oracle = compute_oracle(firm.clone(), OracleSettings(cutoff_date=CUT_OFF))
    settings = SyncSettings(import_transactions_from=CUT_OFF)
    async with connected(firm, SandboxSettings(rate_limit="off")) as clio:
        outcomes = await normalise_firm(clio.client, settings)
    return FirmSynced(oracle, outcomes)


class TestTheWholeFirmAgainstTheOracle:
    def test_the_published_events_add_up_to_the_oracles_figures(
        self, firm_synced: FirmSynced
    ) -> None:
        ours = totals(firm_synced.outcomes)
        expected = firm_synced.oracle.totals.model_dump()

        assert {name: ours[name] for name in ours} == {name: expected[name] for name in ours}
        assert len(ours) == 14  # every figure the events can speak to
        assert ours["bills_posted"] == expected["bills_posted"] > 0

    def test_exactly_the_records_the_oracle_holds_for_review_are_flagged(
        self, firm_synced: FirmSynced
    ) -> None:
        ours = sorted(
            (resource, outcome.record.object_id, outcome.reason.value)
            for resource, outcome in firm_synced.outcomes
            if isinstance(outcome, Flagged)
        )
        # A client ledger going overdrawn is the ledger's finding (posted and flagged there).
        held = sorted(
            (flag.resource, flag.id, flag.reason)
            for flag in firm_synced.oracle.flagged
            if flag.reason != "client_ledger_overdrawn"
        )
        assert ours == held
        assert ours  # the generated firm plants disbursements whose VAT needs a decision
