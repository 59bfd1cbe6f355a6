"""TensorFlow's side of the differential: a long-lived process that reads (and writes) what the
report asks, so TF is imported once per report and cannot take the report down with it.

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout. Cases that may
kill TF (forged lengths: SIGSEGV) run in a forked child each (`isolate`). Run by tf_client.py;
never imported by anything of ours.
"""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import contextlib

import tensorflow as tf  # noqa: E402
from outcome import digest  # noqa: E402  (bench/faults is on sys.path)

TF_CODEC = {"NONE": "", "GZIP": "GZIP", "ZLIB": "ZLIB"}
SCRATCH = tempfile.mkdtemp(prefix="tfw-")


def read_path(path: str, codec: str) -> dict:
    got: list[str] = []
    try:
        for record in tf.compat.v1.io.tf_record_iterator(path, TF_CODEC[codec]):
            got.append(digest(record))
    except tf.errors.OpError as error:
        return {"got": got, "error": type(error).__name__, "typed": True, "msg": str(error)[:160]}
    except Exception as error:  # noqa: BLE001 - anything else is what we count as a crash
        return {"got": got, "error": type(error).__name__, "typed": False, "msg": str(error)[:160]}
    return {"got": got, "error": None, "typed": True}


def isolated(fn, *args, timeout: float = 60.0) -> dict:
    """Run fn(*args) in a forked child: a signal or a hang becomes a crash result."""
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            out = json.dumps(fn(*args)).encode()
        except BaseException as error:  # noqa: BLE001
            out = json.dumps({"got": [], "error": repr(error), "typed": False}).encode()
        with os.fdopen(wr, "wb") as pipe:
            pipe.write(out)
        os._exit(0)
    os.close(wr)
    chunks = []
    deadline = time.monotonic() + timeout
    with os.fdopen(rd, "rb") as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([pipe], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"got": [], "error": "timeout", "typed": False}
            chunk = os.read(pipe.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return {"got": [], "error": f"signal {sig}", "typed": False}
    return json.loads(b"".join(chunks) or b'{"got": [], "error": "no reply", "typed": false}')


def mutated(base: bytes, mut: list) -> bytes:
    op = mut[0]
    if op == "flip":
        out = bytearray(base)
        out[mut[1]] ^= 1 << mut[2]
        return bytes(out)
    if op == "cut":
        return base[: mut[1]]
    raise ValueError(op)


def read_bytes(data: bytes, codec: str, isolate: bool) -> dict:
    path = os.path.join(SCRATCH, "case")
    with open(path, "wb") as f:
        f.write(data)
    if isolate:
        return isolated(read_path, path, codec)
    return read_path(path, codec)


def kill_writer(path: str, codec: str, records: list[bytes], delay: float) -> dict:
    """Write with tf.io.TFRecordWriter in a child, SIGKILL it after `delay` s, read what is left."""
    pid = os.fork()
    if pid == 0:
        with tf.io.TFRecordWriter(path, TF_CODEC[codec]) as writer:
            for record in records:
                writer.write(record)
        os._exit(0)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    if not os.path.exists(path):
        return {"exists": False}
    result = read_path(path, codec)
    expected = [digest(r) for r in records]
    got = result.pop("got")
    os.unlink(path)
    return {"exists": True, "n": len(got), "prefix": got == expected[: len(got)], **result}


def handle(req: dict) -> dict:
    op = req["op"]
    if op == "read":
        return {"results": [read_path(c["path"], c["codec"]) for c in req["cases"]]}
    if op == "bytes":
        isolate = req.get("isolate", False)
        return {
            "results": [
                read_bytes(base64.b64decode(c["b64"]), c["codec"], isolate) for c in req["cases"]
            ]
        }
    if op == "mutate":
        with open(req["base"], "rb") as f:
            base = f.read()
        codec, isolate = req["codec"], req.get("isolate", False)
        return {"results": [read_bytes(mutated(base, m), codec, isolate) for m in req["muts"]]}
    if op == "write":
        records = [base64.b64decode(r) for r in req["records"]]
        with tf.io.TFRecordWriter(req["path"], TF_CODEC[req["codec"]]) as writer:
            for record in records:
                writer.write(record)
        return {"ok": True}
    if op == "kill_writer":
        records = [bytes([i % 251]) * req["size"] for i in range(req["count"])]
        return {
            "results": [
                kill_writer(os.path.join(req["folder"], f"tf-{i}"), req["codec"], records, delay)
                for i, delay in enumerate(req["delays"])
            ]
        }
    if op == "interleave":
        files = tf.data.Dataset.from_tensor_slices(req["paths"])
        ds = files.interleave(
            tf.data.TFRecordDataset, cycle_length=2, num_parallel_calls=2, deterministic=False
        )
        return {"got": [digest(r) for r in ds.as_numpy_iterator()]}
    if op == "version":
        return {"version": tf.__version__}
    raise ValueError(f"unknown op {op}")


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # TF's chatter must not corrupt the protocol
    out.write(json.dumps({"ready": tf.__version__}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            reply = handle(json.loads(line))
        except Exception as error:  # noqa: BLE001 - reported to the client, which decides
            reply = {"failed": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
