"""Suite-wide test settings.

``SYNCBENCH_README_SMOKE=1`` is set by the README test when it runs the
README's own test command inside a fresh copy of the project: that inner run
keeps only the tests marked ``readme_smoke`` (so it proves the command works
without running the whole suite twice, or recursing).

The time-scale calibration (bench.real.calibrate) caches what it measures for
a day. Measured while the suite loads the machine, it would slow the user's
own real runs on this machine for that day (a K of 13 for 3G instead of 60,
seen here), so the suite keeps its own cache folder (shared by the xdist
workers, which inherit the variable, and removed at the end).

Property tests draw the same examples on every run (Hypothesis's
``derandomize``): a run of the suite is reproducible, and CI cannot fail on a
case no earlier run met. A case found by exploring with a random profile
(``--hypothesis-profile explore``) is pinned in its test as an ``@example``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import settings

settings.register_profile("syncbench", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("syncbench")

SMOKE = os.environ.get("SYNCBENCH_README_SMOKE") == "1"


CACHE_ENV = "SYNCBENCH_CACHE_DIR"  # bench.real.calibrate.CACHE_ENV
_own_cache: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "readme_smoke: kept when the README test runs the test command")
    if CACHE_ENV not in os.environ:  # xdist workers find the controller's already set
        _own_cache.append(tempfile.mkdtemp(prefix="syncbench-test-cache-"))
        os.environ[CACHE_ENV] = _own_cache[0]


def pytest_unconfigure(config: pytest.Config) -> None:
    for d in _own_cache:
        shutil.rmtree(d, ignore_errors=True)
        if os.environ.get(CACHE_ENV) == d:
            del os.environ[CACHE_ENV]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SMOKE:
        return
    keep = [i for i in items if i.get_closest_marker("readme_smoke")]
    drop = [i for i in items if not i.get_closest_marker("readme_smoke")]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep
