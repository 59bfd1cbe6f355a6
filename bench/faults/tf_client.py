"""The parent side of tf_worker.py: start it once, send requests, survive its absence.

When TensorFlow is not importable the client says so once and every differential column of the
report reads "TF not run" instead of failing the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class TFClient:
    """A lazily started TF worker; `available` is False (with `why`) when TF cannot run."""

    def __init__(self, enabled: bool = True) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.version: str | None = None
        self.why: str | None = None if enabled else "disabled (--no-tf)"

    @property
    def available(self) -> bool:
        if self.why is None and self._proc is None:
            self._start()
        return self.why is None

    def _start(self) -> None:
        env = dict(os.environ, PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        env.setdefault("CUDA_VISIBLE_DEVICES", "")
        self._proc = subprocess.Popen(
            [sys.executable, str(HERE / "tf_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self.why = "TensorFlow is not importable"
            self._proc = None
            return
        self.version = json.loads(line)["ready"]

    def call(self, op: str, **request: Any) -> dict[str, Any]:
        if not self.available:
            raise RuntimeError(self.why)
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps({"op": op, **request}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            self.why = "the TF worker died"
            self._proc = None
            raise RuntimeError(self.why)
        reply = json.loads(line)
        if "failed" in reply:
            raise RuntimeError(f"TF worker: {reply['failed']}")
        return reply

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
            self._proc = None
