"""What every section of the report shares: the budget, the scratch folder, the TF worker and
the reference files (TF-written where TF runs)."""

from __future__ import annotations

import base64
import io
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from outcome import digest
from tf_client import TFClient

# The checkout whose recio is measured: this one, or another (RELIABILITY_TARGET=/path/to/clone)
# so that a branch can be measured with this instrument.
REPO = Path(os.environ.get("RELIABILITY_TARGET") or Path(__file__).resolve().parents[2]).resolve()
TEST_DATA = REPO / "tests" / "data"
CODECS = ("NONE", "GZIP", "ZLIB")
GOLDEN_RECORDS = [b"foo", b"", b"bar\x00baz", bytes(range(256)), b"x" * 1000]
GOLDEN_FILES = {
    "NONE": "tf_none.tfrecord",
    "GZIP": "tf_gzip.tfrecord.gz",
    "ZLIB": "tf_zlib.tfrecord.zz",
}


@dataclass(frozen=True)
class Budget:
    """How much of each section to run; `ci` must stay within 5 minutes on 2 cores."""

    name: str
    flips_per_file: int | None  # None: every bit of every file
    cuts_per_file: int | None
    tf_flip_cases: int | None  # how many of the flip/cut cases TF also reads
    kill_trials: int  # recio write SIGKILL trials (single + sharded)
    tf_kill_trials: int
    bomb_mib: int
    big_record_mib: int
    members: int
    salvage_files: int
    fuzz_seconds: float  # per target
    concurrency_rounds: int
    beam: bool
    interop_lists: int

    @staticmethod
    def named(name: str) -> Budget:
        if name == "tiny":
            return Budget(name, 200, 200, 300, 10, 4, 16, 8, 2000, 40, 1.0, 2, False, 5)
        if name == "ci":
            return Budget(name, 3000, None, 6000, 150, 12, 256, 64, 20000, 300, 10.0, 4, True, 50)
        if name == "full":
            return Budget(
                name, None, None, None, 300, 30, 1024, 255, 100000, 1000, 300.0, 10, True, 1000
            )
        raise ValueError(f"unknown budget {name!r} (tiny, ci, full)")


@dataclass
class Reference:
    """One reference file: its bytes, codec and original records."""

    name: str
    codec: str
    data: bytes
    records: list[bytes]
    path: Path
    by_tf: bool

    @property
    def digests(self) -> list[str]:
        return [digest(r) for r in self.records]

    def boundaries(self) -> set[int]:
        """Cut offsets of the uncompressed file that leave whole records (undetectable cuts)."""
        if self.codec != "NONE":
            return {0}
        out, pos = {0}, 0
        for record in self.records:
            pos += 16 + len(record)
            out.add(pos)
        return out


@dataclass
class Context:
    budget: Budget
    work: Path
    tf: TFClient
    seed: int = 1234
    references: list[Reference] = field(default_factory=list)

    def rng(self, salt: str) -> random.Random:
        return random.Random(f"{self.seed}:{salt}")

    def scratch(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def load_references(self) -> list[Reference]:
        """tests/data's TF-written files, plus a ~4 KiB multi-record file per codec (TF-written
        when TF runs, else by recio at level 6)."""
        if self.references:
            return self.references
        for codec in CODECS:
            path = TEST_DATA / GOLDEN_FILES[codec]
            self.references.append(
                Reference(path.name, codec, path.read_bytes(), GOLDEN_RECORDS, path, True)
            )
        rng = self.rng("multi")
        multi = [rng.randbytes(rng.randrange(0, 200)) for _ in range(40)]
        multi += [bytes([i]) * (i * 37 % 251) for i in range(10)]
        folder = self.scratch("references")
        for codec in CODECS:
            path = folder / f"multi-{codec.lower()}.tfrecord"
            by_tf = self.tf.available
            if by_tf:
                self.tf.call(
                    "write",
                    path=str(path),
                    codec=codec,
                    records=[base64.b64encode(r).decode() for r in multi],
                )
            else:
                from recordio import write_records

                write_records(str(path), multi, codec, level=6)
            self.references.append(
                Reference(path.name, codec, path.read_bytes(), multi, path, by_tf)
            )
        return self.references


def read_with_recio(
    data: bytes, codec: str | None, **options: object
) -> tuple[list[str], str | None, bool]:
    """Fingerprints of the records recio yields from `data`, the error's class, and whether it
    is typed (a RecordIOError)."""
    from recordio import RecordIOError, read_records

    got: list[str] = []
    try:
        for record in read_records(io.BytesIO(data), codec, **options):  # type: ignore[arg-type]
            got.append(digest(record))
    except RecordIOError as error:
        return got, error.kind, True
    except Exception as error:  # noqa: BLE001 - every other exception is a crash
        return got, f"{type(error).__name__}: {error}"[:200], False
    return got, None, True


def env_with_repo() -> dict[str, str]:
    """The environment for child processes: the repository first on PYTHONPATH."""
    old = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{old}" if old else str(REPO))
