"""Figures over repeated runs, and the Markdown they end up in (``BENCHMARKS.md``)."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def progress(message: str) -> None:
    """One progress line on stderr (the tables go to BENCHMARKS.md)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    """One figure measured once per repetition."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)
    target: str = ""
    #: Whether the median meets the target (None: no target).
    meets: Callable[[float], bool] | None = None
    digits: int = 1

    def add(self, value: float) -> None:
        self.values.append(value)

    def cells(self) -> list[str]:
        if not self.values:
            return [self.name, "n/a", "", "", self.unit, self.target, ""]
        med = statistics.median(self.values)
        fmt = f"{{:,.{self.digits}f}}"
        verdict = "" if self.meets is None else ("yes" if self.meets(med) else "**no**")
        return [
            self.name,
            fmt.format(med),
            fmt.format(min(self.values)),
            fmt.format(max(self.values)),
            self.unit,
            self.target,
            verdict,
        ]


@dataclass
class Section:
    title: str
    setup: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(
        self,
        name: str,
        unit: str,
        target: str = "",
        meets: Callable[[float], bool] | None = None,
        digits: int = 1,
    ) -> Row:
        for r in self.rows:
            if r.name == name:
                return r
        r = Row(name, unit, target=target, meets=meets, digits=digits)
        self.rows.append(r)
        return r

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "setup": self.setup,
            "notes": self.notes,
            "rows": [
                {"name": r.name, "unit": r.unit, "values": r.values, "target": r.target,
                 "digits": r.digits, "met": None if r.meets is None else r.cells()[6] == "yes"}
                for r in self.rows
            ],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        section = cls(data["title"], data["setup"], notes=list(data.get("notes", [])))
        for r in data["rows"]:
            met = r.get("met")
            meets = None if met is None else (lambda _v, ok=bool(met): ok)
            row = section.row(r["name"], r["unit"], r["target"], meets, r["digits"])
            row.values = list(r["values"])
        return section

    def markdown(self) -> str:
        head = ["figure", "median", "min", "max", "unit", "target", "met"]
        lines = [f"### {self.title}", "", self.setup, ""]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---", "---:", "---:", "---:", "---", "---", "---"]) + "|")
        for r in self.rows:
            lines.append("| " + " | ".join(r.cells()) + " |")
        if self.notes:
            lines.append("")
            lines.extend(f"- {n}" for n in self.notes)
        return "\n".join(lines) + "\n"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def targets(sections: list[Section]) -> str:
    """Every figure with a target, from all sections: one table to read first."""
    lines = [
        "## Targets",
        "",
        "| benchmark | figure | median | target | met |",
        "|---|---|---:|---|---|",
    ]
    for section in sections:
        for r in section.rows:
            if r.meets is None or not r.values:
                continue
            cells = r.cells()
            lines.append(
                f"| {section.title} | {r.name} | {cells[1]} {r.unit} | {r.target} "
                f"{r.unit} | {cells[6]} |"
            )
    return "\n".join(lines) + "\n"


def document(
    command: str,
    repeats: int,
    sections: list[Section],
    preamble: str = "",
    findings: str = "",
    code: dict[str, object] | None = None,
) -> str:
    from bench import provenance

    m = machine()
    lines = [
        "# Benchmarks",
        "",
        preamble.strip(),
        "",
        f"- command: `{command}`",
        f"- when: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, "
        f"{m['os']}",
        f"- each figure: median, min and max over {repeats} repetitions in this one run",
        *provenance.lines(code if code is not None else provenance.current()),
        "",
    ]
    body = "\n".join(s.markdown() for s in sections)
    tail = f"\n{findings.strip()}\n" if findings.strip() else ""
    return "\n".join(lines) + "\n" + targets(sections) + "\n## Results\n\n" + body + tail
