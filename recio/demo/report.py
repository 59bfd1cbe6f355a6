"""The demo's report: what each stage read and wrote, what verify found, the figures and the files.

One `DemoReport` is filled in as the stages run; at the end it is printed and saved beside the
outputs as report.json (for tests and scripts) and report.md (for people).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Stage:
    """One stage: what went in, what came out and where, in how long."""

    name: str
    rows_in: int | None
    records_out: int | None
    output: str
    seconds: float = 0.0
    detail: str = ""


@dataclass(slots=True)
class VerifiedSet:
    """`recio verify` over one output set: its files, the records found and any damage."""

    name: str
    files: int
    records: int
    ok: bool
    issues: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DemoReport:
    """Everything the demo shows at the end; `to_json` is what report.json holds."""

    workdir: str
    stages: list[Stage] = field(default_factory=list)
    verified: list[VerifiedSet] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # what -> path
    skipped: list[str] = field(default_factory=list)
    backend: str = ""
    device: str = ""
    seconds: float = 0.0

    def stage(self, name: str) -> Stage:
        """The stage called `name` (KeyError when it did not run)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def clean(self) -> bool:
        """Every output set verified without damage."""
        return all(entry.ok for entry in self.verified)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The printed summary: a few aligned lines per section."""
        out = ["stages (rows in -> records out):"]
        for stage in self.stages:
            out.append(
                f"  {stage.name:<22} {_count(stage.rows_in):>8} -> {_count(stage.records_out):>8}"
                f"  {stage.seconds:5.1f} s  {stage.detail}".rstrip()
            )
        out.append("verify (every output set):")
        for entry in self.verified:
            state = "clean" if entry.ok else "DAMAGE: " + "; ".join(entry.issues[:2])
            out.append(
                f"  {entry.name:<22} {entry.files:>3} files {entry.records:>8,} records  {state}"
            )
        out.append("metrics:")
        for name, value in self.metrics.items():
            out.append(f"  {name:<40} {_metric(name, value)}")
        out.append("files:")
        for name, path in self.files.items():
            out.append(f"  {name:<22} {path}")
        for note in self.skipped:
            out.append(f"skipped: {note}")
        return out

    def markdown(self) -> str:
        """report.md: the same content as tables."""
        rows = ["# recio demo report", ""]
        rows += [f"{self.seconds:.0f} s on {self.device} ({self.backend} backend).", ""]
        rows += ["| stage | rows in | records out | seconds | output |", "|---|---:|---:|---:|---|"]
        for stage in self.stages:
            rows.append(
                f"| {stage.name} | {_count(stage.rows_in)} | {_count(stage.records_out)} | "
                f"{stage.seconds:.1f} | {_relative(stage.output, self.workdir)} {stage.detail} |"
            )
        rows += ["", "| verified set | files | records | result |", "|---|---:|---:|---|"]
        for entry in self.verified:
            state = "clean" if entry.ok else "damage: " + "; ".join(entry.issues[:3])
            rows.append(f"| {entry.name} | {entry.files} | {entry.records:,} | {state} |")
        rows += ["", "| metric | value |", "|---|---:|"]
        rows += [f"| {name} | {_metric(name, value)} |" for name, value in self.metrics.items()]
        rows += ["", "| file | path |", "|---|---|"]
        rows += [f"| {name} | {path} |" for name, path in self.files.items()]
        rows += [f"\nSkipped: {note}" for note in self.skipped]
        return "\n".join(rows) + "\n"

    def save(self, folder: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write report.json and report.md into `folder`; returns both paths."""
        root = Path(folder)
        as_json, as_md = root / "report.json", root / "report.md"
        for path, text in (
            (as_json, json.dumps(self.to_json(), indent=2) + "\n"),
            (as_md, self.markdown()),
        ):
            temp = path.with_name(f".{path.name}.tmp")
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, path)
        return as_json, as_md


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _metric(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if "dollars" in name:
        return f"${value:,.0f}"
    if "accuracy" in name:
        return f"{value:.3f}"
    return f"{value:.4g}"


def _relative(path: str, root: str) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return path


__all__ = ["DemoReport", "Stage", "VerifiedSet"]
