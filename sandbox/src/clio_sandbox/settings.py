"""Settings of a running sandbox: OAuth clients, rate limits, tokens, webhooks and faults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["FaultSettings", "OAuthClient", "SandboxSettings"]

KNOWN_API_VERSIONS = tuple(f"4.0.{n}" for n in range(0, 14))


class OAuthClient(BaseModel):
    """A registered developer application (Clio's "App Key" and secret)."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = Field(
        description="Exact-match redirect URIs (scheme, host, port, path, trailing slash)."
    )
    name: str = "Cashroom"


class FaultSettings(BaseModel):
    """Fault injection for ``/api/v4`` requests. All off by default."""

    error_rate: float = Field(default=0.0, ge=0, le=1, description="Share of requests failing 5xx.")
    error_statuses: list[int] = Field(default_factory=lambda: [500, 502, 503])
    latency_ms: int = Field(default=0, ge=0, description="Added to every request.")
    timeout_rate: float = Field(default=0.0, ge=0, le=1, description="Share of requests that hang.")
    timeout_seconds: float = Field(default=30.0, ge=0, description="How long a hung request hangs.")
    truncate_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of 200 responses whose body is cut in half."
    )
    rate_limit_storm: int = Field(
        default=0, ge=0, description="The next N requests get 429 whatever the budget."
    )
    change_between_pages: bool = Field(
        default=False,
        description="After each list page with a next page, touch a record (new updated_at and"
        " etag) just behind and just ahead of the cursor.",
    )
    expire_tokens_after: int | None = Field(
        default=None, ge=0, description="Expire every access token after N more API requests."
    )
    seed: int = 0


class SandboxSettings(BaseModel):
    """How the sandbox behaves. ``create_app(firm, SandboxSettings(...))``."""

    rate_limit: Literal["peak", "off-peak", "off"] = Field(
        default="peak", description="peak = 50/min per token, off-peak = 300/min, off = none."
    )
    peak_limit: int = 50
    off_peak_limit: int = 300
    rate_window_seconds: int = Field(default=60, ge=1, description="Length of a rate window.")
    token_expires_in: int = Field(default=2_592_000, description="Access-token lifetime (s).")
    auto_approve: bool = Field(
        default=True, description="Skip the consent page: /oauth/authorize approves at once."
    )
    rotate_refresh_tokens: bool = Field(
        default=False, description="Return a new refresh token on every refresh grant."
    )
    oauth_clients: list[OAuthClient] = Field(
        default_factory=lambda: [
            OAuthClient(
                client_id="cashroom-sandbox",
                client_secret="cashroom-sandbox-secret",
                redirect_uris=[
                    "http://127.0.0.1:8000/oauth/callback",
                    "http://localhost:8000/oauth/callback",
                ],
            )
        ]
    )
    allow_loopback_redirects: bool = Field(
        default=False,
        description="Also accept any http://127.0.0.1:<port>/... or localhost redirect URI"
        " (not Clio's behaviour; for tools on ephemeral ports).",
    )
    default_api_version: str = "4.0.9"
    known_api_versions: list[str] = Field(default_factory=lambda: list(KNOWN_API_VERSIONS))
    webhook_retry_delays: list[float] = Field(
        default_factory=lambda: [1.0, 5.0, 30.0, 120.0, 600.0],
        description="Seconds before each retry of a failed delivery (exponential backoff).",
    )
    webhook_timeout: float = 10.0
    webhook_suspend_after: int = Field(
        default=5, description="Consecutive failed deliveries (after retries) that suspend a hook."
    )
    faults: FaultSettings = Field(default_factory=FaultSettings)
    page_token_secret: str = "clio-sandbox-page-token"
