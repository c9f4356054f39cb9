"""Toxic modules on their own: settings validation, registry, and per-connection state."""

from __future__ import annotations

import random

import pytest

from bench.link.proxy.toxics import TOXICS, Chunk, InvalidAttribute, settings_class


class FakeControl:
    """A stream as a toxic state sees it, with a hand-moved clock."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.t = 100.0
        self.opened_at = self.t
        self.fresh = True
        self.held = 0.0
        self.timers: list[tuple[float, object]] = []
        self.closed = self.reset_done = False

    def now(self) -> float:
        return self.t

    def call_later(self, delay, callback):
        self.timers.append((delay, callback))

        class Handle:
            def cancel(self_inner):
                self.timers.remove((delay, callback))

        return Handle()

    def hold(self, until: float) -> None:
        self.held = max(self.held, until)

    def close(self) -> None:
        self.closed = True

    def reset(self) -> None:
        self.reset_done = True


def state(type_name: str, control=None, **attrs):
    settings = settings_class(type_name).from_attributes(attrs)
    return settings.new_state(control or FakeControl())


def test_registry_has_every_toxic():
    assert set(TOXICS) == {"latency", "bandwidth", "slow_close", "timeout", "reset_peer",
                           "slicer", "limit_data", "noop", "lose_reply"}


def test_attributes_validate():
    cls = settings_class("slicer")
    s = cls.from_attributes({"Average_Size": 10, "unknown": "x"})
    assert s.attributes() == {"average_size": 10, "size_variation": 0, "delay": 0}
    assert cls.from_attributes({"delay": 5}, s).attributes()["average_size"] == 10
    for bad in ({"delay": 1.5}, {"delay": "1"}, {"delay": True}, {"delay": -1}):
        with pytest.raises(InvalidAttribute):
            cls.from_attributes(bad)
    assert settings_class("bandwidth").from_attributes({"rate": 2.5}).rate == 2.5
    assert settings_class("latency").from_attributes({"latency": 4.17}).latency == 4.17


def test_seeded_jitter_repeats_exactly():
    def delays(seed):
        st = state("latency", FakeControl(seed), latency=100, jitter=50)
        return [next(iter(st.data(Chunk(b"x", 0.0)))).ready_at for _ in range(20)]

    assert delays(3) == delays(3) != delays(4)
    assert all(0.05 <= d <= 0.15 for d in delays(3))


def test_handshake_holds_a_new_connections_first_chunk_from_the_accept():
    control = FakeControl()
    st = state("latency", control, latency=10, handshake=50)
    st.start()  # the connection opened at t = 100
    # The first chunk, read 20 ms after the accept, leaves 50 ms after it, plus its latency.
    first = next(iter(st.data(Chunk(b"req", 100.020))))
    assert first.ready_at == pytest.approx(100.060)
    # Every later chunk pays only its latency.
    assert next(iter(st.data(Chunk(b"more", 100.030)))).ready_at == pytest.approx(100.040)
    # A first chunk read after the hold is over is not held again.
    late = state("latency", FakeControl(), latency=10, handshake=50)
    late.start()
    assert next(iter(late.data(Chunk(b"x", 100.2)))).ready_at == pytest.approx(100.21)
    # A toxic added to a connection that already carried data holds nothing.
    used = FakeControl()
    used.fresh = False
    added = state("latency", used, latency=10, handshake=50)
    added.start()
    assert next(iter(added.data(Chunk(b"x", 100.0)))).ready_at == pytest.approx(100.01)
    # Upstream's shape when the extension is not in use.
    cls = settings_class("latency")
    assert cls.from_attributes({"latency": 5}).attributes() == {"latency": 5, "jitter": 0}
    assert cls.from_attributes({"latency": 5, "handshake": 2.5}).attributes() == {
        "latency": 5, "jitter": 0, "handshake": 2.5}


def test_bandwidth_slices_paces_and_holds():
    control = FakeControl()
    st = state("bandwidth", control, rate=10)  # 10 KB/s: 1000-byte slices of 100 ms
    out = list(st.data(Chunk(b"a" * 3500, control.t)))
    assert [len(c.data) for c in out] == [1000, 1000, 1000, 500]
    assert [round(c.ready_at - control.t, 6) for c in out] == [0.1, 0.2, 0.3, 0.35]
    assert control.held == pytest.approx(control.t + 0.25)  # back to one slice of backlog
    assert b"".join(c.data for c in out) == b"a" * 3500


def test_bandwidth_burst_is_credit_an_idle_link_saved():
    control = FakeControl()
    # 10 KB/s with a 500-byte bucket: an idle link sends its first 500 bytes as they come.
    st = state("bandwidth", control, rate=10, burst=0.5)
    t0 = control.t
    out = list(st.data(Chunk(b"a" * 1500, t0)))
    assert [round(c.ready_at - t0, 6) for c in out] == [0.05, 0.1]  # 1000-byte slices, 50 ms early
    # Busy: the next bytes queue behind the clock, no credit left.
    out = list(st.data(Chunk(b"b" * 100, t0)))
    assert [round(c.ready_at - t0, 6) for c in out] == [0.11]
    # Idle again long enough: the bucket is full again, no fuller; a piece within
    # the credit leaves as it arrives, never before.
    later = t0 + 10.0
    out = list(st.data(Chunk(b"c" * 200, later)))
    assert [c.ready_at for c in out] == [later]
    out = list(st.data(Chunk(b"d" * 1000, later)))
    assert [round(c.ready_at - later, 6) for c in out] == [0.07]
    # Upstream's shape when the extension is not in use.
    assert settings_class("bandwidth").from_attributes({"rate": 10}).attributes() == {"rate": 10}
    assert settings_class("bandwidth").from_attributes(
        {"rate": 10, "burst": 0.5}).attributes() == {"rate": 10, "burst": 0.5}


def test_limit_data_cuts_and_ends():
    st = state("limit_data", bytes=5)
    first = list(st.data(Chunk(b"abc", 0)))
    second = list(st.data(Chunk(b"defgh", 0)))
    assert [c.data for c in first] == [b"abc"]
    assert [c.data for c in second] == [b"de", None]
    assert list(st.data(Chunk(b"more", 0))) == []


def test_timeout_and_reset_peer_timers():
    control = FakeControl()
    st = state("timeout", control, timeout=200)
    st.start()
    assert list(st.data(Chunk(b"x", 0))) == []
    assert [d for d, _ in control.timers] == [0.2]
    st.stop()
    assert control.closed and control.timers == []
    control = FakeControl()
    st = state("reset_peer", control, timeout=50)
    assert list(st.data(Chunk(b"x", 0))) == [] and len(control.timers) == 1
    control.timers[0][1]()
    assert control.reset_done


def test_slow_close_and_noop():
    assert state("slow_close", delay=250).eof(1.0) == 1.25
    c = Chunk(b"x", 2.0)
    assert list(state("noop").data(c)) == [c] and c.ready_at == 2.0
