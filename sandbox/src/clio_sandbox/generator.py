"""A deterministic demo law firm: realistic Clio data from a seed, a size and a jurisdiction.

The firm is simulated, not sampled: every matter runs a small story (money on account, time,
recoveries, disbursements, bills, approvals, payments, refunds, closing) through the same
operations the control API uses (:mod:`clio_sandbox.books`), and all stories are interleaved in
date order, so ids grow with time, bank running balances are true, and every money field agrees
with every other. Special cases are planted on chosen matters so each size contains all of them:
legacy matters wholly before the cut-off, an overdrawn client ledger, a voided bill, a bill
edited after approval, a deleted draft, a payment edited (allocation voided and replaced), a trust
request, a credit note, a matter-to-matter transfer, a second client account, VAT-bearing
disbursements (billed and unbilled), and draft / awaiting-approval bills at the end.

Same seed + size + jurisdiction → byte-identical output.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Literal

from . import names
from .books import BillLine, Books, FirmInfo
from .money import ZERO, q2
from .store import Record, Store
from .timeutil import format_ts, local_datetime_to_utc

__all__ = [
    "GENERATOR_VERSION",
    "SIZES",
    "FirmSize",
    "Jurisdiction",
    "SizeSpec",
    "populate_store",
]

GENERATOR_VERSION = "1"
Jurisdiction = Literal["ie", "ew"]
FirmSize = Literal["tiny", "small", "medium", "large"]

AS_OF = date(2026, 9, 30)
FIRM_START = date(2023, 10, 2)
DEFAULT_CUTOFF = date(2024, 1, 1)
LEGACY_END = date(2023, 12, 15)


@dataclass(frozen=True)
class SizeSpec:
    clients: int
    matters: int
    users: int
    legacy_matters: int


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(clients=8, matters=18, users=3, legacy_matters=2),
    "small": SizeSpec(clients=50, matters=120, users=6, legacy_matters=6),
    "medium": SizeSpec(clients=420, matters=900, users=18, legacy_matters=30),
    "large": SizeSpec(clients=4000, matters=8500, users=60, legacy_matters=200),
}


@dataclass(frozen=True)
class JurisdictionSpec:
    code: str
    country: str
    currency: str
    currency_id: int
    sign: str
    vat_rate: Decimal
    time_zone: str
    first: tuple[str, ...]
    last: tuple[str, ...]
    places: tuple[tuple[str, str, str], ...]
    company_suffix: tuple[str, ...]
    phone_prefix: str
    email_tld: str
    firm_name: str
    bank: str


JURISDICTIONS: dict[str, JurisdictionSpec] = {
    "ie": JurisdictionSpec(
        code="ie",
        country="Ireland",
        currency="EUR",
        currency_id=3,
        sign="€",
        vat_rate=Decimal("23.0"),
        time_zone="Dublin",
        first=names.IE_FIRST,
        last=names.IE_LAST,
        places=names.IE_PLACES,
        company_suffix=names.IE_COMPANY_SUFFIX,
        phone_prefix="+353 1 555",
        email_tld="ie",
        firm_name="Ní Bhriain & O'Sullivan Solicitors",
        bank="Bank of Ireland",
    ),
    "ew": JurisdictionSpec(
        code="ew",
        country="United Kingdom",
        currency="GBP",
        currency_id=4,
        sign="£",
        vat_rate=Decimal("20.0"),
        time_zone="London",
        first=names.EW_FIRST,
        last=names.EW_LAST,
        places=names.EW_PLACES,
        company_suffix=names.EW_COMPANY_SUFFIX,
        phone_prefix="+44 20 7946",
        email_tld="co.uk",
        firm_name="Lloyd, O'Neill & Müller LLP",
        bank="Barclays",
    ),
}

# (name, code, category, typical money on account range, fixed fee?)
PRACTICE_AREAS: tuple[tuple[str, str, str], ...] = (
    ("Conveyancing", "CONV", "real_estate"),
    ("Probate and Estates", "PROB", "wills_and_estates"),
    ("Family", "FAM", "family"),
    ("Civil Litigation", "LIT", "civil_litigation"),
    ("Personal Injury", "PI", "personal_injury"),
    ("Employment", "EMP", "employment_and_labor"),
    ("Commercial", "COM", "commercial_and_sale_of_goods"),
    ("Criminal Defence", "CRIM", "criminal"),
)

# (name, entry_type, rate, tax_setting)
EXPENSE_CATEGORIES: tuple[tuple[str, str, str, str], ...] = (
    ("Photocopying", "soft_cost", "0.10", "tax_1_only"),
    ("Postage", "soft_cost", "1.50", "tax_1_only"),
    ("Mileage", "soft_cost", "0.45", "tax_1_only"),
    ("Court fees", "hard_cost", "0", "no_tax"),
    ("Land Registry fees", "hard_cost", "0", "no_tax"),
    ("Search fees", "hard_cost", "0", "no_tax"),
    ("Stamp duty", "hard_cost", "0", "no_tax"),
    ("Commissioner for oaths", "hard_cost", "0", "no_tax"),
    ("Counsel's fees", "hard_cost", "0", "tax_1_only"),
    ("Expert's report", "hard_cost", "0", "tax_1_only"),
)

VENDORS: dict[str, tuple[tuple[str, str], ...]] = {
    # category -> (vendor name, vendor kind)
    "ie": (
        ("Courts Service of Ireland", "Court fees"),
        ("Tailte Éireann (Land Registry)", "Land Registry fees"),
        ("Law Searchers Ireland", "Search fees"),
        ("Revenue Commissioners", "Stamp duty"),
        ("Máire Ní Chonaill, Commissioner for Oaths", "Commissioner for oaths"),
    ),
    "ew": (
        ("HM Courts & Tribunals Service", "Court fees"),
        ("HM Land Registry", "Land Registry fees"),
        ("Searches UK Ltd", "Search fees"),
        ("HM Revenue & Customs", "Stamp duty"),
        ("D'Souza & Co, Commissioners for Oaths", "Commissioner for oaths"),
    ),
}

COUNSEL = {
    "ie": ("Ciarán Ó Dálaigh BL", "Dr. Siobhán O'Reilly (consultant engineer)"),
    "ew": ("Rhys ap Dafydd (Counsel)", "Dr. Renée Le Fèvre (medical expert)"),
}

TASK_NOTES: dict[str, tuple[str, ...]] = {
    "CONV": (
        "Review title documents and raise requisitions",
        "Draft contract for sale",
        "Attend to searches and replies",
        "Correspondence with vendor's solicitor",
        "Completion meeting and closing documents",
        "Stamp duty return and registration",
    ),
    "PROB": (
        "Meeting with executors",
        "Prepare inventory of estate assets",
        "Correspondence with Revenue re. CAT",
        "Draft grant application papers",
        "Distribution account for beneficiaries",
    ),
    "FAM": (
        "Consultation re. separation",
        "Draft affidavit of means",
        "Attend court for directions hearing",
        "Negotiate terms of settlement",
    ),
    "LIT": (
        "Review pleadings",
        "Draft letter of claim",
        "Discovery: review documents",
        "Brief counsel",
        "Attend hearing",
    ),
    "PI": (
        "Take instructions from client re. accident",
        "Obtain medical records",
        "Correspondence with insurers",
        "Prepare for mediation",
    ),
    "EMP": (
        "Review contract of employment",
        "Draft submission to tribunal",
        "Settlement negotiations with employer",
    ),
    "COM": (
        "Draft shareholders' agreement",
        "Review supply contract",
        "Due diligence review",
        "Board minutes and filings",
    ),
    "CRIM": (
        "Attend client at garda station / police station",
        "Review book of evidence",
        "Attend District Court",
    ),
}

MATTER_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "CONV": ("Purchase of {n} {street}", "Sale of {n} {street}", "Remortgage of {n} {street}"),
    "PROB": ("Estate of the late {first} {last}", "Will and enduring power of attorney"),
    "FAM": ("Separation agreement", "Custody and access", "Divorce proceedings"),
    "LIT": ("{last} v. {other} – breach of contract", "Debt recovery against {other}"),
    "PI": ("Road traffic accident – {last}", "Workplace injury claim"),
    "EMP": ("Unfair dismissal claim", "Settlement agreement review"),
    "COM": ("Shareholders' agreement", "Sale of business assets", "Commercial lease"),
    "CRIM": ("Defence – public order charge", "Defence – road traffic offence"),
}

SCENARIOS = (
    "overdraw",
    "void",
    "edit_after_approval",
    "deleted_draft",
    "payment_edited",
    "trust_request",
    "credit_memo",
    "matter_transfer",
    "second_trust_account",
    "one_payment_two_bills",
    "flat_fee",
)
END_SCENARIOS = ("vat_disb_unbilled", "vat_disb_billed", "draft_at_end", "awaiting_approval_at_end")


class SimClock:
    """Simulated time: each reading is 2 s after the previous one on the current day."""

    def __init__(self) -> None:
        self.day = FIRM_START
        self.tick = 0

    def set_day(self, day: date) -> None:
        if day != self.day:
            self.day = day
            self.tick = 0

    def __call__(self) -> datetime:
        self.tick += 1
        seconds = min(8 * 3600 + 30 * 60 + 2 * self.tick, 23 * 3600 + 59 * 60 + 59)
        return local_datetime_to_utc(self.day, seconds)


def business_day(day: date) -> date:
    while day.weekday() >= 5 or day == DEFAULT_CUTOFF or (day.month == 12 and day.day in (25, 26)):
        day += timedelta(days=1)
    return day


def money(rng: random.Random, low: int, high: int, step: int = 1) -> Decimal:
    """A whole amount between low and high in multiples of ``step``."""
    return Decimal(rng.randrange(low // step, high // step + 1) * step)


@dataclass
class MatterPlan:
    index: int
    client_id: int
    area: tuple[str, str, str]
    area_id: int
    attorney_id: int
    open_date: date
    end_date: date
    legacy: bool = False
    scenarios: set[str] = field(default_factory=set)
    partner_index: int | None = None  # matter_transfer: the other matter
    matter_id: int = 0


class FirmGenerator:
    def __init__(
        self, store: Store, seed: int, size: str, jurisdiction: str, as_of: date = AS_OF
    ) -> None:
        if size not in SIZES:
            raise ValueError(f"size must be one of {sorted(SIZES)}")
        if jurisdiction not in JURISDICTIONS:
            raise ValueError("jurisdiction must be 'ie' or 'ew'")
        self.store = store
        self.seed = seed
        self.size = size
        self.spec = SIZES[size]
        self.j = JURISDICTIONS[jurisdiction]
        self.as_of = as_of
        self.rng = random.Random(f"clio-sandbox:{GENERATOR_VERSION}:{seed}:{size}:{jurisdiction}")
        self.clock = SimClock()
        self.books: Books  # set in setup
        self.users: list[Record] = []
        self.clients: list[Record] = []
        self.vendors: dict[str, Record] = {}
        self.counsel: list[Record] = []
        self.categories: dict[str, Record] = {}
        self.area_ids: dict[str, int] = {}
        self.plans: list[MatterPlan] = []
        self.ref_seq = 0
        self.sub_ids = 55_000_000

    # ------------------------------------------------------------------ setup
    def next_ref(self, prefix: str) -> str:
        self.ref_seq += 1
        return f"{prefix}-{self.ref_seq:06d}"

    def _sub_id(self) -> int:
        self.sub_ids += 1
        return self.sub_ids

    def setup(self) -> None:
        store, j, rng = self.store, self.j, self.rng
        self.clock.set_day(FIRM_START - timedelta(days=30))
        store.begin()
        stamp = format_ts(self.clock())
        for cid, code, sign in ((1, "USD", "$"), (2, "CAD", "$"), (3, "EUR", "€"), (4, "GBP", "£")):
            store.put(
                "currencies",
                {
                    "id": cid,
                    "etag": f'"cur{cid}"',
                    "code": code,
                    "sign": sign,
                    "created_at": stamp,
                    "updated_at": stamp,
                },
            )
        # users (fee earners); the first is the account owner and billing user
        rates = ("325", "275", "240", "210", "180", "150", "120")
        for i in range(self.spec.users):
            first = rng.choice(j.first)
            last = rng.choice(j.last)
            uid = store.next_id("users")
            email_local = f"{_ascii(first)}.{_ascii(last)}".lower()
            user = {
                "id": uid,
                "etag": f'"user{uid}"',
                "name": f"{first} {last}",
                "first_name": first,
                "last_name": last,
                "initials": f"{first[0]}{last[0]}",
                "email": f"{email_local}{i}@{_ascii(j.firm_name.split()[0]).lower()}.{j.email_tld}",
                "enabled": True,
                "subscription_type": "Attorney"
                if i < max(2, self.spec.users * 2 // 3)
                else "NonAttorney",
                "roles": ["admin", "billing", "accounts"]
                if i == 0
                else (["billing"] if i < 2 else []),
                "rate": Decimal(rates[min(i, len(rates) - 1)]),
                "time_zone": j.time_zone,
                "account_owner": i == 0,
                "clio_connect": False,
                "court_rules_default_attendee": False,
                "default_calendar_id": 8800000 + i,
                "phone_number": f"{j.phone_prefix} {1000 + i:04d}",
                "created_at": stamp,
                "updated_at": stamp,
                "account": {"id": 1, "name": j.firm_name},
            }
            store.put("users", user)
            self.users.append(user)
        for name, code, category in PRACTICE_AREAS:
            pid = store.next_id("practice_areas")
            store.put(
                "practice_areas",
                {
                    "id": pid,
                    "etag": f'"pa{pid}"',
                    "name": name,
                    "code": code,
                    "category": category,
                    "created_at": stamp,
                    "updated_at": stamp,
                },
            )
            self.area_ids[code] = pid
        currency_ref = {"id": j.currency_id, "code": j.currency, "sign": j.sign}
        for name, entry_type, rate, tax_setting in EXPENSE_CATEGORIES:
            eid = store.next_id("expense_categories")
            rec = {
                "id": eid,
                "etag": f'"ec{eid}"',
                "name": name,
                "rate": Decimal(rate),
                "entry_type": entry_type,
                "tax_setting": tax_setting,
                "xero_expense_code": None,
                "accessible_to_user": True,
                "currency": currency_ref,
                "groups": [],
                "utbms_code": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
            store.put("expense_categories", rec)
            self.categories[name] = rec
        accounts = (
            ("Office Account", "Operating", True, "1001"),
            ("Client Account", "Trust", True, "4321"),
            ("Client Designated Deposit Account", "Trust", False, "8765"),
        )
        account_ids: list[int] = []
        for name, typ, default, last4 in accounts:
            aid = store.next_id("bank_accounts")
            account_ids.append(aid)
            store.put(
                "bank_accounts",
                {
                    "id": aid,
                    "etag": f'"ba{aid}"',
                    "name": name,
                    "type": typ,
                    "currency": j.currency,
                    "currency_symbol": j.sign,
                    "currency_id": Decimal(j.currency_id),
                    "balance": ZERO,
                    "default_account": default,
                    "account_number": f"****{last4}",
                    "transit_number": None,
                    "swift": None,
                    "institution": j.bank,
                    "domicile_branch": None,
                    "holder": f"{j.firm_name} {name}",
                    "general_ledger_number": None,
                    "controlled_account": False,
                    "clio_payments_enabled": False,
                    "clio_payment_page_link": None,
                    "clio_payment_page_qr_code": None,
                    "bank_transactions_count": 0,
                    "user": {"id": self.users[0]["id"]},
                    "created_at": stamp,
                    "updated_at": stamp,
                },
            )
        info = FirmInfo(
            name=j.firm_name,
            currency=j.currency,
            currency_id=j.currency_id,
            currency_sign=j.sign,
            vat_rate=j.vat_rate,
            operating_account_id=account_ids[0],
            trust_account_ids=account_ids[1:],
            owner_user_id=self.users[0]["id"],
        )
        self.books = Books(store, info, self.clock)
        # vendors and counsel (contacts that are not clients)
        for vname, category in VENDORS[j.code]:
            self.vendors[category] = self._contact(vname, None, "Company", is_client=False)
        for cname in COUNSEL[j.code]:
            parts = cname.split(" ", 1)
            self.counsel.append(self._contact(parts[0], parts[1], "Person", is_client=False))
        # clients
        for _ in range(self.spec.clients):
            if rng.random() < 0.25:
                stem = rng.choice(names.COMPANY_STEMS)
                suffix = rng.choice(j.company_suffix)
                self.clients.append(
                    self._contact(f"{stem} {suffix}", None, "Company", is_client=True)
                )
            else:
                self.clients.append(
                    self._contact(rng.choice(j.first), rng.choice(j.last), "Person", is_client=True)
                )
        store.set_meta("firm_info", info.to_json())
        store.set_meta(
            "billing_settings",
            {
                "id": 1,
                "etag": '"bs1"',
                "rounded_duration": Decimal("0.1"),
                "rounding": 6,
                "use_decimal_rounding": True,
                "currency": j.currency,
                "currency_sign": j.sign,
                "tax_rate": j.vat_rate,
                "tax_name": "VAT",
                "apply_tax_by_default": True,
                "time_on_flat_rate_contingency_matters_is_non_billable": False,
                "use_secondary_tax": False,
                "secondary_tax_rate": ZERO,
                "secondary_tax_rule": "Pre",
                "secondary_tax_name": "Secondary tax",
                "notify_after_bill_created": False,
                "use_utbms_codes": False,
                "created_at": stamp,
                "updated_at": stamp,
            },
        )
        store.commit()

    def _contact(self, first: str, last: str | None, typ: str, *, is_client: bool) -> Record:
        j, rng = self.j, self.rng
        stamp = format_ts(self.clock())
        cid = self.store.next_id("contacts")
        name = first if last is None else f"{first} {last}"
        city, province, code = rng.choice(j.places)
        email = f"{_ascii(name).lower().replace(' ', '.')}@example.{j.email_tld}"
        phone = f"{j.phone_prefix} {rng.randrange(1000, 9999)}"
        address = {
            "id": self._sub_id(),
            "etag": f'"ad{cid}"',
            "name": "Work" if typ == "Company" else "Home",
            "street": f"{rng.randrange(1, 120)} {rng.choice(names.STREETS)}",
            "city": city,
            "province": province,
            "postal_code": f"{code} {rng.choice('ACDEFHKNPRTVWXY')}{rng.randrange(10, 99)}{rng.choice('ACDEFHKNPRTVWXY')}",
            "country": j.country,
            "primary": True,
            "created_at": stamp,
            "updated_at": stamp,
        }
        rec: Record = {
            "id": cid,
            "etag": f'"ct{cid}"',
            "name": name,
            "first_name": first if typ == "Person" else None,
            "middle_name": None,
            "last_name": last if typ == "Person" else None,
            "date_of_birth": None,
            "type": typ,
            "prefix": None,
            "title": None,
            "initials": "".join(p[0] for p in name.split()[:2]) if typ == "Person" else None,
            "primary_email_address": email,
            "secondary_email_address": None,
            "primary_phone_number": phone,
            "secondary_phone_number": None,
            "ledes_client_id": None,
            "is_client": is_client,
            "is_co_counsel": False,
            "is_bill_recipient": is_client,
            "sales_tax_number": (
                f"IE{rng.randrange(1000000, 9999999)}W"
                if j.code == "ie"
                else f"GB{rng.randrange(100000000, 999999999)}"
            )
            if typ == "Company"
            else None,
            "currency": {"id": j.currency_id, "code": j.currency, "sign": j.sign},
            "addresses": [address],
            "primary_address": {"id": address["id"]},
            "email_addresses": [
                {
                    "id": self._sub_id(),
                    "etag": f'"em{cid}"',
                    "address": email,
                    "name": "Work" if typ == "Company" else "Home",
                    "primary": True,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            ],
            "phone_numbers": [
                {
                    "id": self._sub_id(),
                    "etag": f'"ph{cid}"',
                    "number": phone,
                    "name": "Work",
                    "primary": True,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            ],
            "account_balances": [],
            "company": None,
            "custom_field_values": [],
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.store.put("contacts", rec)
        return rec

    # ------------------------------------------------------------------ plans
    def plan(self) -> None:
        rng = self.rng
        spec = self.spec
        regular_start = DEFAULT_CUTOFF + timedelta(days=3)
        span = (self.as_of - timedelta(days=25) - regular_start).days
        weights = [1.0 / (i + 1) ** 0.6 for i in range(len(self.clients))]
        for i in range(spec.matters):
            legacy = i < spec.legacy_matters
            client = (
                rng.choices(self.clients, weights)[0]
                if i >= len(self.clients)
                else self.clients[i % len(self.clients)]
            )
            area = rng.choice(PRACTICE_AREAS)
            attorney = rng.choice(self.users[: max(2, spec.users * 2 // 3)])
            if legacy:
                open_date = business_day(FIRM_START + timedelta(days=rng.randrange(0, 15)))
                end_date = open_date + timedelta(days=40)
            else:
                open_date = business_day(regular_start + timedelta(days=rng.randrange(0, span)))
                end_date = open_date + timedelta(days=rng.randrange(45, 330))
            self.plans.append(
                MatterPlan(
                    index=i,
                    client_id=client["id"],
                    area=area,
                    area_id=self.area_ids[area[1]],
                    attorney_id=attorney["id"],
                    open_date=open_date,
                    end_date=end_date,
                    legacy=legacy,
                )
            )
        regular = [p for p in self.plans if not p.legacy]
        # scenarios that must complete: matters opened early enough and ending before as_of
        early = [p for p in regular if p.open_date < self.as_of - timedelta(days=300)]
        early.sort(key=lambda p: (p.open_date, p.index))
        picks = early[:: max(1, len(early) // (len(SCENARIOS) + 2))]
        for scenario, plan in zip(SCENARIOS, picks, strict=False):
            plan.scenarios.add(scenario)
            plan.end_date = max(plan.end_date, plan.open_date + timedelta(days=150))
            plan.end_date = min(plan.end_date, self.as_of - timedelta(days=40))
        transfer = next((p for p in regular if "matter_transfer" in p.scenarios), None)
        if transfer is not None:
            partner = next(
                p
                for p in regular
                if not p.scenarios
                and p.index != transfer.index
                and p.open_date > transfer.open_date
            )
            partner.client_id = transfer.client_id
            partner.open_date = business_day(transfer.open_date + timedelta(days=7))
            partner.end_date = transfer.end_date + timedelta(days=60)
            partner.scenarios.add("transfer_partner")
            transfer.partner_index = partner.index
        # end-of-history scenarios: matters still open at as_of
        alive = [
            p for p in regular if not p.scenarios and p.open_date < self.as_of - timedelta(days=90)
        ]
        alive.sort(key=lambda p: (p.open_date, p.index))
        for scenario, plan in zip(END_SCENARIOS, alive[-len(END_SCENARIOS) :], strict=False):
            plan.scenarios.add(scenario)
            plan.end_date = self.as_of + timedelta(days=200)
        # a few more matters still open at the end (unbilled WIP, unpaid bills)
        for plan in alive[: max(2, len(alive) // 6)]:
            if not plan.scenarios:
                plan.end_date = self.as_of + timedelta(days=120)

    # ------------------------------------------------------------------ simulation
    def run(self) -> None:
        heap: list[tuple[date, int, Generator[date, None, None]]] = []
        for plan in self.plans:
            story = MatterStory(self, plan).run()
            first = next(story, None)
            if first is not None:
                heap.append((first, plan.index, story))
        heapq.heapify(heap)
        self.store.begin()
        steps = 0
        while heap:
            day, index, story = heapq.heappop(heap)
            if day > self.as_of:
                story.close()
                continue
            self.clock.set_day(day)
            nxt = next(story, None)
            if nxt is not None:
                heapq.heappush(heap, (max(nxt, day), index, story))
            steps += 1
            if steps % 2000 == 0:
                self.store.commit()
                self.store.begin()
        self.store.commit()


class MatterStory:
    """One matter's life as an agenda of dated actions."""

    def __init__(self, gen: FirmGenerator, plan: MatterPlan) -> None:
        self.gen = gen
        self.plan = plan
        self.rng = random.Random(
            f"clio-sandbox:{GENERATOR_VERSION}:{gen.seed}:{gen.size}:{gen.j.code}:matter:{plan.index}"
        )
        self.agenda: list[tuple[date, int, Callable[[date], Any]]] = []
        self.seq = 0
        self.matter: Record = {}
        self.trust_account = gen.books.info.trust_account_ids[0] if gen.spec else 0
        self.open_bills: list[int] = []
        self.no_pay: set[int] = set()
        self.billing_frozen = False
        self.closed = False

    @property
    def books(self) -> Books:
        return self.gen.books

    def at(self, day: date, action: Callable[[date], Any]) -> None:
        self.seq += 1
        heapq.heappush(self.agenda, (business_day(day), self.seq, action))

    def run(self) -> Generator[date, None, None]:
        self.at(self.plan.open_date, self.open)
        while self.agenda:
            day, _, action = heapq.heappop(self.agenda)
            yield day
            action(day)

    # -------------------------------------------------------------- helpers
    @property
    def mid(self) -> int:
        return int(self.matter["id"])

    def area_code(self) -> str:
        return self.plan.area[1]

    def fee_earner(self) -> Record:
        users = self.gen.users
        if self.rng.random() < 0.7:
            return next(u for u in users if u["id"] == self.plan.attorney_id)
        return self.rng.choice(users)

    def held(self, account: int | None = None) -> Decimal:
        return self.books.trust_balance(self.mid, account or self.trust_account)

    def unbilled(self) -> list[Record]:
        return [
            a
            for a in self.gen.store.find("activities", "$.matter.id", self.mid)
            if a["bill"] is None and not a["non_billable"]
        ]

    # -------------------------------------------------------------- actions
    def open(self, day: date) -> None:
        gen, plan, rng = self.gen, self.plan, self.rng
        client = gen.store.require("contacts", plan.client_id)
        number = plan.index + 1
        last = client["last_name"] or client["name"].split()[0]
        template = rng.choice(MATTER_DESCRIPTIONS[self.area_code()])
        description = template.format(
            n=rng.randrange(1, 150),
            street=rng.choice(names.STREETS),
            first=rng.choice(gen.j.first),
            last=last,
            other=rng.choice(names.COMPANY_STEMS),
        )
        if "second_trust_account" in plan.scenarios:
            self.trust_account = gen.books.info.trust_account_ids[1]
        self.matter = gen.books.create(
            "matters",
            {
                "number": number,
                "display_number": f"{number:05d}-{_short(last)}",
                "custom_number": None,
                "currency": gen.books.info.currency_ref(),
                "description": description,
                "status": "Open",
                "location": None,
                "client_reference": None,
                "client_id": plan.client_id,
                "billable": True,
                "maildrop_address": f"matter{number}@maildrop.example",
                "billing_method": "hourly",
                "open_date": day.isoformat(),
                "close_date": None,
                "pending_date": None,
                "shared": False,
                "has_tasks": False,
                "last_activity_date": None,
                "client": {"id": plan.client_id},
                "practice_area": {"id": plan.area_id},
                "responsible_attorney": {"id": plan.attorney_id},
                "originating_attorney": {"id": plan.attorney_id},
                "user": {"id": plan.attorney_id},
                "group": None,
                "custom_rate": None,
                "account_balances": [],
                "custom_field_values": [],
                "matter_bill_recipients": [],
                "relationships": [],
                "split_invoice_payers": [],
            },
        )
        plan.matter_id = self.mid
        if plan.legacy:
            self.legacy_script(day)
            return
        code = self.area_code()
        if "overdraw" in plan.scenarios:
            self.at(day + timedelta(days=2), self.overdraw)
        elif "trust_request" in plan.scenarios:
            self.at(day + timedelta(days=1), self.trust_request)
        elif code in ("CONV", "PROB") or rng.random() < 0.45:
            self.at(day + timedelta(days=rng.randrange(1, 6)), self.money_on_account)
        if "matter_transfer" in plan.scenarios:
            self.at(day + timedelta(days=20), self.transfer_to_partner)
        self.at(day + timedelta(days=rng.randrange(0, 3)), self.work)
        self.at(day + timedelta(days=rng.randrange(35, 80)), self.bill_cycle)
        self.at(plan.end_date, self.final)
        for scenario in END_SCENARIOS:
            if scenario in plan.scenarios:
                self.at(gen.as_of - timedelta(days=45), self.freeze_billing)
                self.at(gen.as_of - timedelta(days=30), getattr(self, scenario))

    def legacy_script(self, day: date) -> None:
        """A matter wholly before the cut-off: opened, billed, paid, refunded, closed."""
        rng = self.rng

        def receipt(d: date) -> None:
            self.books.trust_receipt(
                matter_id=self.mid,
                amount=money(rng, 1500, 4000, 50),
                day=d,
                description="Money on account of costs",
                reference=self.gen.next_ref("LODG"),
                account_id=self.trust_account,
            )

        def work(d: date) -> None:
            for k in range(4):
                self.time(d + timedelta(days=k))
            self.disbursement(d, with_vendor=True)

        def bill(d: date) -> None:
            b = self.make_bill(d, state="awaiting_payment")
            if b is None:
                return
            amount = min(self.held(), Decimal(str(b["balance"])))
            if amount > 0:
                self.books.record_payment(
                    allocations=[(b, amount)],
                    day=d + timedelta(days=3),
                    source_account_id=self.trust_account,
                    reference=self.gen.next_ref("TRF"),
                )
            b = self.books.get("bills", b["id"])
            if Decimal(str(b["balance"])) > 0:
                self.books.record_payment(
                    allocations=[(b, Decimal(str(b["balance"])))],
                    day=d + timedelta(days=10),
                    reference=self.gen.next_ref("EFT"),
                )

        def close(d: date) -> None:
            self.refund_and_close(d)

        self.at(day + timedelta(days=1), receipt)
        self.at(day + timedelta(days=3), work)
        self.at(day + timedelta(days=20), bill)
        self.at(min(day + timedelta(days=40), LEGACY_END), close)

    def time(self, day: date, note: str | None = None) -> Record:
        rng = self.rng
        user = self.fee_earner()
        minutes = rng.choice((6, 12, 18, 24, 30, 36, 42, 48, 60, 72, 90, 120, 150, 180))
        seconds = minutes * 60 - rng.choice((0, 0, 0, 35, 110, 170))
        non_billable = rng.random() < 0.03
        return self.books.time_entry(
            matter_id=self.mid,
            user_id=user["id"],
            day=day,
            seconds=max(seconds, 60),
            price=Decimal(str(user["rate"])),
            note=note or rng.choice(TASK_NOTES[self.area_code()]),
            non_billable=non_billable,
            no_charge=(not non_billable) and rng.random() < 0.02,
        )

    def soft_cost(self, day: date) -> Record:
        rng = self.rng
        name = rng.choice(("Photocopying", "Photocopying", "Postage", "Mileage"))
        cat = self.gen.categories[name]
        quantity = Decimal(
            {
                "Photocopying": rng.randrange(10, 400),
                "Postage": rng.randrange(1, 6),
                "Mileage": rng.randrange(8, 120),
            }[name]
        )
        return self.books.expense_entry(
            kind="SoftCostEntry",
            matter_id=self.mid,
            user_id=self.fee_earner()["id"],
            day=day,
            quantity=quantity,
            price=Decimal(str(cat["rate"])),
            note=f"{name}: {quantity} {'pages' if name == 'Photocopying' else 'units' if name == 'Postage' else 'miles'}",
            category=cat,
            tax_setting="tax_1_only",
        )

    def disbursement(self, day: date, *, with_vendor: bool = False, vat: bool = False) -> Record:
        rng, gen = self.rng, self.gen
        if vat:
            cat = gen.categories[rng.choice(("Counsel's fees", "Expert's report"))]
            counsel = gen.counsel[0] if cat["name"] == "Counsel's fees" else gen.counsel[1]
            amount = money(rng, 400, 2500, 25)
            return self.books.expense_entry(
                kind="HardCostEntry",
                matter_id=self.mid,
                user_id=self.fee_earner()["id"],
                day=day,
                quantity=Decimal(1),
                price=amount,
                note=f"{cat['name']} – {counsel['name']} (fee note)",
                category=cat,
                tax_setting="tax_1_only",
            )
        options = {
            "CONV": ("Search fees", "Land Registry fees"),
            "PROB": ("Commissioner for oaths", "Court fees"),
            "LIT": ("Court fees", "Court fees", "Commissioner for oaths"),
            "PI": ("Court fees",),
            "FAM": ("Court fees", "Commissioner for oaths"),
        }.get(self.area_code(), ("Court fees", "Search fees"))
        name = rng.choice(options)
        cat = gen.categories[name]
        amount = {
            "Search fees": money(rng, 40, 250, 5),
            "Land Registry fees": money(rng, 80, 800, 5),
            "Court fees": money(rng, 25, 300, 5),
            "Commissioner for oaths": Decimal(rng.choice(("10", "15", "20"))),
        }.get(name, money(rng, 20, 200, 5))
        vendor = gen.vendors[name]
        return self.books.expense_entry(
            kind="HardCostEntry",
            matter_id=self.mid,
            user_id=self.fee_earner()["id"],
            day=day,
            quantity=Decimal(1),
            price=amount,
            note=f"{name} ({vendor['name']})",
            category=cat,
            tax_setting="no_tax",
            vendor_id=vendor["id"] if with_vendor else None,
            reference=gen.next_ref("CHQ" if rng.random() < 0.3 else "EFT") if with_vendor else None,
        )

    def work(self, day: date) -> None:
        rng = self.rng
        if self.closed:
            return
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            self.time(day)
        if rng.random() < 0.3:
            self.soft_cost(day)
        if rng.random() < 0.2:
            self.disbursement(day, with_vendor=rng.random() < 0.75)
        if self.area_code() == "CONV" and rng.random() < 0.08:
            held = self.held()
            if held > 1000:
                self.books.trust_payment(
                    matter_id=self.mid,
                    amount=q2(held * Decimal(rng.choice(("0.3", "0.5", "0.8")))),
                    day=day,
                    description=rng.choice(
                        ("Completion monies to vendor's solicitor", "Stamp duty paid to Revenue")
                    ),
                    reference=self.gen.next_ref("EFT"),
                    account_id=self.trust_account,
                )
        nxt = day + timedelta(days=rng.choice((3, 4, 5, 7, 8, 10, 12, 14)))
        if nxt < self.plan.end_date:
            self.at(nxt, self.work)

    def money_on_account(self, day: date) -> None:
        rng = self.rng
        code = self.area_code()
        amount = {
            "CONV": money(rng, 5000, 60000, 250),
            "PROB": money(rng, 8000, 90000, 250),
        }.get(code, money(rng, 500, 5000, 50))
        self.books.trust_receipt(
            matter_id=self.mid,
            amount=amount,
            day=day,
            description="Money on account" if code not in ("PROB",) else "Estate funds received",
            reference=self.gen.next_ref("LODG"),
            account_id=self.trust_account,
        )

    def make_bill(self, day: date, *, state: str = "draft") -> Record | None:
        rng = self.rng
        acts = self.unbilled()
        extra: list[BillLine] = []
        if "flat_fee" in self.plan.scenarios and not self.open_bills:
            extra.append(
                BillLine(
                    description="Agreed fixed fee – professional services", price=Decimal("750.00")
                )
            )
        if not acts and not extra:
            return None
        discount = None
        roll = rng.random()
        if roll < 0.12:
            discount = {
                "rate": Decimal(rng.choice((5, 10))),
                "type": "percentage",
                "note": "Goodwill discount",
            }
        elif roll < 0.17:
            discount = {
                "rate": Decimal(rng.choice((50, 100))),
                "type": "money",
                "note": "Agreed reduction",
            }
        line_discounts = {}
        times = [a for a in acts if a["type"] == "TimeEntry"]
        if times and rng.random() < 0.08:
            line_discounts[times[0]["id"]] = {
                "rate": Decimal(20),
                "type": "percentage",
                "note": "Trainee time",
            }
        bill = self.books.create_bill(
            matter_id=self.mid,
            activities=acts,
            issued_at=day,
            due_at=day + timedelta(days=30),
            state=state,
            discount=discount,
            line_discounts=line_discounts,
            extra_lines=extra,
        )
        self.open_bills.append(bill["id"])
        return bill

    def bill_cycle(self, day: date) -> None:
        rng = self.rng
        if self.closed or self.billing_frozen:
            return
        bill = self.make_bill(day)
        if bill is not None:
            if (
                "deleted_draft" in self.plan.scenarios
                and "draft_deleted" not in self.plan.scenarios
            ):
                self.plan.scenarios.add("draft_deleted")
                self.at(day + timedelta(days=3), partial(self.delete_draft, bill_id=bill["id"]))
            else:
                self.at(
                    day + timedelta(days=rng.randrange(1, 7)),
                    partial(self.approve, bill_id=bill["id"]),
                )
        nxt = day + timedelta(days=rng.randrange(45, 95))
        if nxt < self.plan.end_date - timedelta(days=10):
            self.at(nxt, self.bill_cycle)

    def delete_draft(self, day: date, bill_id: int) -> None:
        bill = self.books.get("bills", bill_id)
        self.books.delete_bill(bill)
        self.open_bills.remove(bill_id)

    def approve(self, day: date, bill_id: int) -> None:
        rng, plan = self.rng, self.plan
        bill = self.books.get("bills", bill_id)
        if bill["state"] not in ("draft", "awaiting_approval"):
            return
        if rng.random() < 0.2:
            bill = self.books.set_bill_state(bill, "awaiting_approval")
        bill = self.books.set_bill_state(bill, "awaiting_payment")
        if "void" in plan.scenarios and "voided" not in plan.scenarios:
            plan.scenarios.add("voided")
            self.at(day + timedelta(days=5), lambda d: self.void(d, bill_id))
            return
        if "edit_after_approval" in plan.scenarios and "edited" not in plan.scenarios:
            plan.scenarios.add("edited")
            self.at(day + timedelta(days=7), lambda d: self.edit_approved(d, bill_id))
            return
        if "one_payment_two_bills" in plan.scenarios and "held_first" not in plan.scenarios:
            plan.scenarios.add("held_first")
            self.no_pay.add(bill_id)
            return
        if bill_id in self.no_pay:
            return
        self.schedule_payments(day, bill_id)

    def schedule_payments(self, day: date, bill_id: int) -> None:
        rng, plan = self.rng, self.plan
        if "one_payment_two_bills" in plan.scenarios and self.no_pay and bill_id not in self.no_pay:
            first = next(iter(self.no_pay))
            self.no_pay.clear()
            self.at(day + timedelta(days=12), lambda d: self.pay_two(d, first, bill_id))
            return
        if "payment_edited" in plan.scenarios and "payment_fixed" not in plan.scenarios:
            plan.scenarios.add("payment_fixed")
            self.at(day + timedelta(days=9), lambda d: self.pay_with_correction(d, bill_id))
            return
        if "credit_memo" in plan.scenarios and "credited" not in plan.scenarios:
            plan.scenarios.add("credited")
            self.at(day + timedelta(days=14), lambda d: self.pay_and_write_off(d, bill_id))
            return
        wait = rng.randrange(5, 50)
        self.at(day + timedelta(days=wait), lambda d: self.pay(d, bill_id))

    def pay(self, day: date, bill_id: int) -> None:
        rng = self.rng
        bill = self.books.get("bills", bill_id)
        balance = Decimal(str(bill["balance"]))
        if bill["state"] != "awaiting_payment" or balance <= 0:
            return  # a nil bill, or one settled some other way: nothing to pay
        held = self.held()
        if held >= balance and rng.random() < 0.9:
            self.books.record_payment(
                allocations=[(bill, balance)],
                day=day,
                source_account_id=self.trust_account,
                reference=self.gen.next_ref("TRF"),
            )
            return
        if rng.random() < 0.3 and balance > 100:
            part = q2(balance * Decimal(rng.choice(("0.4", "0.5", "0.6"))))
            self.books.record_payment(
                allocations=[(bill, part)], day=day, reference=self.gen.next_ref("EFT")
            )
            self.at(day + timedelta(days=rng.randrange(10, 40)), lambda d: self.pay(d, bill_id))
            return
        self.books.record_payment(
            allocations=[(bill, balance)], day=day, reference=self.gen.next_ref("EFT")
        )

    def pay_two(self, day: date, first_id: int, second_id: int) -> None:
        first = self.books.get("bills", first_id)
        second = self.books.get("bills", second_id)
        items = [
            (b, Decimal(str(b["balance"])))
            for b in (first, second)
            if b["state"] == "awaiting_payment" and Decimal(str(b["balance"])) > 0
        ]
        if items:
            self.books.record_payment(
                allocations=items,
                day=day,
                reference=self.gen.next_ref("EFT"),
                description="One payment for two bills",
            )

    def pay_with_correction(self, day: date, bill_id: int) -> None:
        """The cashier keys 10× the amount, then edits the payment: Clio voids and re-adds."""
        bill = self.books.get("bills", bill_id)
        balance = Decimal(str(bill["balance"]))
        wrong = q2(balance / 10)
        if wrong <= 0:  # too small a bill to mistype tenfold: an ordinary payment
            self.pay(day, bill_id)
            return
        ref = self.gen.next_ref("EFT")
        (alloc,) = self.books.record_payment(allocations=[(bill, wrong)], day=day, reference=ref)
        self.books.void_allocation(alloc)
        bill = self.books.get("bills", bill_id)
        self.books.record_payment(allocations=[(bill, balance)], day=day, reference=ref)

    def pay_and_write_off(self, day: date, bill_id: int) -> None:
        bill = self.books.get("bills", bill_id)
        balance = Decimal(str(bill["balance"]))
        write_off = min(Decimal("25.00"), balance)
        if balance > write_off:
            self.books.record_payment(
                allocations=[(bill, balance - write_off)],
                day=day,
                reference=self.gen.next_ref("EFT"),
            )
            bill = self.books.get("bills", bill_id)
        self.books.credit_memo(
            bill=bill,
            amount=write_off,
            day=day + timedelta(days=1),
            description="Small balance written off",
        )

    def void(self, day: date, bill_id: int) -> None:
        bill = self.books.get("bills", bill_id)
        self.books.delete_bill(bill)  # DELETE on an awaiting_payment bill voids it
        self.open_bills.remove(bill_id)
        self.at(day + timedelta(days=10), self.rebill)

    def rebill(self, day: date) -> None:
        bill = self.make_bill(day)
        if bill is not None:
            self.at(day + timedelta(days=2), partial(self.approve, bill_id=bill["id"]))

    def edit_approved(self, day: date, bill_id: int) -> None:
        bill = self.books.get("bills", bill_id)
        bill = self.books.edit_bill(
            bill,
            {
                "discount": {
                    "rate": Decimal(10),
                    "type": "percentage",
                    "note": "Discount agreed after approval",
                },
                "memo": "Amended after approval",
            },
        )
        lines = self.gen.store.find("line_items", "$.bill.id", bill_id)
        services = [
            ln for ln in lines if ln["kind"] == "Service" and ln["type"] == "ActivityLineItem"
        ]
        if services:
            self.books.edit_line_item(
                services[0],
                {"description": services[0]["description"] + " (revised)"},
                update_original=False,
            )
        self.schedule_payments(day, bill_id)

    def overdraw(self, day: date) -> None:
        """Client money paid out beyond what the matter holds, made good a week later."""
        self.books.trust_receipt(
            matter_id=self.mid,
            amount=Decimal("1000.00"),
            day=day,
            description="Money on account",
            reference=self.gen.next_ref("LODG"),
            account_id=self.trust_account,
        )

        def pay_out(d: date) -> None:
            self.books.trust_payment(
                matter_id=self.mid,
                amount=Decimal("1250.00"),
                day=d,
                description="Payment to Revenue – stamp duty (exceeds funds held)",
                reference=self.gen.next_ref("EFT"),
                account_id=self.trust_account,
                allow_overdraw=True,
            )

        def top_up(d: date) -> None:
            self.books.trust_receipt(
                matter_id=self.mid,
                amount=Decimal("250.00"),
                day=d,
                description="Client funds to clear shortfall",
                reference=self.gen.next_ref("LODG"),
                account_id=self.trust_account,
            )

        self.at(day + timedelta(days=5), pay_out)
        self.at(day + timedelta(days=12), top_up)

    def trust_request(self, day: date) -> None:
        rng = self.rng
        amount = money(rng, 1000, 5000, 100)
        bill = self.books.trust_request(
            matter_id=self.mid,
            amount=amount,
            issue_date=day,
            due_date=day + timedelta(days=14),
            note="Funds on account of costs",
        )
        self.at(
            day + timedelta(days=6),
            lambda d: self.books.pay_trust_request(
                bill=self.books.get("bills", bill["id"]),
                amount=amount,
                day=d,
                reference=self.gen.next_ref("LODG"),
            ),
        )

    def transfer_to_partner(self, day: date) -> None:
        partner = self.gen.plans[self.plan.partner_index or 0]
        held = self.held()
        if partner.matter_id and held > 200:
            self.books.trust_transfer(
                from_matter_id=self.mid,
                to_matter_id=partner.matter_id,
                amount=q2(held / 2),
                day=day,
                account_id=self.trust_account,
            )

    def freeze_billing(self, day: date) -> None:
        # bill everything done so far, so the end scenario's bill holds only what follows
        self.billing_frozen = True

    def vat_disb_unbilled(self, day: date) -> None:
        self.disbursement(day + timedelta(days=20), vat=True)

    def vat_disb_billed(self, day: date) -> None:
        self.disbursement(day, vat=True)

        def bill_it(d: date) -> None:
            bill = self.make_bill(d)
            if bill is not None:
                self.no_pay.add(bill["id"])
                self.books.set_bill_state(bill, "awaiting_payment")

        self.at(day + timedelta(days=3), bill_it)

    def draft_at_end(self, day: date) -> None:
        self.at(day + timedelta(days=22), lambda d: self.make_bill(d))

    def awaiting_approval_at_end(self, day: date) -> None:
        def submit(d: date) -> None:
            bill = self.make_bill(d)
            if bill is not None:
                self.books.set_bill_state(bill, "awaiting_approval")

        self.at(day + timedelta(days=22), submit)

    def final(self, day: date) -> None:
        if self.billing_frozen:
            return
        bill = self.make_bill(day)
        if bill is not None:
            self.at(day + timedelta(days=2), partial(self.approve, bill_id=bill["id"]))
        self.at(day + timedelta(days=75), self.refund_and_close)

    def refund_and_close(self, day: date) -> None:
        for bill_id in list(self.open_bills):
            bill = self.books.get("bills", bill_id)
            if bill["state"] in ("draft", "awaiting_approval", "awaiting_payment"):
                return  # still busy: the matter stays open
        for account in self.gen.books.info.trust_account_ids:
            held = self.books.trust_balance(self.mid, account)
            if held > 0:
                self.books.trust_payment(
                    matter_id=self.mid,
                    amount=held,
                    day=day,
                    description="Balance of funds returned to client",
                    reference=self.gen.next_ref("EFT"),
                    account_id=account,
                    transaction_type="Refund",
                )
        matter = self.books.get("matters", self.mid)
        matter["status"] = "Closed"
        matter["close_date"] = day.isoformat()
        self.books.save("matters", matter)
        self.closed = True


def _ascii(text: str) -> str:
    import unicodedata

    norm = unicodedata.normalize("NFKD", text)
    out = "".join(c for c in norm if (c.isalnum() and c.isascii()) or c in " .")
    return out.replace(" ", "")


def _short(last: str) -> str:
    return last.replace(" ", "")[:14]


def populate_store(
    store: Store, seed: int, size: str, jurisdiction: str, as_of: date = AS_OF
) -> dict[str, Any]:
    """Generate a firm into ``store``; returns the firm's meta."""
    gen = FirmGenerator(store, seed, size, jurisdiction, as_of)
    gen.setup()
    gen.plan()
    gen.run()
    meta: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "size": size,
        "jurisdiction": jurisdiction,
        "currency": gen.j.currency,
        "vat_rate": gen.j.vat_rate,
        "firm_name": gen.j.firm_name,
        "as_of": as_of.isoformat(),
        "history_start": FIRM_START.isoformat(),
        "default_cutoff_date": DEFAULT_CUTOFF.isoformat(),
        "owner_user_id": gen.users[0]["id"],
        "operating_account_id": gen.books.info.operating_account_id,
        "trust_account_ids": gen.books.info.trust_account_ids,
        "scenarios": {
            s: [p.matter_id for p in gen.plans if s in p.scenarios]
            for s in (*SCENARIOS, *END_SCENARIOS, "legacy")
        },
    }
    meta["scenarios"]["legacy"] = [p.matter_id for p in gen.plans if p.legacy]
    store.set_meta("firm", meta)
    return meta
