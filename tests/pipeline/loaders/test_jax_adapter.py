"""JaxBatches: global jax.Arrays sharded over 4 CPU devices (a subprocess: XLA_FLAGS must be set
before jax starts), equal to the NumpyLoader's batches, resumable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.pipeline.loaders.loader_data import fmnist_arrays, write_fmnist

SCRIPT = textwrap.dedent(
    """
    import sys
    import jax
    import numpy as np
    from jax.sharding import NamedSharding, PartitionSpec
    from pipeline.loaders import DecodeOptions, NumpyLoader, OrderOptions, WorkerOptions
    from pipeline.loaders.jax_adapter import JaxBatches

    assert jax.device_count() == 4, jax.devices()

    def make(workers):
        return NumpyLoader(sys.argv[1], label="label", batch_size=64,
                           order=OrderOptions(drop_remainder=True),
                           decode=DecodeOptions(decode_bytes={"image": ("uint8", (28, 28))},
                                                to_float32={"image": 1 / 255}),
                           workers=WorkerOptions(num_workers=workers))

    with make(0) as plain:
        want = [(np.array(f["image"]), np.array(y)) for f, y in plain]
    mesh = jax.make_mesh((2, 2), ("data", "model"))
    sharding = NamedSharding(mesh, PartitionSpec(("data", "model")))
    with make(2) as ld:
        batches = JaxBatches(ld, sharding, prefetch=2)
        got = []
        for i, (features, label) in enumerate(batches):
            image = features["image"]
            assert isinstance(image, jax.Array) and image.sharding == sharding
            assert image.shape == (64, 28, 28) and len(image.addressable_shards) == 4
            assert {s.data.shape for s in image.addressable_shards} == {(16, 28, 28)}
            got.append((np.asarray(image), np.asarray(label)))
            if i == 2:
                state = batches.state_dict()
        assert len(got) == len(want) == 600 // 64
        for (a, b), (c, d) in zip(got, want):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)
    with make(1) as again:
        resumed = JaxBatches(again)  # default sharding: rows over all devices
        resumed.load_state_dict(state)
        rest = [np.asarray(y) for _, y in resumed]
    assert len(rest) == len(want) - 3
    for a, (_, b) in zip(rest, want[3:]):
        np.testing.assert_array_equal(a, b)
    print("ok")
    """
)


def test_jax_batches_are_sharded_global_arrays(tmp_path: object) -> None:
    pytest.importorskip("jax")
    images, labels = fmnist_arrays(600, seed=5)
    folder = os.path.join(str(tmp_path), "fm")
    write_fmnist(__import__("pathlib").Path(folder), images, labels, shards=3)
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, folder], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


TWO_HOSTS = textwrap.dedent(
    """
    import sys
    import jax
    pid, port, data = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jax.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=pid)
    import numpy as np
    from pipeline.loaders import DecodeOptions, NumpyLoader, OrderOptions, WorkerOptions
    from pipeline.loaders.jax_adapter import JaxBatches

    order = OrderOptions(rank=jax.process_index(), world_size=2, drop_remainder=True)
    def make():
        return NumpyLoader(data, label="label", batch_size=32, order=order,
                           decode=DecodeOptions(decode_bytes={"image": ("uint8", (28, 28))}),
                           workers=WorkerOptions(prefetch=0))
    want = np.concatenate([y for _, y in make()])
    got = []
    for features, label in JaxBatches(make()):
        assert label.shape == (64,) and features["image"].shape == (64, 28, 28)
        shards = sorted(label.addressable_shards, key=lambda s: s.index[0].start)
        got.append(np.concatenate([np.asarray(s.data) for s in shards]))
    np.testing.assert_array_equal(np.concatenate(got), want)
    print("ok", len(want))
    """
)


def test_two_processes_make_one_global_batch(tmp_path: object) -> None:
    pytest.importorskip("jax")
    import socket

    images, labels = fmnist_arrays(300, seed=6)
    folder = os.path.join(str(tmp_path), "fm")
    write_fmnist(__import__("pathlib").Path(folder), images, labels, shards=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    procs = [
        subprocess.Popen([sys.executable, "-c", TWO_HOSTS, str(i), port, folder], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert out.strip() == "ok 128"  # 150 records per process: 4 full batches of 32


@pytest.mark.parametrize("module, name", [("jax", "JaxBatches"), ("torch", "TorchIterableDataset")])
def test_without_the_framework_the_adapter_names_the_extra(module: str, name: str) -> None:
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from pipeline.errors import LoaderError\n"
        "try:\n"
        f"    from pipeline.loaders import {name}\n"
        "except LoaderError as e:\n"
        "    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert f"pip install 'recio[{module}]'" in done.stdout, done.stderr[-2000:]
