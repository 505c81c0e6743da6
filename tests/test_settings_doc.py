"""Every setting is in the README, as bff/settings.py says it (``python -m bff.settings_doc``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from bff.settings import Settings
from bff.settings_doc import BEGIN, END, SECTIONS, env_name, main, section, undocumented
from tests.support import ROOT

REGENERATE = "run .venv/bin/python -m bff.settings_doc --write"


def test_every_setting_has_a_description() -> None:
    assert undocumented() == [], "add Field(description=...): what it does, unit, why the default"


def test_readme_settings_are_what_the_generator_writes() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.count(BEGIN) == 1 and readme.count(END) == 1, f"README markers: {REGENERATE}"
    current = readme[readme.index(BEGIN) : readme.index(END) + len(END)]
    assert current == section(), f"README's settings differ from bff/settings.py: {REGENERATE}"
    for name, field in Settings.model_fields.items():
        assert f"| `{env_name(name, field)}` |" in current
    # OpenTelemetry's own variables keep their standard names.
    assert "| `OTEL_EXPORTER_OTLP_ENDPOINT` |" in current and "BFF_OTEL" not in current


def test_section_headings_name_settings_that_exist() -> None:
    assert set(SECTIONS) <= set(Settings.model_fields)


def test_a_new_setting_joins_the_table_and_one_without_description_is_refused() -> None:
    class WithNew(Settings):
        metrics_enabled: bool = Field(default=True, description="old")
        trace_sample_ratio: float = Field(default=0.1, ge=0, le=1, description="Traces kept.")
        undocumented_knob: int = 3

    text = section(WithNew)
    observability = text[text.index("### Observability") :]
    assert "| `BFF_TRACE_SAMPLE_RATIO` | `0.1`, ≥ 0, ≤ 1 | Traces kept. |" in observability
    assert undocumented(WithNew) == ["BFF_UNDOCUMENTED_KNOB"]


def test_write_then_check(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{BEGIN}\n| stale |\n{END}\n\nAfter.\n")
    assert main(["--check", "--readme", str(readme)]) == 1
    assert main(["--write", "--readme", str(readme)]) == 0
    assert main(["--check", "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\n") and text.endswith("\n\nAfter.\n")
    assert "| stale |" not in text and "`BFF_HOST`" in text
