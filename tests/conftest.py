"""Test configuration: hypothesis profiles and the import path of tests/helpers.py.

Profiles:
    ci    bounded examples, no deadline, derandomized (CI=true selects it)
    dev   more examples, no deadline (the default locally)
Choose another with HYPOTHESIS_PROFILE=name.
"""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

# The test folders have no __init__.py; `from helpers import ...` finds tests/helpers.py here.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Finite differences make an example cost milliseconds, not microseconds: no deadline, and
# hypothesis should not fail a test for being slow to generate data.
_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_common)
settings.register_profile("dev", max_examples=100, **_common)

if os.environ.get("CI"):
    settings.load_profile("ci")
else:
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# The tests multiply small matrices, where a second BLAS thread only adds synchronisation
# (and, on a shared machine, contention): run BLAS single-threaded for the whole session.
try:
    import numpy  # noqa: F401  (loads OpenBLAS: threadpoolctl limits only libraries already loaded)
    from threadpoolctl import threadpool_limits

    _blas_limit = threadpool_limits(limits=1, user_api="blas")
except ImportError:  # threadpoolctl comes with scikit-learn; without it, BLAS keeps its default
    pass


@pytest.fixture(autouse=True)
def _classifier_cache(request, monkeypatch):
    """The image metrics' digits classifier is cached in pytest's cache directory, trained at
    most once per checkout, never in the user's own cache."""
    monkeypatch.setenv("SCRATCHGEN_CACHE", str(request.config.cache.mkdir("scratchgen-classifier")))
