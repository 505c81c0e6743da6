"""The provider registry: one entry per provider, the one place that names them."""

from __future__ import annotations

import ast
import json
import pathlib
from datetime import UTC, datetime

import pytest

from bff.domain.model import Provider, SessionStatus
from bff.errors import WebhookRejected
from bff.providers import registry
from bff.providers.base import RefetchSession, SessionState
from bff.providers.roaming.webhooks import sign_roaming_webhook
from bff.settings import Settings

SETTINGS = Settings()
NOW = datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
BFF = pathlib.Path(registry.__file__).parents[1]


def plugsurfing_delivery(content_type: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"event": "SESSION_STARTED", "payload": {
        "userId": "d-1", "sessionId": "s-1", "timestamp": "2026-03-30T08:29:00Z"}}).encode()
    auth = SETTINGS.plugsurfing_webhook_auth.get_secret_value()
    return {"Authorization": auth, "Content-Type": content_type}, body


def roaming_delivery(content_type: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"type": "session.updated", "data": {
        "session_id": "r-1", "status": "active", "energy_kwh": 1.5, "cost": 0.5,
        "currency": "EUR", "duration_minutes": 3, "start_time": "2026-03-30T08:00:00Z",
        "updated_at": "2026-03-30T08:29:00Z"}}).encode()
    secret = SETTINGS.roaming_webhook_secret.get_secret_value()
    signed = sign_roaming_webhook(secret, "msg_1", int(NOW.timestamp()), body)
    return {**signed, "Content-Type": content_type}, body


DELIVERIES = {Provider.PLUGSURFING: plugsurfing_delivery, Provider.ROAMING: roaming_delivery}


def read(provider: Provider, content_type: str) -> RefetchSession | SessionState:
    parse = registry.entry(provider).webhooks
    assert parse is not None
    headers, body = DELIVERIES[provider](content_type)
    return parse(headers, body, SETTINGS, NOW)


def test_every_provider_has_one_entry() -> None:
    assert [e.provider for e in registry.PROVIDERS] == list(Provider)
    names = [e.name for e in registry.PROVIDERS]
    assert names == [p.value.lower() for p in Provider]


def test_webhook_traits() -> None:
    assert [e.name for e in registry.with_webhooks()] == ["plugsurfing", "roaming"]
    assert registry.always_polled() == {Provider.PLUGCHOICE}
    assert not any(e.webhook_meter_values for e in registry.PROVIDERS)
    assert registry.poll_budgets() == {
        Provider.PLUGSURFING: 120, Provider.PLUGCHOICE: 20, Provider.ROAMING: 120}


def test_webhooks_become_provider_neutral_events() -> None:
    assert read(Provider.PLUGSURFING, "application/json") == RefetchSession(
        "s-1", "d-1", "SESSION_STARTED", known=True)
    state = read(Provider.ROAMING, "application/json")
    assert isinstance(state, SessionState) and state.delivery_id == "msg_1"
    assert (state.session.id, state.session.status) == ("r-1", SessionStatus.CHARGING)


@pytest.mark.parametrize("provider", list(DELIVERIES))
@pytest.mark.parametrize("content_type", [
    "application/json", "Application/JSON; charset=utf-8", " application/json ;x=1",
    "application/vnd.api+json", "APPLICATION/CLOUDEVENTS+JSON",
])
def test_json_media_types_are_accepted_alike(provider: Provider, content_type: str) -> None:
    read(provider, content_type)


@pytest.mark.parametrize("provider", list(DELIVERIES))
@pytest.mark.parametrize("content_type", [
    "text/plain+json", "text/plain", "", "json", "application/jsonx", "application/json-seq",
])
def test_other_media_types_are_refused_alike(provider: Provider, content_type: str) -> None:
    with pytest.raises(WebhookRejected) as exc:
        read(provider, content_type)
    assert exc.value.status_code == 415


def test_sandbox_and_live_urls() -> None:
    sandbox = Settings(providers="sandbox", sandbox_url="http://sb.test/")
    assert registry.provider_urls(sandbox) == {
        p: f"http://sb.test/{p.value.lower()}" for p in Provider}
    live = Settings(providers="live", plugchoice_url="https://pc.test", roaming_url=None,
                    jwt_jwks_url="https://id.test/jwks")
    assert registry.provider_urls(live) == {Provider.PLUGCHOICE: "https://pc.test"}


@pytest.mark.parametrize("provider", list(Provider))
async def test_one_builder_for_every_provider(provider: Provider) -> None:
    settings = Settings(plugchoice_timeout_seconds=1.5, plugsurfing_timeout_seconds=2.5,
                        roaming_timeout_seconds=3.5)
    adapter, client = registry.build_adapter(provider, "http://provider.test", settings)
    async with client:
        assert adapter.provider is provider
        assert client.timeout.read == settings.provider_timeout(provider.value)


def names_of_providers(path: pathlib.Path) -> list[str]:
    """``Provider.X`` and imports of a provider's own package, in a module's code."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "Provider"):
            found.append(f"{path.name}:{node.lineno} Provider.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[:2] == ["bff", "providers"] and len(parts) > 2 and parts[2] in {
                    p.value.lower() for p in Provider}:
                found.append(f"{path.name}:{node.lineno} {node.module}")
    return found


def test_the_push_path_and_the_resources_name_no_provider() -> None:
    modules = [*sorted((BFF / "live").glob("*.py")), BFF / "resources.py", BFF / "app.py"]
    assert [hit for m in modules for hit in names_of_providers(m)] == []
