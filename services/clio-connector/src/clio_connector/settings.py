"""The connector service's settings (environment variables, see the chassis's ServiceSettings)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from cashroom_chassis.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "connector"
    http_port: int = 8001

    # --- Clio and OAuth ------------------------------------------------------------------------
    clio_base_url: str | None = Field(
        default=None,
        description="Clio's host for new links: https://app.clio.com (US), "
        "https://eu.app.clio.com, https://ca.app.clio.com, https://au.app.clio.com, or the "
        "sandbox. A firm keeps the host it linked with.",
    )
    clio_client_id: str = Field(default="", description="The app key registered with Clio.")
    clio_client_secret: SecretStr = Field(default=SecretStr(""))
    clio_redirect_uri: str | None = Field(
        default=None,
        description="This service's OAuth callback, as registered with Clio: "
        "https://<host>/clio/oauth/callback.",
    )
    token_encryption_key: SecretStr = Field(
        default=SecretStr(""),
        description="Fernet key(s) that encrypt Clio tokens at rest; comma-separated to rotate "
        "(the first encrypts, all decrypt). The service refuses to start without one.",
    )
    clio_oauth_state_ttl_seconds: int = Field(default=600, ge=30)
    clio_token_refresh_margin_seconds: int = Field(
        default=300, ge=0, description="Refresh an access token this long before it expires."
    )
    clio_request_timeout_seconds: float = Field(default=30.0, gt=0)
    clio_page_limit: int = Field(default=200, ge=1, le=200)

    # --- Sync ----------------------------------------------------------------------------------
    clio_sync_overlap_seconds: int = Field(
        default=300, ge=0, description="Incremental reads start this long before the mark."
    )
    clio_poll_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Poll resources Clio sends no webhooks for (all resources when webhooks are "
        "off) this often; 0 turns polling off.",
    )
    clio_sync_stale_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A running sync whose heartbeat is older than this was interrupted (its "
        "process died); it is resumed.",
    )
    clio_resume_interrupted: bool = Field(
        default=True, description="Resume interrupted syncs when the service finds them."
    )

    # --- Webhooks ------------------------------------------------------------------------------
    connector_public_url: str | None = Field(
        default=None,
        description="Where Clio reaches this service: webhooks go to "
        "{CONNECTOR_PUBLIC_URL}/webhooks/clio/{firm_id}. None: no webhooks, everything polled.",
    )
    clio_webhook_debounce_seconds: float = Field(
        default=0.2,
        ge=0,
        description="A webhook sync starts once no delivery came for this long: a burst of "
        "deliveries makes one sync. Short, because the wait is most of a change's way to the "
        "books.",
    )
    clio_webhook_max_wait_seconds: float = Field(
        default=1.0,
        ge=0,
        description="A webhook sync starts at the latest this long after the first delivery, "
        "however many keep coming.",
    )
    clio_webhook_lifetime_days: int = Field(default=30, ge=1, le=31)
    clio_webhook_renew_within_days: int = Field(default=7, ge=1, le=30)

    # --- Other services ------------------------------------------------------------------------
    ledger_url: str | None = Field(
        default=None, description="The ledger's API (chart of accounts for settings checks)."
    )
    ledger_timeout_seconds: float = Field(default=10.0, gt=0)
