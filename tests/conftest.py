"""Suite-wide test settings.

``SYNCBENCH_README_SMOKE=1`` is set by the README test when it runs the
README's own test command inside a fresh copy of the project: that inner run
keeps only the tests marked ``readme_smoke`` (so it proves the command works
without running the whole suite twice, or recursing).
"""

from __future__ import annotations

import os

import pytest

SMOKE = os.environ.get("SYNCBENCH_README_SMOKE") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "readme_smoke: kept when the README test runs the test command")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SMOKE:
        return
    keep = [i for i in items if i.get_closest_marker("readme_smoke")]
    drop = [i for i in items if not i.get_closest_marker("readme_smoke")]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep
