"""Before a job touches Google Cloud: fail in seconds, in one line, when it cannot be reached.

Beam's own clients retry for minutes without a word when there is no network or no credentials
(a gs:// glob, a Dataflow submission). These checks run first, before any input is listed.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from pipeline.errors import CloudAccessError
from pipeline.options import RunnerOptions

CONNECT_SECONDS = 10.0


def _reachable(host: str) -> str | None:
    """None when a TCP connection to host:443 opens; else why not."""
    try:
        with socket.create_connection((host, 443), timeout=CONNECT_SECONDS):
            return None
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__


def check_cloud_access(runner: RunnerOptions, paths: Sequence[str], output: str) -> None:
    """Raise CloudAccessError when Dataflow or the gs:// paths cannot be used from here."""
    submit = runner.runner == "DataflowRunner" and not runner.dry_run
    storage = any(str(p).startswith("gs://") for p in (*paths, output))
    if not (submit or storage):
        return
    hosts = (["dataflow.googleapis.com"] if submit else []) + ["storage.googleapis.com"]
    for host in hosts:
        why = _reachable(host)
        if why is not None:
            raise CloudAccessError(
                f"cannot reach {host} ({why}); Google Cloud needs a network connection",
                hint="check the network or proxy, or run locally with local paths",
            )
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError:  # pragma: no cover - apache-beam[gcp] brings google-auth
        return
    try:
        google.auth.default()
    except DefaultCredentialsError:
        raise CloudAccessError(
            "no Google Cloud credentials found",
            hint="run `gcloud auth application-default login` or set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file",
        ) from None
