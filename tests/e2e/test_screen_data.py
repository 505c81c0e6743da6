"""What a screen shows reads the same for every provider (issue 14), against `bff serve`
and the sandboxes: connector labels, missing fees, Plugchoice's EVSE ids."""

from __future__ import annotations

import re

from tests.e2e.flows import HELSINKI, UTRECHT, WARSAW, chargers
from tests.support import GraphQLClient


async def test_labels_fees_and_evse_ids_read_the_same_everywhere(client: GraphQLClient) -> None:
    seen: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for point in (WARSAW, UTRECHT, HELSINKI):
        for c in await chargers(client, point):
            seen.setdefault(c["provider"], []).append(c)
    assert set(seen) == {"PLUGSURFING", "PLUGCHOICE", "ROAMING"}
    for provider, found in seen.items():
        for c in found:
            for x in c["connectors"]:
                # The connector's number at the charger; its plug is `standard`.
                assert re.fullmatch(r"\d+", x["label"]), (provider, x["label"])
            tariff = c["tariff"] or {}
            for fee in ("startFee", "perMinute"):
                # A fee the charger does not charge is null, never a zero amount.
                assert tariff.get(fee) is None or tariff[fee]["amountMinor"] > 0, (provider, c)
    plugchoice = {c["name"]: c for c in seen["PLUGCHOICE"]}
    assert plugchoice["Domplein"]["evseId"] == "NL*PLC*EUTR01"
    assert plugchoice["Neude"]["evseId"] is None
    assert plugchoice["Jaarbeurs"]["tariff"]["startFee"] is None  # 0 at the provider
    assert plugchoice["Domplein"]["tariff"]["startFee"]["amountMinor"] == 50
