"""Numba start-up: keep numba's BLAS probe from importing SciPy's linear algebra.

The first time numba compiles or loads a cached kernel, it imports ``numba.np.arraymath``,
which probes for BLAS by importing ``scipy.linalg.cython_blas``; with SciPy installed that
imports ``scipy.linalg`` whole: 0.5 s of a monitor's start-up on the benchmark machine,
although no kernel here calls BLAS. ``defer_blas_probe`` answers that one probe by finding
the module without importing it. Every later check (``numba.np.linalg.ensure_blas``, run
when a kernel does use BLAS) is numba's own again: the import, and its check of the
library's integer width, happen then.
"""

from __future__ import annotations

import importlib.util
import sys


def defer_blas_probe() -> None:
    """Answer numba's start-up BLAS probe without importing SciPy (see the module doc)."""
    if "numba.np.arraymath" in sys.modules:
        return  # probed already
    from numba.np import linalg

    original = linalg.ensure_blas
    if getattr(original, "deferred", False):
        return

    def probe() -> None:
        linalg.ensure_blas = original  # later checks are numba's own
        if importlib.util.find_spec("scipy") is None:  # not "scipy.linalg": that imports scipy
            raise ImportError("scipy 0.16+ is required for linear algebra")

    probe.deferred = True  # type: ignore[attr-defined]
    linalg.ensure_blas = probe
