"""Each seam module refuses to load on a release of its library it was not written for,
with a message that names the module and both versions."""

from __future__ import annotations

import importlib
import sys
from importlib import metadata

import pytest

from bff.seams import SeamVersionError

SEAMS = {
    "bff.seams.strawberry": "strawberry-graphql",
    "bff.seams.uvicorn": "uvicorn",
    "bff.seams.websockets": "websockets",
    "bff.seams.starlette": "starlette",
}


@pytest.mark.parametrize(("module", "distribution"), sorted(SEAMS.items()))
def test_a_seam_fails_at_import_on_another_version(
    module: str, distribution: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = metadata.version(distribution)
    real = metadata.version

    def reported(name: str) -> str:
        return "99.0.0" if name == distribution else real(name)

    monkeypatch.setattr(metadata, "version", reported)
    saved = {k: v for k, v in sys.modules.items() if k.startswith("bff.seams.")}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    try:
        with pytest.raises(SeamVersionError) as caught:
            importlib.import_module(module)
    finally:
        for name in [k for k in sys.modules if k.startswith("bff.seams.")]:
            del sys.modules[name]
        sys.modules.update(saved)
    message = str(caught.value)
    assert module in message and pinned in message and "99.0.0" in message
    assert distribution in message


def test_every_seam_module_checks_its_version() -> None:
    import pkgutil

    import bff.seams

    found = {f"bff.seams.{m.name}" for m in pkgutil.iter_modules(bff.seams.__path__)}
    assert found == set(SEAMS), "a new seam module needs its version check and a test here"
