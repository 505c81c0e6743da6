"""Settings: the only module that reads the environment (variables prefixed ``BFF_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bff.domain.model import Provider


class Settings(BaseSettings):
    """Every knob of the BFF. Timeouts and cooldowns are settings so tests can shorten them."""

    model_config = SettingsConfigDict(env_prefix="BFF_", extra="ignore")

    # Server
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None  # how providers reach our webhooks; default http://host:port
    log_level: str = "INFO"
    workers: int = Field(
        default=0,
        ge=0,
        description=(
            "Worker processes of `bff serve` on one port (SO_REUSEPORT; `--workers` "
            "overrides); 0: one per core. Every cross-request concern lives in Redis, so "
            "workers share nothing in memory; with more than one, the embedded Redis and "
            "the sandbox run once, beside them (README: every core)."
        ),
    )
    #: Single loggers' levels over the root's, e.g. ``{"httpx": "INFO", "bff": "DEBUG"}``
    #: (httpx and httpcore are at WARNING unless named here: see bff/logs.py).
    log_levels: dict[str, str] = Field(default_factory=dict)

    # Redis: a URL, or nothing to start an embedded redis-server in ``redis_data_dir``.
    redis_url: str | None = None
    redis_data_dir: str | None = None
    redis_pool_size: int = 2  # plus one pub/sub connection per process

    # Driver auth: HS256 with ``jwt_secret`` (development) or, once ``jwt_jwks_url`` is
    # set, only the asymmetric algorithms with the identity provider's published keys.
    jwt_secret: SecretStr = SecretStr("dev-secret-change-me-0123456789abcdef")
    jwt_algorithms: list[str] = ["HS256", "RS256", "ES256"]
    jwt_jwks_url: str | None = None
    jwt_jwks_ttl_seconds: float = 300.0  # keys are re-read this often
    jwt_jwks_min_refresh_seconds: float = 10.0  # an unknown kid re-reads at most this often
    jwt_jwks_timeout_seconds: float = 5.0
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: int = 5  # clock skew allowed on exp and nbf

    # Providers: "sandbox" runs the bundled simulators; "live" uses the URLs below.
    providers: Literal["sandbox", "live"] = "sandbox"
    enabled_providers: list[str] = ["PLUGSURFING", "PLUGCHOICE", "ROAMING"]
    sandbox_url: str | None = None  # an already running sandbox server (shared by replicas)
    sandbox_speed: float = 1.0
    sandbox_chaos: float = 0.0  # probability of duplicate/reordered/dropped webhooks

    plugsurfing_url: str | None = None
    plugsurfing_client_id: str = "bff"
    plugsurfing_client_secret: SecretStr = SecretStr("sandbox-client-secret")
    plugsurfing_api_key: SecretStr | None = None
    plugsurfing_webhook_auth: SecretStr = SecretStr("sandbox-webhook-auth")
    plugsurfing_timeout_seconds: float = 5.0

    plugchoice_url: str | None = None
    plugchoice_timeout_seconds: float = 5.0

    roaming_url: str | None = None
    roaming_jwt_secret: SecretStr = SecretStr("sandbox-roaming-jwt-secret-0123456789")
    roaming_webhook_secret: SecretStr = SecretStr("whsec_c2FuZGJveC1yb2FtaW5nLXNlY3JldA==")
    roaming_timeout_seconds: float = 5.0

    upstream_retries: int = 2
    charger_cache_seconds: float = Field(
        default=15.0,
        ge=0,
        description=(
            "How long a charger read by id (a session's charger, a node(id:) lookup, the "
            "check before a start) is kept in process and served without asking the "
            "provider again; 0 disables the cache. Staleness accepted: a charger's name, "
            "place, connectors, capabilities and tariff hardly ever change, but its "
            "status and its connectors' statuses (AVAILABLE/OCCUPIED) may show up to "
            "this many seconds late on a session's detail; the map (NearbyChargers) "
            "always reads the provider, and a provider refuses a start on a charger "
            "that went offline whatever we cached. Failed reads and unknown ids are not "
            "kept. Per process, not shared between replicas."
        ),
    )
    charger_cache_size: int = Field(
        default=10_000, ge=1, description="Chargers kept at most (least recently used out)."
    )
    # Circuit breaker per provider and process: open after this many failures in a row,
    # fail fast while open, then let one trial call through.
    circuit_failure_threshold: int = 5
    circuit_open_seconds: float = 30.0

    # Session rules (seed 001)
    start_timeout_seconds: float = 120.0
    connector_cooldown_seconds: float = 60.0
    idempotency_ttl_seconds: int = 24 * 3600

    # Live updates
    poll_interval_seconds: float = 5.0
    quiet_poll_after_seconds: float = 30.0
    #: Polls per provider per minute for all replicas together, over the defaults of
    #: bff/providers/registry.py (e.g. ``{"PLUGSURFING": 300}``): keep each under the
    #: provider's rate limit.
    poll_budgets: dict[Provider, int] = Field(default_factory=dict)
    poll_lease_seconds: float = 15.0
    ws_ping_interval_seconds: float = 20.0
    #: A websocket that sends no ``connection_init`` within this is closed (4408).
    ws_init_timeout_seconds: float = Field(default=10.0, gt=0)
    #: permessage-deflate on GraphQL websockets. Off: a live update is ~1 KB of JSON, and
    #: compressing it costs CPU per socket per update (the same update to 5,000 sockets is
    #: compressed 5,000 times) and a compressor per socket (tens of KB of memory each).
    ws_compression: bool = False
    redis_reconnect_max_seconds: float = 1.0  # pub/sub reconnect backoff ceiling
    #: How often each replica checks that Redis still holds what it wrote (the
    #: ``bff:epoch`` marker) and refreshes its in-process list of live sessions.
    redis_check_seconds: float = 5.0
    #: Each replica keeps the records (owner, Plugchoice token) of live sessions in
    #: memory, to write them back if Redis comes back empty (bff/live/livecopy.py).
    redis_keep_live_records: bool = True
    webhook_max_bytes: int = 64 * 1024
    webhook_tolerance_seconds: int = 300

    # Limits
    #: POST /graphql bodies, GET /graphql query strings and websocket messages: larger
    #: ones are refused (413; a websocket closes 1009) before they are read whole.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: The query text of one operation (HTTP or websocket ``subscribe``); the token limit
    #: counts no whitespace or comments, this does.
    max_query_bytes: int = Field(default=100 * 1024, ge=256)
    max_page_size: int = 100
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    mutation_rate_per_minute: int = 60  # per driver, all replicas; also the burst
    max_operations_per_socket: int = 50  # operations in flight on one websocket
    graphiql: bool = True
    introspection: bool = True
    allowed_origins: list[str] = Field(default_factory=list)

    # Persisted queries (Apollo APQ), stored in Redis for every replica (bff/store/keys.py).
    persisted_queries: bool = True
    persisted_queries_only: bool = False  # production: run registered operations only
    persisted_queries_file: str | None = None  # .graphql or Apollo manifest .json, pinned
    persisted_queries_ttl_seconds: int = 7 * 24 * 3600  # client-registered; 0: forever

    # Observability
    metrics_enabled: bool = True  # GET /metrics (Prometheus text format)

    def provider_timeout(self, provider: str) -> float:
        """The time budget for one provider's part of a request."""
        value: float = getattr(self, f"{provider.lower()}_timeout_seconds", 10.0)
        return value

    def own_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return (self.public_url or f"http://{host}:{self.port}").rstrip("/")
