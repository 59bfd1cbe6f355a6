"""Deterministic train/eval split by a hash of each row's key.

A row goes to eval when hash(salt, key) / 2**64 < eval_fraction. The hash depends only on the
key (and the salt), never on file order, bundle boundaries, worker count or Python's salted
`hash()`, so every run on every runner splits the same way, and rows that share a key — an image
and its augmented copies — always land on the same side.

More than two splits (`--splits train=0.8,eval=0.1,test=0.1`) cut [0, 1) into consecutive
intervals: the splits other than train first, in the order given, then train, so that
`train=0.8,eval=0.2` is exactly `eval_fraction=0.2`.

Integer keys use the splitmix64 finaliser (vectorised); other keys use blake2b of their UTF-8 text.
Without a key column, the row's values themselves are hashed.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

_TWO64 = float(2**64)


def _salt_int(salt: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(salt.encode(), digest_size=8).digest(), "big"))


def int_key_fractions(keys: np.ndarray, salt: str = "") -> np.ndarray:
    """Uniform [0, 1) values from int64 keys (splitmix64 of key xor salt)."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.int64).view(np.uint64) ^ _salt_int(salt)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z.astype(np.float64) / _TWO64


def bytes_key_fraction(key: bytes, salt: str = "") -> float:
    """Uniform [0, 1) value of one byte-string key."""
    digest = hashlib.blake2b(key, digest_size=8, key=salt.encode()[:64]).digest()
    return int.from_bytes(digest, "big") / _TWO64


def _key_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, float):
        return repr(value).encode()
    return str(value).encode()


def batch_fractions(batch: Any, key: str | None, salt: str = "") -> np.ndarray:
    """One [0, 1) value per row of a TFXIO record batch, from its key column or its values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if key is not None:
        lists = batch.column(batch.schema.get_field_index(key))
        if lists.type.value_type == pa.int64() and lists.null_count == 0:
            lengths = np.asarray(pc.list_value_length(lists))
            if (lengths == 1).all():
                return int_key_fractions(np.asarray(lists.flatten()), salt)
        return np.array(
            [
                bytes_key_fraction(_key_bytes(tuple(v) if len(v) != 1 else v[0]), salt)
                for v in (x or [] for x in lists.to_pylist())
            ],
            dtype=np.float64,
        )
    rows = zip(*(batch.column(i).to_pylist() for i in range(batch.num_columns)), strict=True)
    return np.array(
        [bytes_key_fraction(repr(row).encode(), salt) for row in rows], dtype=np.float64
    )


def is_eval(batch: Any, key: str | None, eval_fraction: float, salt: str = "") -> np.ndarray:
    """Boolean mask of the rows of `batch` that belong to the eval split."""
    if eval_fraction <= 0.0:
        return np.zeros(batch.num_rows, dtype=bool)
    return batch_fractions(batch, key, salt) < eval_fraction


def parse_splits(text: str) -> tuple[tuple[str, float], ...]:
    """`train=0.8,eval=0.1,test=0.1` -> (("train", 0.8), ("eval", 0.1), ("test", 0.1))."""
    from pipeline.errors import JobOptionsError

    out = []
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        try:
            fraction = float(value)
        except ValueError:
            fraction = -1.0
        if not sep or not name.strip():
            fraction = -1.0
        if fraction < 0:
            raise JobOptionsError(
                f"splits: {part.strip()!r} is not NAME=FRACTION (e.g. train=0.8,eval=0.1,test=0.1)",
                params=("splits",),
            )
        out.append((name.strip(), fraction))
    return tuple(out)


def check_splits(splits: tuple[tuple[str, float], ...]) -> None:
    """A train split, names that are words and unique, fractions > 0 that add up to 1."""
    from pipeline.errors import JobOptionsError

    names = [name for name, _ in splits]
    if "train" not in names:
        raise JobOptionsError("splits need one named train (the one analyzed)", params=("splits",))
    if len(set(names)) != len(names):
        raise JobOptionsError(f"splits: a name repeats in {', '.join(names)}", params=("splits",))
    for name, fraction in splits:
        if not name.replace("_", "").isalnum() or not name.isascii():
            raise JobOptionsError(
                f"splits: name {name!r} must be letters, digits and _", params=("splits",)
            )
        if not 0.0 < fraction <= 1.0:
            raise JobOptionsError(
                f"splits: {name}={fraction} must be in (0, 1]", params=("splits",)
            )
    total = sum(fraction for _, fraction in splits)
    if abs(total - 1.0) > 1e-6:
        raise JobOptionsError(f"splits: fractions add up to {total:g}, not 1", params=("splits",))


def split_bounds(splits: tuple[tuple[str, float], ...]) -> list[tuple[str, float, float]]:
    """(name, low, high) per split: the non-train splits first, in order, then train."""
    ordered = [s for s in splits if s[0] != "train"] + [s for s in splits if s[0] == "train"]
    out, low = [], 0.0
    for name, fraction in ordered:
        high = 1.0 if name == "train" else low + fraction
        out.append((name, low, high))
        low = high
    return out


def split_of_rows(
    batch: Any, key: str | None, splits: tuple[tuple[str, float], ...], salt: str = ""
) -> dict[str, np.ndarray]:
    """{split name: boolean mask of its rows} for one record batch."""
    fractions = batch_fractions(batch, key, salt)
    return {
        name: (fractions >= low) & (fractions < high) for name, low, high in split_bounds(splits)
    }
