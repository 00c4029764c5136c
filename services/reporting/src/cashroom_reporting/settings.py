"""The reporting service's settings (environment variables, see the chassis's ServiceSettings)."""

from pydantic import Field

from cashroom_chassis.settings import ServiceSettings
from cashroom_contracts.topics import CLIO_EVENTS, LEDGER_EVENTS, RECONCILIATION_EVENTS


class Settings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = 8004
    dormant_after_days: int = Field(
        default=730,
        ge=0,
        description="Default age of a dormant client balance (Ireland lists balances of 2 years+).",
    )
    residual_limit_minor: int = Field(
        default=50_000,
        ge=0,
        description="Residual balances at or under this (minor units; £500 in E&W) may take the "
        "charity route.",
    )
    reconciliation_days: int = Field(
        default=35, ge=1, description="Longest gap between client account reconciliations (E&W)."
    )
    ledger_topic: str = Field(default=LEDGER_EVENTS, description="Where the ledger publishes.")
    reconciliation_topic: str = RECONCILIATION_EVENTS
    clio_topic: str = CLIO_EVENTS

    @property
    def topics(self) -> tuple[str, str, str]:
        return (self.ledger_topic, self.reconciliation_topic, self.clio_topic)
