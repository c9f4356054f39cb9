"""Attachments: downloaded, checked, resumed; throughput classification."""

from __future__ import annotations

import asyncio
import hashlib
import random

import httpx
import pytest
from realclient_helpers import WAIT_S, config, run, web

from reference_client.client import DeviceClient
from reference_client.client.api import ServerApi
from reference_client.client.files import download, safe_name
from reference_client.client.throughput import MIN_SAMPLE_BYTES, ThroughputMeter
from reference_server.testing import running_server


def _attach(srv, record: str, file: str, data: bytes) -> None:
    auth = srv.auth(srv.dispatcher_token)
    r = httpx.patch(f"{srv.url}/v1/files/{file}/upload", content=data,
                    headers={**auth, "Upload-Offset": "0",
                             "Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    r = httpx.post(f"{srv.url}/v1/files/{file}/finish", headers=auth,
                   json={"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    assert r.status_code == 200, r.text
    web(srv, "POST", f"/v1/web/jobs/{record}/attach", file=file)


def test_attachment_is_downloaded_on_a_fast_link_and_not_on_a_slow_one(tmp_path):
    data = random.Random(5).randbytes(300_000)
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")
        _attach(srv, "job-1", "plan.pdf", data)

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("edge")  # Planado: no files on a slow link
                await dev.app("opened")
                await dev.wait_for(lambda d: "job-1" in d.records() and not d.busy, WAIT_S)
                assert not [e for e in dev.events if e["ev"] == "file_start"]
                await dev.set_link("wifi")
                await dev.wait_for(lambda d: any(
                    e["ev"] == "file_end" and e["ok"] for e in d.events), WAIT_S)
                return dev.events

        events = run(main())
        assert (cfg.store / "files" / safe_name("plan.pdf")).read_bytes() == data
        end = [e for e in events if e["ev"] == "file_end"][0]
        assert (end["dir"], end["file"], end["bytes"]) == ("down", "plan.pdf", len(data))
        # The files pool's first request opened its connection (drift's handshake).
        assert end["connects"] == 1


def test_many_attachments_queue_for_the_five_file_connections(tmp_path):
    blobs = {f"doc-{i}": random.Random(i).randbytes(20_000 + i) for i in range(8)}
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")
        for name, data in blobs.items():
            _attach(srv, "job-1", name, data)

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: sum(
                    1 for e in d.events if e["ev"] == "file_end" and e["ok"]) == 8, WAIT_S)
                assert dev.errors == []
                return dev.events

        events = run(main())
        # Eight downloads over at most five pooled connections: each opened is said
        # once, on the file_end of the transfer that opened it; the rest reused one.
        opened = [e.get("connects", 0) for e in events if e["ev"] == "file_end"]
        assert 1 <= sum(opened) <= 5 and opened.count(0) >= 3
        for name, data in blobs.items():
            assert (cfg.store / "files" / safe_name(name)).read_bytes() == data


def test_download_resumes_from_the_part_file_with_a_range_request(tmp_path):
    data = random.Random(6).randbytes(200_000)
    with running_server() as srv:
        token = srv.provision("w1")
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")
        _attach(srv, "job-1", "f1", data)
        part = tmp_path / "files" / (safe_name("f1") + ".part")
        part.parent.mkdir(parents=True)
        part.write_bytes(data[:123_456])  # what a cut download left
        seen: list[int] = []

        async def main():
            api = ServerApi(base_url=srv.url, token=token, timeout_s=WAIT_S)
            try:
                return await download(api, file="f1", store_dir=tmp_path, total=len(data),
                                      sha256=hashlib.sha256(data).hexdigest(),
                                      progress=seen.append)
            finally:
                await api.aclose()

        assert run(main()) == len(data)
        assert seen[0] == 123_456 and seen[-1] == len(data)
        assert (tmp_path / "files" / safe_name("f1")).read_bytes() == data
        assert not part.exists()


def test_throughput_meter_draws_the_550_kbps_line_in_spec_time():
    meter = ThroughputMeter(time_scale=60)
    assert meter.is_slow is None
    assert not meter.sample(MIN_SAMPLE_BYTES - 1, 0.001)  # too small to measure
    # 1 MB in 0.5 s of wall time at K = 60 is 16 Mbps measured, 267 kbps in spec time.
    assert meter.sample(1_000_000, 0.5)
    assert meter.kbps is not None and round(meter.kbps) == 267 and meter.is_slow
    fast = ThroughputMeter(time_scale=1)
    fast.sample(1_000_000, 0.5)  # 16 Mbps
    assert fast.is_slow is False


def test_a_server_that_ignores_range_still_resumes_correctly(tmp_path):
    data = random.Random(7).randbytes(100_000)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=data)  # no Range support at all

    part = tmp_path / "files" / (safe_name("f1") + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:40_000])

    async def main():
        api = ServerApi(base_url="http://server.invalid", token="t", timeout_s=WAIT_S,
                        transport=httpx.MockTransport(handler))
        try:
            return await download(api, file="f1", store_dir=tmp_path, total=len(data),
                                  sha256=hashlib.sha256(data).hexdigest(), progress=lambda n: None)
        finally:
            await api.aclose()

    assert run(main()) == len(data)
    assert (tmp_path / "files" / safe_name("f1")).read_bytes() == data


def test_take_photo_stops_between_chunks_and_removes_its_file(tmp_path):
    import threading

    from reference_client.client import files

    class SetAfter(threading.Event):
        def __init__(self, n):
            super().__init__()
            self.n = n

        def is_set(self):
            self.n -= 1
            return self.n < 0

    with pytest.raises(files.PhotoCancelled, match="stopped after 3,145,728"):
        files.take_photo(tmp_path, random.Random(1), 10 * files.WRITE_CHUNK_BYTES, SetAfter(3))
    assert list((tmp_path / files.PHOTO_DIR).iterdir()) == []
    with pytest.raises(ValueError, match="over the protocol's file limit of 536,870,912"):
        files.take_photo(tmp_path, random.Random(1), files.MAX_PHOTO_BYTES + 1)
    path, sha = files.take_photo(tmp_path, random.Random(1), files.MAX_PHOTO_BYTES // 4096)
    assert path.stat().st_size == files.MAX_PHOTO_BYTES // 4096 and len(sha) == 64


def test_a_download_cut_by_a_slow_link_says_every_byte_it_kept(tmp_path, monkeypatch):
    """Progress reaches the engine a chunk at a time; a link change that aborts a
    download first tells it the bytes the .part file holds, so the cut attempt's
    file_end says where the resumed one starts (bench.real.drift times it on the rest)."""
    from reference_client.client import files as files_mod

    got_some = asyncio.Event()

    async def slow_download(api, *, file, store_dir, total, sha256, progress):
        progress(0)
        progress(100_000)  # less than a chunk: not fed to the engine yet
        got_some.set()
        await asyncio.sleep(4 * WAIT_S)  # the rest never comes: the link turns slow

    monkeypatch.setattr(files_mod, "download", slow_download)
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")
        _attach(srv, "job-1", "plan.pdf", random.Random(7).randbytes(300_000))

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await asyncio.wait_for(got_some.wait(), WAIT_S)
                await dev.set_link("edge")  # Planado: files wait for a fast link
                return dev.events

        events = run(main())
    (cut,) = [e for e in events if e["ev"] == "file_end"]
    assert (cut["ok"], cut["bytes"]) == (False, 100_000)
