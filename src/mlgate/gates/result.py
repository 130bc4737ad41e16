"""Gate verdicts: one record per check, a JSON file, and the table a failed gate prints."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlgate.errors import GateFailed


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    value: float | None
    condition: str
    message: str
    blocking: bool = True

    @property
    def status(self) -> str:
        if self.passed:
            return "pass"
        return "FAIL" if self.blocking else "warn"


@dataclass
class GateReport:
    gate: str
    checks: list[CheckResult] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """A gate passes when no blocking check failed; advisory failures only warn."""
        return all(c.passed or not c.blocking for c in self.checks)

    def ordered(self) -> list[CheckResult]:
        """Failed blocking checks first, then warnings, then passes."""
        rank = {"FAIL": 0, "warn": 1, "pass": 2}
        return sorted(self.checks, key=lambda c: rank[c.status])

    def to_dict(self) -> dict:
        return {
            "gate": self.gate,
            "passed": self.passed,
            "info": self.info,
            "checks": [asdict(c) | {"status": c.status} for c in self.ordered()],
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")

    def table(self) -> str:
        header = ("status", "check", "value", "condition", "message")
        rows = [header] + [(c.status, c.name, _fmt(c.value), c.condition, c.message) for c in self.ordered()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]

        def line(row: tuple) -> str:
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3].ljust(widths[3])]
            return "  ".join([*cells, row[4]])

        return "\n".join([f"{self.gate} gate: {'PASSED' if self.passed else 'FAILED'}", *map(line, rows)])

    def enforce(self) -> None:
        """Exit path for the CLI: raise GateFailed naming the failed checks."""
        failed = [c.name for c in self.checks if not c.passed and c.blocking]
        if failed:
            raise GateFailed(f"{self.gate} gate failed: {', '.join(failed)}")


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}"


def load_report(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None
