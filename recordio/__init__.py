"""recordio: TFRecord files without TensorFlow.

Exact TF framing, masked CRC32C checked on every read, NONE/GZIP/ZLIB, atomic writes, typed
errors that name the file, record and byte offset, and tf.train.Example encoding without
TensorFlow or the protobuf library.
"""

from typing import TYPE_CHECKING, Any

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
    RecordIOError,
    RecordTooLargeError,
    StaleIndexError,
    TrailingDataError,
    TruncatedRecordError,
    UnknownCompressionError,
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
from recordio.reader import DEFAULT_MAX_RECORD_BYTES, TFRecordReader, read_records
from recordio.recover import RecoverReport, TooMuchDamageError, recover_file, salvage_records
from recordio.verify import VerifyReport, verify_file
from recordio.writer import TFRecordWriter, write_records

if TYPE_CHECKING:
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

# Index and random access need numpy: imported on first use, so `import recordio` (and the
# CLI's start-up) stays light.
_LAZY = {
    "IndexedReader": "recordio.access",
    "RecordIndex": "recordio.index",
    "build_index": "recordio.index",
    "count_records": "recordio.index",
    "index_file": "recordio.index",
    "index_path": "recordio.index",
    "load_index": "recordio.index",
    "write_index": "recordio.index",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'recordio' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
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
