"""lose_reply: the server gets the request, the client never gets the answer."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bench.link.client import LinkClient
from bench.link.proxy import ProxyServerThread
from bench.link.proxy.toxics import settings_class


class _Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = 0

    def do_POST(self):  # noqa: N802 - http.server's naming
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        type(self).hits += 1
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    _Counting.hits = 0
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def proxy(upstream):
    with ProxyServerThread(seed=3) as srv, LinkClient(srv.url) as api:
        listen = api.create_proxy("app", upstream)["listen"]
        yield api, f"http://{listen}"


def _post(url: str) -> int | str:
    try:
        with httpx.Client(timeout=5) as c:
            return c.post(url + "/v1/sync", json={"n": 1}).status_code
    except httpx.TransportError as exc:
        return type(exc).__name__


def test_the_request_arrives_and_the_answer_is_lost_count_times(proxy):
    api, url = proxy
    assert _post(url) == 200 and _Counting.hits == 1
    api.add_toxic("app", "lose_reply", stream="downstream", attributes={"count": 2}, name="lost")
    assert _post(url) != 200 and _Counting.hits == 2  # applied, answer cut
    assert _post(url) != 200 and _Counting.hits == 3
    assert _post(url) == 200 and _Counting.hits == 4  # count spent: answers pass again
    api.update_toxic("app", "lost", attributes={"count": 1})  # an update starts again
    assert _post(url) != 200 and _Counting.hits == 5
    api.remove_toxic("app", "lost")
    assert _post(url) == 200


def test_count_zero_loses_every_answer(proxy):
    api, url = proxy
    api.add_toxic("app", "lose_reply", stream="downstream", attributes={"count": 0})
    assert [_post(url) for _ in range(3)] != [200] * 3 and _Counting.hits == 3


def test_a_websocket_upgrade_and_its_frames_pass():
    state = settings_class("lose_reply").from_attributes({"count": 0})
    from test_link_toxics import FakeControl  # the toxic unit tests' stand-in stream

    from bench.link.proxy.toxics import Chunk

    st = state.new_state(FakeControl())
    up = Chunk(b"HTTP/1.1 101 Switching Protocols\r\n\r\n", 0.0)
    assert list(st.data(up)) == [up]
    frame = Chunk(b"HTTP/1.1 200 looks like an answer but is a frame", 0.0)
    assert list(st.data(frame)) == [frame]
    st2 = state.new_state(FakeControl())
    assert list(st2.data(Chunk(b"HTTP/1.1 200 OK\r\n", 0.0))) == []
    assert list(st2.data(Chunk(b"more body", 0.0))) == []  # the rest of the connection too
