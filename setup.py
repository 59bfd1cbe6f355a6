"""Build shim: the optional C accelerator, and the file Beam's --setup_file stages for Dataflow.

The extension is optional: when no compiler is present the build carries on and recordio
falls back to its pure-Python framing (same results, slower).
"""

import setuptools
from setuptools import Extension, setup

LICENSE = "Apache-2.0"
# PEP 639's license expression from setuptools 77 on; the free-text field before it.
_MODERN = int(setuptools.__version__.split(".")[0]) >= 77
license_metadata = {"license_expression": LICENSE} if _MODERN else {"license": LICENSE}

setup(
    **license_metadata,
    ext_modules=[
        Extension(
            "recordio._speedups",
            sources=["recordio/_speedups.c"],
            optional=True,
            extra_compile_args=["-O3"],
        )
    ],
)
