"""The report: JSON for tools, a Markdown table for people, and the README section between its
markers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from outcome import CRASH, DESTROYED, ORIGINAL, REFUSED, SILENT, TORN, TYPED, Row

OVER, PCT = "memory_over_bound", "intact_recovered_pct"
START, END = "<!-- reliability:start -->", "<!-- reliability:end -->"
TF_WORDS = {
    ORIGINAL: "same records",
    TYPED: "error",
    SILENT: "silently wrong/short",
    CRASH: "crash",
    "boundary_cut": "boundary cut",
    "exists": "file left",
}


def _tf_cell(row: Row) -> str:
    if row.skipped:
        return "—"
    if not row.tf:
        return row.tf_note or "—"
    order = sorted(row.tf.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{n:,} {TF_WORDS.get(k, k)}" for k, n in order)
    return f"{text} ({row.tf_note})" if row.tf_note else text


def _extra(row: Row) -> str:
    skip = (ORIGINAL, TYPED, CRASH, SILENT, DESTROYED, TORN, REFUSED, OVER, PCT)
    keys = [k for k in row.recio if k not in skip]
    return ", ".join(f"{row.recio[k]} {k.replace('_', ' ')}" for k in keys)


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    head = (
        "| id | fault class | cases | original records only | typed error | crash "
        "| silently wrong | user files destroyed / torn | peak memory "
        "| TensorFlow 2.21 on the same inputs |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        if row.skipped:
            lines.append(f"| {row.id} | {row.fault} | skipped: {row.skipped} | | | | | | | |")
            continue
        r = row.recio
        extra = _extra(row)
        ok = f"{r[ORIGINAL]:,}" + (f" (+{extra})" if extra else "")
        if PCT in r:
            ok += f"; {r[PCT]} % of intact records recovered"
        mem = "—"
        if row.peak_mib is not None:
            mem = f"{row.peak_mib:,.1f} MiB"
            if row.bound_mib is not None:
                mem += f" (bound {row.bound_mib:,.0f})"
            if r[OVER]:
                mem += f", **{r[OVER]} over bound**"
        typed = f"{r[TYPED]:,}" + (f" (**{r[REFUSED]} on valid files**)" if r[REFUSED] else "")
        lines.append(
            f"| {row.id} | {row.fault} | {row.cases:,} | {ok} | {typed} | {r[CRASH]} "
            f"| {r[SILENT]} | {r[DESTROYED]} / {r[TORN]} | {mem} | {_tf_cell(row)} |"
        )
    foot = (
        f"\nBudget `{meta['budget']}`, seed {meta['seed']}, {meta['seconds']:.0f} s on "
        f"{meta['cpus']} CPUs, TensorFlow {meta.get('tf') or 'not run'}, recordio backend "
        f"{meta.get('backend')}; {meta['date']}"
        + (
            f"; rows merged from {len(meta['merged_from'])} runs"
            if len(meta.get("merged_from") or []) > 1
            else ""
        )
        + ".\n"
    )
    return head + "\n".join(lines) + "\n" + foot


def write_json(path: Path, rows: list[Row], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"meta": meta, "rows": [row.to_dict() for row in rows]}
    path.write_text(json.dumps(doc, indent=1, default=str) + "\n")


def rewrite_readme(readme: Path, table: str) -> None:
    """Replace the text between the markers; refuse when they are missing (no guessing)."""
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{readme}: markers {START} ... {END} not found")
    readme.write_text(pattern.sub(lambda _: f"{START}\n{table}{END}", text, count=1))
