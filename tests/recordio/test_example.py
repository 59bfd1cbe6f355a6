"""The hand-written Example/SequenceExample codec, checked against TensorFlow and protobuf."""

from __future__ import annotations

import math
import struct
from array import array

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recordio.errors import ExampleDecodeError, RecordIOError
from recordio.example import (
    BytesList,
    FloatList,
    Int64List,
    _fast_example,
    _parse_example,
    decode_example,
    decode_sequence_example,
    encode_example,
    encode_sequence_example,
)
from recordio.wire import read_varint

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
PERSON = {"name": b"Alice", "id": 123, "emails": [b"a@b.com", b"c@d.com"]}
BOOK_CONTEXT = {
    "author_id": 123,
    "title": [b"A", b"desert", b"place", b"."],
    "pub_date": [1623, 12, 25],
}
BOOK_CONTENT = [
    ["When", "shall", "we", "three", "meet", "again", "?"],
    ["In", "thunder", ",", "lightning", ",", "or", "in", "rain", "?"],
]
BOOK_COMMENTS = [
    ["When", "the", "hurlyburly", "'s", "done", "."],
    ["When", "the", "battle", "'s", "lost", "and", "won", "."],
]
HOUSE = [
    ("f", FloatList([1.5])),
    ("farr", [2.5, -0.0]),
    ("fa", Int64List([])),
    ("", "empty name"),
    ("é", b"\x00\xff"),
    ("z", []),
    ("big", list(range(-300, 300, 7)) + [INT64_MIN, INT64_MAX]),
]


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def tf_feature(tf, kind, values):
    """A tf.train.Feature of the given kind (None: oneof unset)."""
    if kind is None:
        return tf.train.Feature()
    if kind == "bytes":
        values = [v.encode() if isinstance(v, str) else bytes(v) for v in values]
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
    if kind == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))


def tf_example(tf, spec):
    feats = {name: tf_feature(tf, kind, values) for name, (kind, values) in spec.items()}
    return tf.train.Example(features=tf.train.Features(feature=feats))


def f32(values):
    """Float32 bit patterns, so that NaN compares equal to itself."""
    return array("f", values).tobytes()


def same_values(got, want_kind, want_values):
    if want_kind == "float":
        return f32(got) == f32(want_values)
    if want_kind == "bytes":
        return got == [v.encode() if isinstance(v, str) else bytes(v) for v in want_values]
    return got == [int(v) for v in want_values]


def same_list(a, b):
    """Equal lists, with float NaNs compared by bit pattern."""
    return len(a) == len(b) and all(
        x == y or (isinstance(x, float) and f32([x]) == f32([y])) for x, y in zip(a, b, strict=True)
    )


def varint(v):
    v &= 2**64 - 1
    out = bytearray()
    while v > 0x7F:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def ld(tag, payload):
    return bytes([tag]) + varint(len(payload)) + payload


def entry(key, feature):
    return ld(0x0A, ld(0x0A, key) + ld(0x12, feature))


# ----------------------------------------------------------------- byte equality with TF


PLAIN_CASES = [
    ("bytes scalar", b"Alice", "bytes", [b"Alice"]),
    ("str scalar", "héllo", "bytes", ["héllo"]),
    ("int scalar", 123, "int64", [123]),
    ("bool scalar", True, "int64", [1]),
    ("float scalar", 0.1, "float", [0.1]),
    ("negative ints", [-1, INT64_MIN, INT64_MAX, 0], "int64", [-1, INT64_MIN, INT64_MAX, 0]),
    (
        "special floats",
        [math.nan, math.inf, -math.inf, -0.0, 1e300, 1e-50],
        "float",
        [math.nan, math.inf, -math.inf, -0.0, 1e300, 1e-50],
    ),
    ("bytes list", [b"", b"a" * 300], "bytes", [b"", b"a" * 300]),
    ("mixed bytes/str", [b"a", "b"], "bytes", [b"a", b"b"]),
    ("tuple", (1, 2, 3), "int64", [1, 2, 3]),
    ("nested lists", [[1, 2], [3]], "int64", [1, 2, 3]),
    ("numpy uint8 2-D", np.arange(12, dtype=np.uint8).reshape(3, 4), "int64", list(range(12))),
    ("numpy bool", np.array([True, False]), "int64", [1, 0]),
    ("numpy uint64 max int64", np.array([INT64_MAX], np.uint64), "int64", [INT64_MAX]),
    (
        "numpy float64 3-D",
        np.linspace(-1, 1, 24).reshape(2, 3, 4),
        "float",
        np.linspace(-1, 1, 24).tolist(),
    ),
    (
        "numpy fortran order",
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "float",
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
    ),
    ("numpy float16", np.array([0.5, 65504], np.float16), "float", [0.5, 65504.0]),
    ("numpy bytes", np.array([b"ab", b"c"]), "bytes", [b"ab", b"c"]),
    ("numpy str", np.array(["ab", "é"]), "bytes", ["ab", "é"]),
    ("numpy object bytes", np.array([b"x", b"yz"], dtype=object), "bytes", [b"x", b"yz"]),
    ("numpy scalars", [np.int32(5), np.int64(-5)], "int64", [5, -5]),
    ("numpy bool scalars", [np.True_, np.False_], "int64", [1, 0]),
    ("numpy bool scalar", np.True_, "int64", [1]),
    ("numpy float scalar", np.float32(2.5), "float", [2.5]),
    (
        "long int list (numpy path)",
        [(-1) ** i * 7**i for i in range(22)] * 10,
        "int64",
        [(-1) ** i * 7**i for i in range(22)] * 10,
    ),
    (
        "long int array (numpy path)",
        np.arange(-1000, 1000) * 2**40,
        "int64",
        (np.arange(-1000, 1000) * 2**40).tolist(),
    ),
    ("empty untyped", [], None, []),
    ("empty tuple", (), None, []),
    ("empty numpy float", np.zeros((0, 3)), "float", []),
    ("empty numpy int", np.zeros(0, np.int64), "int64", []),
    ("typed empty bytes", BytesList([]), "bytes", []),
    ("typed empty int", Int64List(), "int64", []),
    ("typed empty float", FloatList([]), "float", []),
    ("FloatList of ints", FloatList([1, 2, True]), "float", [1.0, 2.0, 1.0]),
    ("FloatList of int array", FloatList(np.arange(3)), "float", [0.0, 1.0, 2.0]),
    ("Int64List scalar", Int64List(7), "int64", [7]),
    ("Int64List range", Int64List(range(3)), "int64", [0, 1, 2]),
    ("BytesList of str", BytesList(["a", b"b"]), "bytes", [b"a", b"b"]),
]


@pytest.mark.requires_tf
@pytest.mark.parametrize(
    ("value", "kind", "values"), [c[1:] for c in PLAIN_CASES], ids=[c[0] for c in PLAIN_CASES]
)
def test_bytes_equal_tf_deterministic(tf, value, kind, values):
    ours = encode_example({"x": value, "label": 3})
    theirs = tf_example(tf, {"x": (kind, values), "label": ("int64", [3])})
    assert ours == theirs.SerializeToString(deterministic=True)
    got = decode_example(ours)
    assert same_values(got["x"], kind, values)


@pytest.mark.requires_tf
def test_key_order_matches_tf_including_prefixes(tf):
    # upb writes "farr" before "f": a name sorts after the longer names it prefixes.
    features = dict(HOUSE)
    spec = {}
    for name, value in HOUSE:
        if isinstance(value, (BytesList, Int64List, FloatList)):
            kind = {BytesList: "bytes", Int64List: "int64", FloatList: "float"}[type(value)]
            spec[name] = (kind, list(value.values))
        elif isinstance(value, list) and not value:
            spec[name] = (None, [])
        elif isinstance(value, list):
            spec[name] = ("int64" if isinstance(value[0], int) else "float", value)
        else:
            spec[name] = ("bytes", [value])
    assert encode_example(features) == tf_example(tf, spec).SerializeToString(deterministic=True)
    # Insertion order does not matter.
    assert encode_example(dict(reversed(HOUSE))) == encode_example(features)


@pytest.mark.requires_tf
def test_empty_example_matches_tf(tf):
    empty = tf.train.Example(features=tf.train.Features(feature={}))
    assert encode_example({}) == empty.SerializeToString(deterministic=True) == b"\n\x00"
    assert decode_example(b"") == {} == decode_example(b"\n\x00")


# ----------------------------------------------------------------- parsing with TF


@pytest.mark.requires_tf
def test_person_example_parses_in_tf_and_back(tf):
    ex = tf_example(
        tf,
        {
            k: ("bytes", [v]) if k == "name" else ("int64", [v]) if k == "id" else ("bytes", v)
            for k, v in PERSON.items()
        },
    )
    want = {"name": [b"Alice"], "id": [123], "emails": [b"a@b.com", b"c@d.com"]}
    for serialized in (ex.SerializeToString(), ex.SerializeToString(deterministic=True)):
        assert decode_example(serialized) == want
    ours = encode_example(PERSON)
    parsed = tf.io.parse_single_example(
        ours,
        {
            "name": tf.io.FixedLenFeature([], tf.string, default_value=""),
            "id": tf.io.FixedLenFeature([], tf.int64, default_value=0),
            "emails": tf.io.VarLenFeature(tf.string),
        },
    )
    assert parsed["name"].numpy() == b"Alice"
    assert parsed["id"].numpy() == 123
    assert parsed["emails"].values.numpy().tolist() == [b"a@b.com", b"c@d.com"]


@pytest.mark.requires_tf
def test_batch_parse_example_agrees_with_decode(tf):
    rng = np.random.default_rng(7)
    records = []
    for i in range(40):
        rec = {
            "id": int(rng.integers(INT64_MIN, INT64_MAX, dtype=np.int64)),
            "name": f"n{i}é",
            "scores": rng.normal(size=int(rng.integers(0, 5))).astype(np.float32),
            "tags": [
                bytes(rng.integers(0, 256, int(rng.integers(0, 4)), dtype=np.uint8))
                for _ in range(int(rng.integers(0, 3)))
            ],
            "counts": Int64List(rng.integers(-(2**40), 2**40, int(rng.integers(0, 4)))),
            "pixels": rng.integers(0, 256, 6, dtype=np.uint8),
        }
        if i % 3 == 0:
            del rec["tags"]  # missing key
        records.append(encode_example(rec))
    spec = {
        "id": tf.io.FixedLenFeature([], tf.int64),
        "name": tf.io.FixedLenFeature([], tf.string),
        "scores": tf.io.VarLenFeature(tf.float32),
        "tags": tf.io.VarLenFeature(tf.string),
        "counts": tf.io.VarLenFeature(tf.int64),
        "pixels": tf.io.FixedLenFeature([6], tf.int64),
        "absent": tf.io.VarLenFeature(tf.int64),
        "absent_default": tf.io.FixedLenFeature([2], tf.float32, default_value=[1.0, 2.0]),
    }
    parsed = tf.io.parse_example(records, spec)
    rows = {
        k: tf.sparse.to_dense(v).numpy() if isinstance(v, tf.SparseTensor) else v.numpy()
        for k, v in parsed.items()
    }
    lengths = {
        k: tf.math.bincount(tf.cast(v.indices[:, 0], tf.int32), minlength=40).numpy()
        for k, v in parsed.items()
        if isinstance(v, tf.SparseTensor)
    }
    for i, record in enumerate(records):
        got = decode_example(record)
        assert got["id"] == [rows["id"][i]]
        assert got["name"] == [rows["name"][i]]
        assert got["pixels"] == rows["pixels"][i].tolist()
        for key in ("scores", "tags", "counts"):
            want = rows[key][i][: lengths[key][i]].tolist()
            assert got.get(key, []) == want, (i, key)
        assert "absent" not in got and lengths["absent"][i] == 0
        arrays = decode_example(record, numpy=True)
        assert arrays["scores"].dtype == np.float32 and arrays["id"].dtype == np.int64
        np.testing.assert_array_equal(arrays["scores"], rows["scores"][i][: lengths["scores"][i]])


@pytest.mark.requires_tf
def test_unset_oneof_is_empty_for_every_dtype_in_tf(tf):
    """Why `[]` is written as an unset Feature: TF reads it as an empty list of any dtype."""
    untyped = encode_example({"e": []})
    assert untyped == tf_example(tf, {"e": (None, [])}).SerializeToString(deterministic=True)
    for dtype in (tf.string, tf.int64, tf.float32):
        sparse = tf.io.parse_example([untyped], {"e": tf.io.VarLenFeature(dtype)})["e"]
        assert sparse.values.shape == (0,)
    typed = encode_example({"e": Int64List([])})
    assert tf.io.parse_example([typed], {"e": tf.io.VarLenFeature(tf.int64)})["e"].values.shape == (
        0,
    )
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_example([typed], {"e": tf.io.VarLenFeature(tf.string)})
    assert decode_example(untyped) == {"e": []} == decode_example(typed)
    assert decode_example(untyped, numpy=True)["e"].dtype == np.float32
    assert decode_example(typed, numpy=True)["e"].dtype == np.int64
    assert decode_example(encode_example({"e": BytesList()}), numpy=True)["e"].dtype == object


@pytest.mark.requires_tf
def test_unpacked_and_split_lists_decode_like_protobuf(tf):
    ints = [7, -1, 300, INT64_MIN]
    floats = [1.5, -2.25, math.inf]
    unpacked_ints = b"".join(b"\x08" + varint(v) for v in ints)
    unpacked_floats = b"".join(b"\x0d" + struct.pack("<f", v) for v in floats)
    data = ld(0x0A, entry(b"i", ld(0x1A, unpacked_ints)) + entry(b"f", ld(0x12, unpacked_floats)))
    proto = tf.train.Example.FromString(data)
    assert list(proto.features.feature["i"].int64_list.value) == ints
    assert decode_example(data) == {"i": ints, "f": floats}
    # TF's own parser reads the unpacked form too...
    parsed = tf.io.parse_single_example(
        data, {"i": tf.io.VarLenFeature(tf.int64), "f": tf.io.VarLenFeature(tf.float32)}
    )
    assert parsed["i"].values.numpy().tolist() == ints
    assert parsed["f"].values.numpy().tolist() == floats
    # ...and protobuf re-serializes it packed: same values, our exact bytes.
    repacked = proto.SerializeToString(deterministic=True)
    assert repacked != data and decode_example(repacked) == decode_example(data)
    assert repacked == encode_example({"i": ints, "f": floats})
    # Packed and unpacked chunks mixed in one list concatenate, as in protobuf (TF's fast parser
    # keeps only the first packed chunk or rejects the mix).
    mixed = ld(
        0x0A,
        entry(b"i", ld(0x1A, ld(0x0A, varint(1) + varint(2)) + b"\x08\x03" + ld(0x0A, varint(4)))),
    )
    proto = tf.train.Example.FromString(mixed)
    assert list(proto.features.feature["i"].int64_list.value) == [1, 2, 3, 4]
    assert decode_example(mixed) == {"i": [1, 2, 3, 4]}


@pytest.mark.requires_tf
def test_unknown_fields_are_skipped_like_protobuf(tf):
    inner = ld(0x1A, ld(0x0A, varint(5)) + b"\x10\x01")  # Int64List with an unknown varint field
    feature = inner + b"\x25\x00\x00\x00\x00"  # Feature with an unknown fixed32 field
    unknown_group = b"\x2b\x08\x01\x2c"  # group 5 holding a varint, then its end-group
    data = b"\x11" + bytes(8) + ld(0x0A, entry(b"k", feature) + unknown_group) + ld(0x1A, b"zz")
    proto = tf.train.Example.FromString(data)
    assert list(proto.features.feature["k"].int64_list.value) == [5]
    assert decode_example(data) == {"k": [5]}


@pytest.mark.requires_tf
def test_repeated_name_keeps_last_value_like_tf(tf):
    data = ld(
        0x0A, entry(b"a", ld(0x1A, ld(0x0A, b"\x01"))) + entry(b"a", ld(0x1A, ld(0x0A, b"\x02")))
    )
    parsed = tf.io.parse_single_example(data, {"a": tf.io.VarLenFeature(tf.int64)})
    assert parsed["a"].values.numpy().tolist() == [2]
    assert decode_example(data) == {"a": [2]}


# ----------------------------------------------------------------- SequenceExample


def book_sequence(tf):
    context = tf.train.Features(
        feature={
            "author_id": tf_feature(tf, "int64", [123]),
            "title": tf_feature(tf, "bytes", BOOK_CONTEXT["title"]),
            "pub_date": tf_feature(tf, "int64", [1623, 12, 25]),
        }
    )
    lists = {
        name: tf.train.FeatureList(feature=[tf_feature(tf, "bytes", s) for s in sentences])
        for name, sentences in (("content", BOOK_CONTENT), ("comments", BOOK_COMMENTS))
    }
    return tf.train.SequenceExample(
        context=context, feature_lists=tf.train.FeatureLists(feature_list=lists)
    )


@pytest.mark.requires_tf
def test_book_sequence_example(tf):
    ours = encode_sequence_example(
        BOOK_CONTEXT, {"content": BOOK_CONTENT, "comments": BOOK_COMMENTS}
    )
    theirs = book_sequence(tf)
    assert ours == theirs.SerializeToString(deterministic=True)
    for serialized in (ours, theirs.SerializeToString()):
        context, lists = decode_sequence_example(serialized)
        assert context == {
            "author_id": [123],
            "title": BOOK_CONTEXT["title"],
            "pub_date": [1623, 12, 25],
        }
        assert lists == {
            "content": [[w.encode() for w in s] for s in BOOK_CONTENT],
            "comments": [[w.encode() for w in s] for s in BOOK_COMMENTS],
        }
    context, lists = tf.io.parse_single_sequence_example(
        ours,
        {
            "author_id": tf.io.FixedLenFeature([], tf.int64),
            "title": tf.io.VarLenFeature(tf.string),
            "pub_date": tf.io.FixedLenFeature([3], tf.int64, default_value=[0, 0, 0]),
        },
        {"content": tf.io.VarLenFeature(tf.string), "comments": tf.io.VarLenFeature(tf.string)},
    )
    assert context["pub_date"].numpy().tolist() == [1623, 12, 25]
    assert context["title"].values.numpy().tolist() == BOOK_CONTEXT["title"]
    ragged = tf.RaggedTensor.from_sparse(lists["content"]).to_list()
    assert ragged == [[w.encode() for w in s] for s in BOOK_CONTENT]
    _, arrays = decode_sequence_example(ours, numpy=True)
    assert [a.dtype for a in arrays["content"]] == [object, object]


@pytest.mark.requires_tf
def test_sequence_empty_steps_and_lists_match_tf(tf):
    ours = encode_sequence_example(
        {"c": []},
        {"e": [], "u": [[], [1]], "t": [Int64List([]), [1]], "f": np.ones((2, 3), np.float32)},
    )
    fl = tf.train.FeatureLists(
        feature_list={
            "e": tf.train.FeatureList(feature=[]),
            "u": tf.train.FeatureList(
                feature=[tf_feature(tf, None, []), tf_feature(tf, "int64", [1])]
            ),
            "t": tf.train.FeatureList(
                feature=[tf_feature(tf, "int64", []), tf_feature(tf, "int64", [1])]
            ),
            "f": tf.train.FeatureList(feature=[tf_feature(tf, "float", [1.0] * 3)] * 2),
        }
    )
    theirs = tf.train.SequenceExample(
        context=tf.train.Features(feature={"c": tf.train.Feature()}), feature_lists=fl
    )
    assert ours == theirs.SerializeToString(deterministic=True)
    assert decode_sequence_example(ours) == (
        {"c": []},
        {"e": [], "f": [[1.0] * 3] * 2, "t": [[], [1]], "u": [[], [1]]},
    )
    for name in ("e", "u", "t"):
        _, lists = tf.io.parse_single_sequence_example(
            ours, {}, {name: tf.io.VarLenFeature(tf.int64)}
        )
        assert lists[name].values.numpy().tolist() == ([] if name == "e" else [1])
    assert encode_sequence_example({}, {}) == tf.train.SequenceExample(
        context=tf.train.Features(), feature_lists=tf.train.FeatureLists()
    ).SerializeToString(deterministic=True)
    assert decode_sequence_example(b"") == ({}, {})


# ----------------------------------------------------------------- hypothesis round trips

ints64 = st.integers(INT64_MIN, INT64_MAX)
keys = st.text(max_size=6)
kinds_and_values = st.one_of(
    st.tuples(st.just("int64"), st.lists(ints64, max_size=12)),
    st.tuples(
        st.just("int64"),
        st.lists(st.sampled_from([0, -1, 2**35, INT64_MIN, INT64_MAX]), min_size=130, max_size=200),
    ),
    st.tuples(st.just("float"), st.lists(st.floats(width=32), max_size=12)),
    st.tuples(st.just("float"), st.lists(st.floats(), max_size=6)),
    st.tuples(
        st.just("bytes"), st.lists(st.binary(max_size=200) | st.text(max_size=4), max_size=5)
    ),
)
forms = st.sampled_from(["plain", "typed", "numpy"])


def as_input(kind, values, form):
    if form == "typed":
        return {"bytes": BytesList, "int64": Int64List, "float": FloatList}[kind](values)
    if form == "numpy":
        if kind == "bytes":
            arr = np.empty(len(values), dtype=object)
            arr[:] = [v.encode() if isinstance(v, str) else v for v in values]
            return arr if values else BytesList(values)
        return np.array(values, dtype=np.int64 if kind == "int64" else np.float64)
    return list(values)


@st.composite
def feature_dicts(draw):
    spec = draw(st.dictionaries(keys, kinds_and_values, max_size=5))
    inputs, expected = {}, {}
    for name, (kind, values) in spec.items():
        form = draw(forms)
        inputs[name] = as_input(kind, values, form)
        untyped = form == "plain" and not values
        expected[name] = (None if untyped else kind, values)
    return inputs, expected


@pytest.mark.requires_tf
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feature_dicts())
def test_roundtrip_and_tf_bytes(tf, case):
    inputs, expected = case
    data = encode_example(inputs)
    assert data == tf_example(tf, expected).SerializeToString(deterministic=True)
    got = decode_example(data)
    assert list(got) == list(sorted(expected, key=lambda k: k.encode() + b"\xff"))
    for name, (kind, values) in expected.items():
        assert same_values(got[name], kind or "int64", values), name
    arrays = decode_example(data, numpy=True)
    for name, (kind, values) in expected.items():
        want_dtype = {"bytes": object, "int64": np.int64, "float": np.float32, None: np.float32}
        assert arrays[name].dtype == want_dtype[kind]
        assert len(arrays[name]) == len(values)
    # Our own output always takes the fast path, and the checked decoder agrees with it.
    assert _fast_example(data, None).keys() == got.keys()
    slow = {}
    _parse_example(data, slow, None)
    assert list(slow) == list(got)
    assert all(same_list(slow[k], got[k]) for k in got)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(keys, st.lists(kinds_and_values, max_size=4), max_size=3),
    st.dictionaries(keys, kinds_and_values, max_size=3),
)
def test_sequence_roundtrip(lists_spec, context_spec):
    context = {k: as_input(kind, v, "typed") for k, (kind, v) in context_spec.items()}
    lists = {
        k: [as_input(kind, v, "typed") for kind, v in steps] for k, steps in lists_spec.items()
    }
    got_context, got_lists = decode_sequence_example(encode_sequence_example(context, lists))
    assert set(got_context) == set(context_spec) and set(got_lists) == set(lists_spec)
    for k, (kind, values) in context_spec.items():
        assert same_values(got_context[k], kind, values)
    for k, steps in lists_spec.items():
        assert len(got_lists[k]) == len(steps)
        for got, (kind, values) in zip(got_lists[k], steps, strict=True):
            assert same_values(got, kind, values)


# ----------------------------------------------------------------- malformed input

VALID = encode_example(
    {
        "image": bytes(range(256)) * 3,
        "label": 3,
        "big": [INT64_MIN, 2**40, -5],
        "f": [0.5, math.nan],
        "e": [],
        "t": FloatList([]),
        "s": ["é" * 70],
    }
)


def test_every_truncation_raises_bad_example():
    for cut in range(1, len(VALID)):
        with pytest.raises(ExampleDecodeError) as info:
            decode_example(VALID[:cut])
        err = info.value
        assert isinstance(err, RecordIOError) and err.kind == "bad_example"
        assert "\n" not in str(err) and f"at byte {err.position}" in str(err)
        assert 0 <= err.position <= cut


def test_every_sequence_truncation_raises_or_parses_a_prefix():
    data = encode_sequence_example(BOOK_CONTEXT, {"content": BOOK_CONTENT})
    length, start = read_varint(data, 1, len(data), "test")
    context_end = start + length  # the feature_lists field follows the context field
    for cut in range(1, len(data)):
        if cut == context_end:
            assert decode_sequence_example(data[:cut])[1] == {}
            continue
        with pytest.raises(ExampleDecodeError):
            decode_sequence_example(data[:cut])


def features(*entries):
    return ld(0x0A, b"".join(entries))


MALFORMED = [
    ("truncated varint", b"\x0a\x80", "truncated varint"),
    ("length past end", b"\x0a\x05\x0a\x01", "runs past the end"),
    ("nested length past enclosing end", features(ld(0x0A, b"\x0a\x09abc")), "runs past the end"),
    ("wrong wire type", b"\x0d\x00\x00\x00\x00", "wire type 5, expected 2"),
    ("bad float wire type", features(entry(b"f", ld(0x12, b"\x08\x01"))), "expected 2 or 5"),
    ("bad int wire type", features(entry(b"i", ld(0x1A, b"\x0d\0\0\0\0"))), "expected 0 or 2"),
    ("invalid UTF-8 name", features(entry(b"\xff\xfe", b"")), "not UTF-8"),
    ("packed floats not x4", features(entry(b"f", ld(0x12, ld(0x0A, b"\0\0\0")))), "multiple of 4"),
    (
        "11-byte varint",
        features(entry(b"i", ld(0x1A, ld(0x0A, b"\xff" * 10 + b"\x01")))),
        "longer than 10 bytes",
    ),
    (
        "truncated packed varint",
        features(entry(b"i", ld(0x1A, ld(0x0A, b"\x01\x80")))),
        "truncated varint",
    ),
    ("entry without name", features(ld(0x0A, ld(0x12, b""))), "without a name"),
    ("entry without value", features(ld(0x0A, ld(0x0A, b"k"))), "has no value"),
    (
        "entry value twice",
        features(ld(0x0A, ld(0x0A, b"k") + ld(0x12, b"") + ld(0x12, b""))),
        "repeats its value",
    ),
    (
        "two value lists",
        features(entry(b"k", ld(0x1A, b"") + ld(0x0A, b""))),
        "more than one value list",
    ),
    ("field number 0", b"\x02\x00", "invalid field number 0"),
    ("wire type 7", b"\x17", "invalid wire type 7"),
    ("stray end-group", b"\x14", "unexpected end-group"),
    ("unclosed group", b"\x13\x08\x01", "not closed"),
    ("fixed64 past end", b"\x11\x00\x00", "runs past"),
    ("varint wire type on features", b"\x08\x01", "wire type 0, expected 2"),
]


@pytest.mark.parametrize(
    ("data", "fragment"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_inputs_name_the_problem(data, fragment):
    with pytest.raises(ExampleDecodeError, match=fragment) as info:
        decode_example(data)
    assert "\n" not in str(info.value) and "at byte" in str(info.value)
    with pytest.raises(ExampleDecodeError):
        _parse_example(data, {}, None)


def test_error_str_names_file_and_record_when_known():
    err = ExampleDecodeError(
        "malformed tf.train.Example: x at byte 3", position=3, path="a.tfrecord", index=7
    )
    assert str(err).startswith("a.tfrecord: record 7: malformed")


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from([VALID, encode_example(PERSON), b""])))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif at < len(data):
            del data[at]
    return bytes(data)


@pytest.mark.requires_tf
@settings(max_examples=400, deadline=None)
@given(mutated() | st.binary(max_size=40))
def test_damaged_bytes_raise_only_bad_example_and_agree_with_protobuf(tf, data):
    try:
        got = decode_example(data)
    except ExampleDecodeError:
        return
    # Whatever we accept, protobuf accepts with the same values.
    proto = tf.train.Example.FromString(data)
    assert set(got) == set(proto.features.feature)
    for name, values in got.items():
        feature = proto.features.feature[name]
        kind = feature.WhichOneof("kind")
        want = list(getattr(feature, kind).value) if kind else []
        if kind == "float_list":
            assert f32(values) == f32(want)
        else:
            assert values == want
    assert decode_example(data, numpy=True).keys() == got.keys()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_random_bytes_fast_path_never_disagrees(data):
    try:
        fast = _fast_example(data, None)
    except Exception:
        return  # the caller falls back to the checked decoder
    slow = {}
    _parse_example(data, slow, None)
    assert list(fast) == list(slow)
    assert all(same_list(fast[k], slow[k]) for k in fast)


# ----------------------------------------------------------------- encoder errors


@pytest.mark.parametrize(
    ("features", "error", "fragment"),
    [
        ({"mix": [1, 2.5]}, TypeError, "'mix': mixes int"),
        ({"mix": [2.5, 1]}, TypeError, "'mix': mixes float"),  # the order does not matter
        ({"mix": [b"a", 1]}, TypeError, "'mix': mixes bytes/str"),
        ({"mix": [[1], ["a"]]}, TypeError, "'mix': mixes"),
        ({"big": 2**63}, ValueError, "'big': 9223372036854775808 is outside the int64 range"),
        ({"big": [1, -(2**63) - 1]}, ValueError, "'big': -9223372036854775809 is outside"),
        ({"big": np.array([2**63], np.uint64)}, ValueError, "'big'"),
        ({"big": Int64List([2**64])}, ValueError, "'big'"),
        ({"obj": {1: 2}}, TypeError, "'obj': cannot encode a dict"),
        ({"obj": [None]}, TypeError, "'obj': cannot encode a NoneType"),
        ({"c": np.array([1j])}, TypeError, "'c': numpy dtype complex128"),
        ({"w": Int64List([1.5])}, TypeError, "'w': Int64List cannot hold float"),
        ({"w": FloatList(["a"])}, TypeError, "'w': FloatList cannot hold bytes/str"),
        ({"w": BytesList([1])}, TypeError, "'w': BytesList cannot hold int"),
        ({"w": Int64List(np.zeros(2))}, TypeError, "'w': Int64List cannot hold a numpy float64"),
        ({"s": "\ud800"}, ValueError, "'s'"),
        ({1: b"x"}, TypeError, "names must be str"),
        ({"\ud800": b"x"}, ValueError, "cannot be encoded as UTF-8"),
        ({"f": FloatList([10**400])}, ValueError, "'f'"),
    ],
)
def test_encode_errors_name_the_feature(features, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        encode_example(features)


def test_sequence_encode_errors():
    with pytest.raises(TypeError, match="feature list 'x': expected a sequence"):
        encode_sequence_example({}, {"x": "abc"})
    with pytest.raises(TypeError, match="feature list 'x': expected a sequence"):
        encode_sequence_example({}, {"x": 5})
    with pytest.raises(TypeError, match="feature list 'x' step 1: mixes"):
        encode_sequence_example({}, {"x": [[1], [1, b"a"]]})
    with pytest.raises(TypeError, match="mapping"):
        encode_sequence_example({}, [("x", [])])


def test_decode_accepts_bytes_like():
    data = encode_example(PERSON)
    assert (
        decode_example(bytearray(data)) == decode_example(memoryview(data)) == decode_example(data)
    )


SEQUENCE = encode_sequence_example(
    {"c": [1.5, math.inf], "t": BytesList([])}, {"x": [[1, 2**40], [], FloatList([2.0])]}
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_sequence_examples_raise_only_bad_example(data):
    raw = bytearray(SEQUENCE)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        if data.draw(st.booleans()):
            raw[at] = data.draw(st.integers(0, 255))
        else:
            del raw[at]
    try:
        context, lists = decode_sequence_example(bytes(raw))
    except ExampleDecodeError as err:
        assert "\n" not in str(err) and err.position is not None
    else:
        assert isinstance(context, dict) and isinstance(lists, dict)


def test_canonical_example_reorders_entries_only() -> None:
    from recordio import canonical_example

    a = encode_example({"f": [1], "farr": [b"x"], "b": [2.5], "e": []})
    # The same features in another order, written entry by entry as a hash-ordered map would be.
    pos, entries = 2, []
    while pos < len(a):
        size = a[pos + 1]
        entries.append(a[pos : pos + 2 + size])
        pos += 2 + size
    shuffled = b"\n" + bytes([len(a) - 2]) + b"".join(reversed(entries))
    assert shuffled != a and decode_example(shuffled) == decode_example(a)
    assert canonical_example(shuffled) == a
    assert canonical_example(a) is a
    odd = a + b"\x10\x01"  # an unknown top-level field: left as it is
    assert canonical_example(odd) == odd
