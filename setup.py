"""Build shim: the optional C accelerator, and the file Beam's --setup_file stages for Dataflow.

The extension is optional: when no compiler is present the build carries on and recordio
falls back to its pure-Python framing (same results, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "recordio._speedups",
            sources=["recordio/_speedups.c"],
            optional=True,
            extra_compile_args=["-O3"],
        )
    ]
)
