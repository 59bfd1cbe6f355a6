"""The reliability report: run the R1-R12 fault catalog (docs RELIABILITY.md) against recio and,
on the same inputs, against TensorFlow, and write the figures.

    .venv/bin/python bench/reliability.py --budget ci            # <= 5 min on 2 cores
    .venv/bin/python bench/reliability.py --budget full          # longer: every flip, longer fuzz
    .venv/bin/python bench/reliability.py --budget ci --readme   # also rewrite the README table
    .venv/bin/python bench/reliability.py --budget tiny --only R1,R2 --no-tf

RELIABILITY_TARGET=/path/to/other/clone measures that checkout's recio with this instrument.
Writes bench/out/reliability.json (every figure, plus up to 10 failing cases per row) and prints
the Markdown table. Exit status 0 when no row has a crash, a silently wrong record, a destroyed
user file or a torn file; 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "faults"))
sys.path.insert(0, os.environ.get("RELIABILITY_TARGET") or str(HERE.parent))

from context import REPO, Budget, Context  # noqa: E402
from outcome import CRASH, Row  # noqa: E402
from report import markdown, rewrite_readme, write_json  # noqa: E402
from tf_client import TFClient  # noqa: E402


def sections() -> list[tuple[str, str, object]]:
    """(id, fault class, function) in catalog order; imported here so --help stays fast."""
    import compression
    import concurrency
    import framing
    import fuzz
    import interop
    import kills
    import paths
    import pipelines
    import salvage

    return [
        ("R1", "single-bit flips", framing.bit_flips),
        ("R2", "truncations", framing.truncations),
        ("R3", "structured cases", framing.structured),
        ("R4", "salvage", salvage.salvage),
        ("R5", "SIGKILL during writes", kills.kills),
        ("R6", "forged lengths", framing.forged_lengths),
        ("R7", "hostile compression", compression.hostile),
        ("R8", "unsafe paths", paths.unsafe_paths),
        ("R9", "concurrency", concurrency.concurrency),
        ("R10", "fuzzing", fuzz.fuzz),
        ("R11", "interop with TF", interop.interop),
        ("R12", "damaged shard in jobs and loaders", pipelines.pipelines),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="ci", choices=["tiny", "ci", "full"])
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. R1,R5")
    parser.add_argument("--skip", default="", help="comma-separated ids to leave out")
    parser.add_argument("--no-tf", action="store_true", help="no TensorFlow differential")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "reliability.json")
    parser.add_argument("--readme", action="store_true", help="rewrite the README table")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--fuzz-seconds", type=float, default=None, help="override, per target")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument(
        "--render",
        type=Path,
        nargs="+",
        help="run nothing: merge these JSON reports (later rows replace earlier ones with the"
        " same id) into --json and the table",
    )
    args = parser.parse_args(argv)
    if args.render:
        return render(args)

    only = {s.strip().upper() for s in args.only.split(",") if s.strip()}
    skip = {s.strip().upper() for s in args.skip.split(",") if s.strip()}
    work = args.workdir or Path(tempfile.mkdtemp(prefix="recio-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    budget = Budget.named(args.budget)
    if args.fuzz_seconds is not None:
        budget = dataclasses.replace(budget, fuzz_seconds=args.fuzz_seconds)
    ctx = Context(budget, work, TFClient(enabled=not args.no_tf), seed=args.seed)
    started = time.monotonic()
    rows: list[Row] = []
    try:
        for rid, name, run in sections():
            if (only and rid not in only) or rid in skip:
                continue
            t0 = time.monotonic()
            print(f"[{rid}] {name} ...", file=sys.stderr, flush=True)
            try:
                row = run(ctx)  # type: ignore[operator]
            except Exception as error:  # noqa: BLE001 - a broken section is reported, not hidden
                row = Row(rid, name)
                row.add(CRASH, {"error": f"section failed: {error!r}"})
                row.notes.append(traceback.format_exc()[-2000:])
            row.seconds = time.monotonic() - t0
            print(
                f"[{rid}] {row.cases} cases, {row.bad} bad, {row.seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            rows.append(row)
    finally:
        ctx.tf.close()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    from recordio import BACKEND

    meta = {
        "budget": args.budget,
        "seed": args.seed,
        "seconds": time.monotonic() - started,
        "cpus": os.cpu_count(),
        "tf": ctx.tf.version,
        "backend": BACKEND,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": sys.version.split()[0],
        "target": str(REPO),
    }
    write_json(args.json, rows, meta)
    table = markdown(rows, meta)
    print(table)
    if args.readme:
        rewrite_readme(HERE.parent / "README.md", table)
    return 1 if any(row.bad for row in rows) else 0


def render(args: argparse.Namespace) -> int:
    import json

    rows: dict[str, Row] = {}
    meta: dict[str, object] = {}
    for path in args.render:
        doc = json.loads(path.read_text())
        meta = meta or doc["meta"]
        for item in doc["rows"]:
            rows[item["id"]] = Row.from_dict(item)
    ordered = sorted(rows.values(), key=lambda r: int(r.id[1:]))
    meta = {**meta, "merged_from": [str(p) for p in args.render]}
    write_json(args.json, ordered, meta)
    table = markdown(ordered, meta)
    print(table)
    if args.readme:
        rewrite_readme(HERE.parent / "README.md", table)
    return 1 if any(row.bad for row in ordered) else 0


if __name__ == "__main__":
    sys.exit(main())
