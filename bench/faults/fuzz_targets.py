"""atheris fuzz targets (R10), one per process:

    python fuzz_targets.py reader|salvage|example|shards [libFuzzer flags] [corpus dir]

Each target checks an oracle, not just "no crash": only typed errors (recordio's tree) may
escape; salvage never returns a record that is not framed, intact, in the input; a decoded
Example re-encodes to the same features; shard names round-trip through the suffix parser.
An oracle failure raises AssertionError, which atheris reports as a crash.
"""

from __future__ import annotations

import io
import math
import sys

import atheris

with atheris.instrument_imports(include=["recordio"]):
    from recordio import (
        RecordIOError,
        TFRecordWriter,
        decode_example,
        encode_example,
        is_record_file,
        read_records,
        shard_names,
    )
    from recordio._framing import mask
    from recordio.files import split_record_suffix

from recordio import _backend

CODECS = (None, "NONE", "GZIP", "ZLIB")


def _framed(record: bytes) -> bytes:
    n = len(record).to_bytes(8, "little")
    return (
        n
        + mask(_backend.crc32c(n)).to_bytes(4, "little")
        + record
        + mask(_backend.crc32c(record)).to_bytes(4, "little")
    )


def reader(data: bytes) -> None:
    """Arbitrary bytes under every codec; and a round trip of fuzzed records."""
    if not data:
        return
    codec = CODECS[data[0] % 4]
    try:
        for _ in read_records(io.BytesIO(data[1:]), codec, max_record_bytes=1 << 20):
            pass
    except RecordIOError:
        pass
    fdp = atheris.FuzzedDataProvider(data)
    records = [
        fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300)) for _ in range(fdp.ConsumeIntInRange(0, 8))
    ]
    out = io.BytesIO()
    codec = ("NONE", "GZIP", "ZLIB")[len(records) % 3]
    writer = TFRecordWriter(out, codec)
    writer.write_many(records)
    writer.close()
    back = list(read_records(io.BytesIO(out.getvalue()), codec))
    assert back == records, "round trip changed the records"


def salvage(data: bytes) -> None:
    """Salvage never invents: every record it returns is framed intact in the input."""
    damage: list = []
    try:
        got = list(read_records(io.BytesIO(data), "NONE", on_damage=damage.append))
    except RecordIOError:
        return
    for record in got:
        assert _framed(record) in data, "salvage returned a record that is not in the input"


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = list(a[k]), list(b[k])
        if len(x) != len(y):
            return False
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) and math.isnan(u) and isinstance(v, float) and math.isnan(v):
                continue
            if u != v:
                return False
    return True


def example(data: bytes) -> None:
    """decode(bytes) raises a typed error or gives features that survive encode/decode."""
    try:
        features = decode_example(data)
    except RecordIOError:
        return
    try:
        again = decode_example(encode_example(features))
    except (RecordIOError, ValueError, TypeError):
        # An empty list has no kind to re-encode with; anything else here is a real bug.
        if all(len(v) for v in features.values()):
            raise
        return
    assert _same(features, again), "decode(encode(decode(x))) != decode(x)"


def shards(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    n = fdp.ConsumeIntInRange(-2, 40)
    path = fdp.ConsumeUnicodeNoSurrogates(200)
    is_record_file(path)
    stem, suffix = split_record_suffix(path)
    assert stem + suffix == path, "split_record_suffix lost characters"
    try:
        names = shard_names(path, n)
    except RecordIOError:
        assert n < 1, "shard_names refused a valid count"
        return
    assert len(names) == n and len(set(names)) == n, "shard names are not distinct"
    if n > 1:
        assert all(
            is_record_file(name) for name in names if "/" not in name and name[:1] not in "._"
        ), names


TARGETS = {"reader": reader, "salvage": salvage, "example": example, "shards": shards}


def main() -> None:
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
