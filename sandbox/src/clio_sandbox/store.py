"""Record storage for the sandbox: one SQLite table per Clio resource.

Every record is kept whole as Clio's JSON (money as JSON numbers, parsed back as Decimal), with
its id, ``created_at`` and ``updated_at`` (as epoch microseconds) in columns, and expression
indexes on the JSON paths the API filters on (``matter.id``, ``bill.id`` ...). The same store is
used by the generator (a simulated firm writes through it), by the HTTP server, and by the
oracle, so there is one implementation of every record operation. ``:memory:`` serves tiny and
small firms; a file keeps memory bounded for large ones.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .timeutil import parse_ts, to_us

__all__ = ["ID_BASES", "MODEL_TO_RESOURCE", "RESOURCES", "Record", "Store"]

Record = dict[str, Any]

# resource (URL segment and file name) -> schema model name
RESOURCES: dict[str, str] = {
    "currencies": "Currency",
    "users": "User",
    "practice_areas": "PracticeArea",
    "expense_categories": "ExpenseCategory",
    "bank_accounts": "BankAccount",
    "contacts": "Contact",
    "matters": "Matter",
    "activities": "Activity",
    "bills": "Bill",
    "line_items": "LineItem",
    "trust_line_items": "TrustLineItem",
    "allocations": "Allocation",
    "credit_memos": "CreditMemo",
    "bank_transactions": "BankTransaction",
    "bank_transfers": "BankTransfer",
    "webhooks": "Webhook",
}
MODEL_TO_RESOURCE: dict[str, str] = {model: res for res, model in RESOURCES.items()}

# First id of each resource: Clio ids are large integers.
ID_BASES: dict[str, int] = {
    "currencies": 1,
    "users": 344001,
    "practice_areas": 901,
    "expense_categories": 71,
    "bank_accounts": 7001,
    "contacts": 1840012001,
    "matters": 2231104001,
    "activities": 9911220001,
    "bills": 5550001,
    "line_items": 880001,
    "trust_line_items": 77001,
    "allocations": 300001,
    "credit_memos": 12001,
    "bank_transactions": 66001,
    "bank_transfers": 41501,
    "webhooks": 7701,
    "payments": 41001,
}

# Indexed columns per resource: column name -> path into the record.
INDEXED: dict[str, dict[str, tuple[str, ...]]] = {
    "activities": {
        "matter_id": ("matter", "id"),
        "bill_id": ("bill", "id"),
        "user_id": ("user", "id"),
        "type": ("type",),
    },
    "bills": {
        "state": ("state",),
        "client_id": ("client", "id"),
        "matter_id": ("matters", "0", "id"),
    },
    "line_items": {
        "bill_id": ("bill", "id"),
        "matter_id": ("matter", "id"),
        "activity_id": ("activity", "id"),
    },
    "trust_line_items": {"bill_id": ("bill", "id"), "matter_id": ("matter", "id")},
    "bank_transactions": {
        "bank_account_id": ("bank_account_id",),
        "matter_id": ("matter", "id"),
        "client_id": ("client", "id"),
        "allocation_id": ("allocation", "id"),
    },
    "allocations": {
        "bill_id": ("bill", "id"),
        "matter_id": ("matter", "id"),
        "contact_id": ("contact", "id"),
        "parent_id": ("parent", "id"),
    },
    "credit_memos": {"contact_id": ("contact", "id")},
    "matters": {"client_id": ("client", "id")},
}
_PATH_TO_COLUMN: dict[tuple[str, str], str] = {
    (res, "$." + ".".join(path)): col for res, cols in INDEXED.items() for col, path in cols.items()
}


def _extract(record: Record, path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        if value is None:
            return None
        if isinstance(value, list):
            idx = int(part)
            value = value[idx] if len(value) > idx else None
        else:
            value = value.get(part)
    return value


ChangeListener = Callable[[str, str, Record | None, Record | None], None]


class Store:
    """Record store. Not thread-safe: use it from one thread (or one event loop).

    Bodies are pickled dicts (fast; money stays Decimal); the indexed columns listed in
    :data:`INDEXED` are kept beside them for filters and look-ups.
    """

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute(
            "PRAGMA journal_mode=OFF" if path == ":memory:" else "PRAGMA journal_mode=WAL"
        )
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-65536")
        self.listeners: list[ChangeListener] = []
        self._in_tx = False
        self._meta: dict[str, Any] = {}
        self._create()

    # -- schema ---------------------------------------------------------------------------
    def _create(self) -> None:
        cur = self.conn
        cur.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        for res in RESOURCES:
            cols = "".join(f", {c}" for c in INDEXED.get(res, {}))
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {res} (id INTEGER PRIMARY KEY, body BLOB NOT NULL,"
                f" created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL{cols})"
            )
            cur.execute(f"CREATE INDEX IF NOT EXISTS ix_{res}_upd ON {res}(updated_us)")
            for col in INDEXED.get(res, {}):
                cur.execute(f"CREATE INDEX IF NOT EXISTS ix_{res}_{col} ON {res}({col})")
        for key, value in cur.execute("SELECT key, value FROM meta").fetchall():
            self._meta[key] = pickle.loads(value)

    # -- transactions ---------------------------------------------------------------------
    def begin(self) -> None:
        if not self._in_tx:
            self.conn.execute("BEGIN")
            self._in_tx = True

    def commit(self) -> None:
        if self._in_tx:
            self.conn.execute("COMMIT")
            self._in_tx = False

    # -- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._meta.get(key, default)

    def set_meta(self, key: str, value: Any) -> None:
        self._meta[key] = value
        self.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            (key, pickle.dumps(value, protocol=5)),
        )

    def next_id(self, resource: str) -> int:
        key = f"seq:{resource}"
        current = self._meta.get(key)
        value = ID_BASES[resource] if current is None else int(current) + 1
        self.set_meta(key, value)
        return value

    # -- records --------------------------------------------------------------------------
    def get(self, resource: str, record_id: int) -> Record | None:
        row = self.conn.execute(f"SELECT body FROM {resource} WHERE id=?", (record_id,)).fetchone()
        if row is None:
            return None
        rec: Record = pickle.loads(row[0])
        return rec

    def require(self, resource: str, record_id: int) -> Record:
        rec = self.get(resource, record_id)
        if rec is None:
            raise KeyError(f"{resource} {record_id} not found")
        return rec

    def put(self, resource: str, record: Record, *, notify: bool = True) -> None:
        """Insert or replace a record (the caller sets ``etag`` / ``updated_at``)."""
        old = self.get(resource, record["id"]) if (notify and self.listeners) else None
        self._write_rows(resource, [self._row(resource, record)])
        if notify and self.listeners:
            event = "updated" if old is not None else "created"
            for listener in list(self.listeners):
                listener(resource, event, old, record)

    def _row(self, resource: str, record: Record) -> tuple[Any, ...]:
        created = record.get("created_at")
        updated = record.get("updated_at") or created
        created_us = to_us(parse_ts(created)) if created else 0
        updated_us = to_us(parse_ts(updated)) if updated else created_us
        extra = tuple(_extract(record, path) for path in INDEXED.get(resource, {}).values())
        return (
            record["id"],
            pickle.dumps(record, protocol=5),
            created_us,
            updated_us,
            *extra,
        )

    def _write_rows(self, resource: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = "".join(f", {c}" for c in INDEXED.get(resource, {}))
        marks = ",".join("?" * len(rows[0]))
        self.conn.executemany(
            f"INSERT OR REPLACE INTO {resource}(id, body, created_us, updated_us{cols})"
            f" VALUES ({marks})",
            rows,
        )

    def insert_many(self, resource: str, records: Iterable[Record]) -> int:
        """Bulk insert without change notifications (loading, synthetic volume)."""
        batch: list[tuple[Any, ...]] = []
        count = 0
        for record in records:
            batch.append(self._row(resource, record))
            if len(batch) >= 5000:
                self._write_rows(resource, batch)
                count += len(batch)
                batch = []
        self._write_rows(resource, batch)
        return count + len(batch)

    def delete(self, resource: str, record_id: int, *, notify: bool = True) -> None:
        old = self.get(resource, record_id) if (notify and self.listeners) else None
        self.conn.execute(f"DELETE FROM {resource} WHERE id=?", (record_id,))
        if notify and self.listeners and old is not None:
            for listener in list(self.listeners):
                listener(resource, "deleted", old, None)

    def column_for(self, resource: str, path: str) -> str | None:
        return _PATH_TO_COLUMN.get((resource, path))

    def find(self, resource: str, path: str, value: Any) -> list[Record]:
        """Records whose ``path`` (e.g. ``$.bill.id``, an indexed one) equals ``value``."""
        column = _PATH_TO_COLUMN.get((resource, path))
        if column is None:
            raise KeyError(f"{resource}: {path} is not indexed")
        rows = self.conn.execute(
            f"SELECT body FROM {resource} WHERE {column} = ? ORDER BY id", (value,)
        ).fetchall()
        return [pickle.loads(r[0]) for r in rows]

    def iter(self, resource: str) -> Iterator[Record]:
        """Every record of a resource in id order (streamed)."""
        cursor = self.conn.execute(f"SELECT body FROM {resource} ORDER BY id")
        while True:
            rows = cursor.fetchmany(2000)
            if not rows:
                return
            for row in rows:
                yield pickle.loads(row[0])

    def count(self, resource: str) -> int:
        row = self.conn.execute(f"SELECT COUNT(*) FROM {resource}").fetchone()
        return int(row[0])

    def scan(
        self,
        resource: str,
        where: Sequence[tuple[str, Sequence[Any]]],
        *,
        order_sql: str = "id ASC",
        batch: int = 500,
    ) -> Iterator[Record]:
        """Records matching SQL conditions on the indexed columns, in ``order_sql`` order."""
        clauses = " AND ".join(f"({sql})" for sql, _ in where) or "1=1"
        params: list[Any] = [p for _, ps in where for p in ps]
        cursor = self.conn.execute(
            f"SELECT body FROM {resource} WHERE {clauses} ORDER BY {order_sql}", params
        )
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            for row in rows:
                yield pickle.loads(row[0])

    def clone(self, path: str = ":memory:") -> Store:
        """An independent copy (SQLite backup), e.g. to reset a server to its first state."""
        self.commit()
        other = Store.__new__(Store)
        other.path = path
        other.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.backup(other.conn)
        other.listeners = []
        other._in_tx = False
        other._meta = {}
        for key, value in other.conn.execute("SELECT key, value FROM meta").fetchall():
            other._meta[key] = pickle.loads(value)
        return other

    def close(self) -> None:
        self.commit()
        self.conn.close()
