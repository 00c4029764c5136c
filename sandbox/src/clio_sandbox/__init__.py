"""Clio API v4 sandbox, demo-firm generator and accounting oracle.

Public API::

    from clio_sandbox import (
        generate_firm, generate_firm_to_dir, write_firm, load_firm, FirmDirectory,
        compute_oracle, SyncSettings, Oracle,
        create_app, SandboxSettings, FaultSettings, OAuthClient,
        bank_lines, validate_firm, sign,
    )
"""

from __future__ import annotations

from .app import create_app
from .books import Books, BooksError
from .firm import (
    BankLine,
    Firm,
    FirmDirectory,
    FirmMeta,
    bank_lines,
    generate_firm,
    generate_firm_to_dir,
    load_firm,
    validate_firm,
    write_firm,
)
from .oracle import (
    BankAccountFigures,
    FlaggedRecord,
    MatterFigures,
    Oracle,
    OracleTotals,
    SkippedRecord,
    SyncSettings,
    compute_oracle,
)
from .settings import FaultSettings, OAuthClient, SandboxSettings
from .webhooks import sign

__all__ = [
    "BankAccountFigures",
    "BankLine",
    "Books",
    "BooksError",
    "FaultSettings",
    "Firm",
    "FirmDirectory",
    "FirmMeta",
    "FlaggedRecord",
    "MatterFigures",
    "OAuthClient",
    "Oracle",
    "OracleTotals",
    "SandboxSettings",
    "SkippedRecord",
    "SyncSettings",
    "bank_lines",
    "compute_oracle",
    "create_app",
    "generate_firm",
    "generate_firm_to_dir",
    "load_firm",
    "sign",
    "validate_firm",
    "write_firm",
]
