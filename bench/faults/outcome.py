"""How one case ended, in the words of RELIABILITY.md, for recio and for TensorFlow alike.

* `original`: no error, and exactly the original records came back;
* `typed_error`: a typed error (recordio's tree, or `tf.errors.*` for TF), after a prefix of the
  original records;
* `crash`: any other exception, a signal, a timeout;
* `silent`: no error, but the records differ from the originals (missing, extra or altered), or
  an error came after a record that is not one of the originals.

`destroyed` (a user's file changed) and `torn` (a final name holding a partial file) are counted
by the rows that can cause them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

ORIGINAL = "original"
TYPED = "typed_error"
CRASH = "crash"
SILENT = "silent"
DESTROYED = "destroyed"
TORN = "torn"
REFUSED = "refused_valid"  # a typed error on an input that is a valid file (a false alarm)
OUTCOMES = (ORIGINAL, TYPED, CRASH, SILENT)


def digest(record: bytes) -> str:
    """A short stable fingerprint, so that workers can send records back cheaply."""
    return hashlib.blake2b(record, digest_size=8).hexdigest()


def classify(got: Sequence[str], error: str | None, expected: Sequence[str], typed: bool) -> str:
    """One outcome from the fingerprints read, the error (if any) and the originals.

    `typed` says whether `error` belongs to the reader's typed tree.
    """
    prefix = list(got) == list(expected[: len(got)])
    if error is None:
        return ORIGINAL if list(got) == list(expected) else SILENT
    if not typed:
        return CRASH
    return TYPED if prefix else SILENT


@dataclass
class Row:
    """One line of the report: a fault class, its cases and what recio and TF did."""

    id: str
    fault: str
    cases: int = 0
    recio: Counter[str] = field(default_factory=Counter)
    tf: Counter[str] = field(default_factory=Counter)
    tf_note: str = ""
    peak_mib: float | None = None
    bound_mib: float | None = None
    notes: list[str] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    def add(
        self, outcome: str, example: dict[str, Any] | None = None, *, valid_input: bool = False
    ) -> None:
        """Count one case; `valid_input`: the input is a valid file, so an error is a false
        alarm (counted as `refused_valid`, inside the typed errors)."""
        self.cases += 1
        self.recio[outcome] += 1
        if valid_input and outcome == TYPED:
            self.recio[REFUSED] += 1
        bad = outcome in (CRASH, SILENT, DESTROYED, TORN) or (valid_input and outcome == TYPED)
        if bad and example is not None and len(self.examples) < 10:
            self.examples.append({"outcome": outcome, **example})

    def add_tf(self, outcomes: Iterable[str]) -> None:
        self.tf.update(outcomes)

    def peak(self, mib: float) -> None:
        self.peak_mib = mib if self.peak_mib is None else max(self.peak_mib, mib)

    @property
    def bad(self) -> int:
        return sum(self.recio[k] for k in (CRASH, SILENT, DESTROYED, TORN))

    @property
    def false_alarms(self) -> int:
        return self.recio[REFUSED]

    @staticmethod
    def from_dict(doc: dict[str, Any]) -> Row:
        """A row back from the JSON report (to re-render or merge partial runs)."""
        row = Row(doc["id"], doc["fault"], doc["cases"])
        row.recio.update({k: v for k, v in doc["recio"].items() if v})
        row.tf.update(doc["tf"])
        row.tf_note, row.peak_mib, row.bound_mib = doc["tf_note"], doc["peak_mib"], doc["bound_mib"]
        row.notes, row.examples = doc["notes"], doc["examples"]
        row.skipped, row.seconds = doc["skipped"], doc["seconds"]
        return row

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fault": self.fault,
            "cases": self.cases,
            "recio": {k: self.recio.get(k, 0) for k in (*OUTCOMES, DESTROYED, TORN)}
            | {k: v for k, v in self.recio.items() if k not in (*OUTCOMES, DESTROYED, TORN)},
            "tf": dict(self.tf),
            "tf_note": self.tf_note,
            "peak_mib": self.peak_mib,
            "bound_mib": self.bound_mib,
            "notes": self.notes,
            "examples": self.examples,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 1),
        }
