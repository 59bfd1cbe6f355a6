"""Build shim: the optional C accelerators, and the file Beam's --setup_file stages for Dataflow.

The extensions are optional: when no compiler is present the build carries on and recordio
falls back to its pure-Python framing, ImageAugment to numpy (same results, slower).
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
        ),
        # Bit-equal to the numpy twin only without fused multiply-adds.
        Extension(
            "pipeline.loaders._imageops",
            sources=["pipeline/loaders/_imageops.c"],
            optional=True,
            extra_compile_args=["-O3", "-ffp-contract=off"],
        ),
    ],
)
