"""The reconciliation service's settings (environment variables, see the chassis's ServiceSettings)."""

from pydantic import Field

from cashroom_chassis.settings import ServiceSettings
from cashroom_contracts.topics import CLIO_EVENTS, LEDGER_EVENTS


class Settings(ServiceSettings):
    service_name: str = "reconciliation"
    http_port: int = 8003
    ledger_url: str = Field(
        default="http://127.0.0.1:8002",
        description="The ledger's API (the three-way figure: the sum of client ledgers).",
    )
    ledger_timeout_seconds: float = Field(default=10.0, gt=0)
    ledger_topic: str = Field(default=LEDGER_EVENTS, description="Journals and bank nominals.")
    clio_topic: str = Field(default=CLIO_EVENTS, description="Bank account names and kinds.")
    statement_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="A larger statement file is refused."
    )
    statement_max_lines: int = Field(default=200_000, ge=10)
    cadence_check_interval_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How often every firm's client accounts are checked for a late "
        "reconciliation (0: only when asked through the API).",
    )
