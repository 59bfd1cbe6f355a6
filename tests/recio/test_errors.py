"""From library errors to command-line words: parameters become the flags a person typed."""

from __future__ import annotations

import pytest

from recio.cli import _console
from recio.cli._errors import as_flags, describe, missing_extra
from recordio import (
    Compression,
    CorruptRecordError,
    OptionError,
    RecordIOError,
    TFRecordReader,
    UnknownCompressionError,
)


@pytest.mark.parametrize(
    ("text", "params", "expected"),
    [
        ("shards must be at least 1, got 0", ("shards",), "--shards must be at least 1, got 0"),
        (
            "record claims 9 bytes, more than max_record_bytes=4",
            ("max_record_bytes",),
            "record claims 9 bytes, more than --max-record-bytes 4",
        ),
        (
            "the file was cut short; strict=False ignores this as TF does",
            ("strict",),
            "the file was cut short; --lenient ignores this as TF does",
        ),
        (
            "DataflowRunner needs project, region",
            ("project", "region"),
            "DataflowRunner needs --project, --region",
        ),  # fmt: skip
        ("fmt='raw' reads other text", ("fmt",), "--raw reads other text"),
        ("pass fmt to say how", ("fmt",), "pass --format to say how"),
        # a word that is no listed parameter stays as it is
        ("the shards of compressed files", (), "the shards of compressed files"),
        ("compressed output", ("compression",), "compressed output"),
    ],
)
def test_parameters_become_flags(text: str, params: tuple[str, ...], expected: str) -> None:
    assert as_flags(text, params) == expected


def test_exit_codes_follow_the_kind_of_error(tmp_path) -> None:
    assert describe(OptionError("x", params=("x",))) == ("--x", _console.EXIT_USAGE)
    with pytest.raises(UnknownCompressionError) as bad_name:
        Compression.parse("lz4")
    assert describe(bad_name.value)[1] == _console.EXIT_USAGE
    damaged = CorruptRecordError("bad", part="data_crc", stored=1, computed=2, path="f")
    assert describe(damaged)[1] == _console.EXIT_DAMAGED
    assert describe(RecordIOError("no such file", path="f")) == ("f: no such file", 1)
    assert describe(ValueError("a bug")) is None  # ours to fix: exit 70 with a traceback hint


def test_a_library_message_names_parameters_and_the_cli_the_flags(tmp_path) -> None:
    path = tmp_path / "x.tfrecord"
    path.write_bytes(b"\x05" + b"\x00" * 7)  # a partial header
    with pytest.raises(RecordIOError) as raised:
        list(TFRecordReader(path))
    assert "strict=False" in str(raised.value) and "--lenient" not in str(raised.value)
    message, code = describe(raised.value) or ("", 0)
    assert "--lenient" in message and code == _console.EXIT_DAMAGED


def test_a_missing_module_names_the_extra_that_installs_it() -> None:
    error = ModuleNotFoundError("No module named 'jax'", name="jax")
    assert missing_extra(error) == (
        "this needs jax, which is not installed; install it with: pip install 'recio[jax]'"
    )
    assert missing_extra(ModuleNotFoundError("x", name="some_private_thing")) is None
