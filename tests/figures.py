"""Figures: the numbers tests report ("fuzzed operations: 300, 5xx: 0"), printed in a
"figures" section at the end of the run (``pytest -q`` hides a passing test's prints).

Tests take the ``figures`` fixture and call it with a line.
"""

from __future__ import annotations

import pytest

FIGURES = pytest.StashKey[list[str]]()


class Figures:
    """Collects one test run's figure lines."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        print(line)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES] = []


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> Figures:
    return Figures(pytestconfig.stash[FIGURES])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config
                            ) -> None:
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
