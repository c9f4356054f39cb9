"""index.html renders in a headless browser: verdict table in the DOM, images there, header coloured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Chromium's first start on a loaded 2-core machine takes a few seconds.
BROWSER_TIMEOUT_S = 90
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="/usr/bin/chromium is absent (apt-get install chromium to run this test)")


def _chromium(tmp: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'profile'}", "--window-size=1280,2000", *args, url]
    return subprocess.run(cmd, capture_output=True, timeout=BROWSER_TIMEOUT_S, check=False)


@pytest.fixture
def report(story_report):
    return story_report[1]


def test_dom_has_the_verdict_table_and_plots(report, tmp_path):
    run = _chromium(tmp_path, report.as_uri(), "--dump-dom")
    dom = run.stdout.decode("utf-8", "replace")
    assert run.returncode == 0 and 'id="verdict-table"' in dom, run.stderr.decode()[-2000:]
    assert 'id="overall-verdict">FAIL<' in dom
    srcs = [part.split('"', 1)[0] for part in dom.split('<img src="')[1:]]
    assert len(srcs) >= 5
    for src in srcs:
        png = report.parent / src
        assert png.stat().st_size > 5000, src  # what the page links is there and not empty


def test_screenshot_shows_the_verdict_colour(report, tmp_path):
    from matplotlib import image

    shot = tmp_path / "shot.png"
    run = _chromium(tmp_path, report.as_uri(), f"--screenshot={shot}")
    assert run.returncode == 0 and shot.exists(), run.stderr.decode()[-2000:]
    pixels = image.imread(shot)
    assert pixels.shape[0] >= 1900 and pixels.shape[1] >= 1200
    r, g, b = pixels[20, 1200][:3]  # the header band, right of the facts: FAIL red (#b3261e)
    assert r > 0.6 and g < 0.3 and b < 0.3, (r, g, b)
    # Something below the header was drawn (the page is not blank).
    body = pixels[300:1900, :, :3]
    assert body.std() > 0.05



def test_the_run_report_renders_with_its_items(tmp_path):
    from bench.report.run_index import write_run_report
    from bench.rules.base import RuleResult
    from bench.rules.expect import ItemResult

    ok = RuleResult(id="planado.cadence", verdict="pass", judged=3)
    bad = RuleResult(id="planado.push_sync", verdict="fail", judged=1, failures=1)
    items = [ItemResult(name=n, kind="real", policy="planado", results=(ok, r), expect={},
                        unmet=u, seconds=3.0, extra={"time_scale": 60.0})
             for n, r, u in (("a.yaml", ok, ()), ("b.yaml", bad, ("planado.push_sync: failed",)))]
    index = write_run_report(tmp_path / "run", items, wall_s=9.0)
    run = _chromium(tmp_path, index.as_uri(), "--dump-dom")
    dom = run.stdout.decode("utf-8", "replace")
    assert run.returncode == 0 and 'id="items"' in dom, run.stderr.decode()[-2000:]
    assert 'id="run-verdict">FAILS<' in dom and dom.count('<tr class="') == 2
