"""The ledger service's settings (environment variables, see the chassis's ServiceSettings)."""

from cashroom_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "ledger"
    http_port: int = 8002
