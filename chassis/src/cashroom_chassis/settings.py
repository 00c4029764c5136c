"""Settings every service reads from the environment (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What a service needs to run. Each service subclasses it with its own name and extras.

    Environment variables use the plain names (``DATABASE_URL``, ``KAFKA_BOOTSTRAP_SERVERS`` ...)
    so the same code runs against the embedded PostgreSQL and broker or production ones.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    service_name: str = Field(default="cashroom", description="Used for schema, group, traces.")
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/cashroom",
        description="SQLAlchemy URL; postgresql:// is turned into postgresql+asyncpg://.",
    )
    database_schema: str | None = Field(
        default=None, description="The service's own schema; defaults to the service name."
    )
    database_pool_size: int = Field(default=10, ge=1)
    database_statement_cache_size: int = Field(
        default=100,
        ge=0,
        description="asyncpg prepared-statement cache; 0 behind PgBouncer in transaction mode.",
    )

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enable_idempotence: bool = Field(
        default=False,
        description="On for Apache Kafka; the embedded Tansu broker refuses idempotent producers.",
    )
    kafka_consumer_group: str | None = Field(default=None, description="Defaults to service name.")
    kafka_max_batch: int = Field(default=500, ge=1, description="Events handled per transaction.")
    kafka_handler_attempts: int = Field(
        default=3, ge=1, description="Tries of one event before it goes to the dead-letter topic."
    )
    kafka_retry_backoff_seconds: float = Field(default=0.2, ge=0)

    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_batch: int = Field(default=1000, ge=1)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)

    auth_signing_key: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key that signs and verifies API bearer tokens (shared by the services).",
    )

    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, description="Where traces go (OTLP/HTTP); none means traces stay local."
    )

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str) -> str:
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        return value

    @property
    def db_schema(self) -> str:
        return (self.database_schema or self.service_name).replace("-", "_")

    @property
    def consumer_group(self) -> str:
        return self.kafka_consumer_group or self.service_name
