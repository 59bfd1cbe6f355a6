"""recordio: TFRecord files without TensorFlow.

Exact TF framing, masked CRC32C checked on every read, NONE/GZIP/ZLIB, atomic writes, typed
errors that name the file, record and byte offset, and tf.train.Example encoding without
TensorFlow or the protobuf library.
"""

from typing import TYPE_CHECKING

from recordio._backend import BACKEND
from recordio._salvage import Damage
from recordio.compression import Compression, CompressionLike
from recordio.convert import text_to_tfrecords, tfrecords_to_json
from recordio.errors import (
    CompressedStreamError,
    CompressionError,
    ConvertError,
    CorruptRecordError,
    ExampleDecodeError,
    IndexFileError,
    OptionError,
    OutputExistsError,
    RecordIOError,
    RecordTooLargeError,
    StaleIndexError,
    TrailingDataError,
    TruncatedRecordError,
    UnknownCompressionError,
    UnsafePathError,
    WriterClosedError,
)
from recordio.example import (
    BytesList,
    FloatList,
    Int64List,
    canonical_example,
    decode_example,
    decode_sequence_example,
    encode_example,
    encode_sequence_example,
)
from recordio.files import expand_paths, is_record_file, record_files, shard_names
from recordio.kinds import Kind
from recordio.manifest import Manifest, check_folder, read_manifest, write_manifest
from recordio.parts import Span, equal_parts, split_files
from recordio.reader import DEFAULT_MAX_RECORD_BYTES, TFRecordReader, read_records
from recordio.recover import RecoverReport, TooMuchDamageError, recover_file, salvage_records
from recordio.shards import ShardedWriter
from recordio.verify import VerifyReport, verify_file, verify_folder
from recordio.writer import TFRecordWriter, write_records

__all__ = [
    "verify_folder",
    "ShardedWriter",
    "split_files",
    "equal_parts",
    "Span",
    "write_manifest",
    "read_manifest",
    "check_folder",
    "Manifest",
    "BACKEND",
    "BytesList",
    "CompressedStreamError",
    "Compression",
    "CompressionError",
    "CompressionLike",
    "ConvertError",
    "CorruptRecordError",
    "DEFAULT_MAX_RECORD_BYTES",
    "Damage",
    "ExampleDecodeError",
    "FloatList",
    "IndexFileError",
    "IndexedReader",
    "Int64List",
    "Kind",
    "OptionError",
    "OutputExistsError",
    "RecordIOError",
    "RecordIndex",
    "RecordTooLargeError",
    "RecoverReport",
    "StaleIndexError",
    "TFRecordReader",
    "TFRecordWriter",
    "TooMuchDamageError",
    "TrailingDataError",
    "TruncatedRecordError",
    "UnknownCompressionError",
    "UnsafePathError",
    "VerifyReport",
    "WriterClosedError",
    "build_index",
    "canonical_example",
    "count_records",
    "decode_example",
    "decode_sequence_example",
    "encode_example",
    "encode_sequence_example",
    "expand_paths",
    "index_file",
    "index_path",
    "is_record_file",
    "load_index",
    "read_records",
    "record_files",
    "recover_file",
    "salvage_records",
    "shard_names",
    "text_to_tfrecords",
    "tfrecords_to_json",
    "verify_file",
    "write_index",
    "write_records",
]

# The index and random access need numpy: imported on first use, so that `import recordio`
# (and `recio --help`, `recio verify`) stay light.
_LAZY = {
    "IndexedReader": "recordio.access",
    **dict.fromkeys(
        ("RecordIndex", "build_index", "count_records", "index_file", "index_path",
         "load_index", "write_index"),
        "recordio.index",
    ),
}  # fmt: skip


if not TYPE_CHECKING:  # mypy sees the imports below instead

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'recordio' has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(module), name)
else:
    from recordio.access import IndexedReader
    from recordio.index import (
        RecordIndex,
        build_index,
        count_records,
        index_file,
        index_path,
        load_index,
        write_index,
    )
