"""The connector service's settings (environment variables, see the chassis's ServiceSettings)."""

from cashroom_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "connector"
    http_port: int = 8001
