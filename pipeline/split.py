"""Deterministic train/eval split by a hash of each row's key.

A row goes to eval when hash(salt, key) / 2**64 < eval_fraction. The hash depends only on the
key (and the salt), never on file order, bundle boundaries, worker count or Python's salted
`hash()`, so every run on every runner splits the same way, and rows that share a key — an image
and its augmented copies — always land on the same side.

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
