"""A Toxiproxy client for the bench: toxiproxy-python plus what it lacks.

Theory of operation
-------------------
``toxiproxy-python`` (0.1.1) covers creating and listing proxies and adding and
removing toxics, but cannot update a toxic, call ``/populate``, enable a proxy
by name, or tell a 5xx from success (spec/toxiproxy.md). :class:`LinkClient`
makes every call through one ``httpx.Client`` with one error mapping: the
4xx answers raise toxiproxy-python's own exceptions (``ProxyExists`` for 409,
``NotFound`` for 404, ``InvalidToxic`` for 400), so code written against that
client keeps working, and any 5xx raises :class:`ToxiproxyServerError` with the
server's message. ``client.toxiproxy`` is a ``toxiproxy.Toxiproxy`` pointed at
the same server for code that wants that API.

:meth:`LinkClient.apply_profile` moves a proxy to a link profile without
losing a byte: profile toxics (named ``link_*``) that exist already are
updated in place (their place in the chain is kept), new ones are added,
stale ones removed, and the proxy is enabled last, so a connection never sees
a moment with no shaping. Works against a real ``toxiproxy-server`` too (its
attributes must be integers; the client rounds them when the server is not ours).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from bench.link.profiles import TOXIC_PREFIX, Profile, get_profile
from bench.link.timescale import check_time_scale

# Upstream's default API address ("HTTP API (default 127.0.0.1:8474)").
DEFAULT_URL = "http://127.0.0.1:8474"
# API calls are local and small; 10 s only bounds a hung server.
DEFAULT_TIMEOUT_S = 10.0

_CLIENT_ERRORS = {409: ProxyExists, 404: NotFound, 400: InvalidToxic}


class ToxiproxyServerError(RuntimeError):
    """The server answered 5xx (or something that is not the API)."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"toxiproxy {method} {path}: {status} {message}")
        self.status = status
        self.message = message


class LinkClient:
    """Everything the bench does to a Toxiproxy server (ours or upstream's)."""

    def __init__(self, url: str = DEFAULT_URL, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)
        self._ours: bool | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LinkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def toxiproxy(self):
        """A ``toxiproxy.Toxiproxy`` for this server (its host/port setting is global)."""
        from toxiproxy import Toxiproxy

        parts = urlsplit(self.url)
        client = Toxiproxy()
        client.update_api_consumer(parts.hostname, parts.port or 80)
        return client

    # -- plumbing ------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            resp = self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ToxiproxyServerError(method, path, 0, f"cannot reach {self.url}: {exc}") from None
        status = resp.status_code
        if status < 300:
            return resp.json() if resp.content and "json" in resp.headers.get("content-type", "") \
                else (resp.text or None)
        try:
            message = resp.json().get("error", resp.text)
        except ValueError:
            message = resp.text
        error = _CLIENT_ERRORS.get(status)
        if error is not None:
            raise error(message)
        raise ToxiproxyServerError(method, path, status, str(message).strip())

    @staticmethod
    def _p(name: str) -> str:
        return quote(name, safe="")

    # -- server ----------------------------------------------------------------------
    def version(self) -> str:
        answer = self._call("GET", "/version")
        return answer.get("version", "") if isinstance(answer, dict) else str(answer).strip()

    @property
    def is_syncbench(self) -> bool:
        """True for the bench's own server (which accepts fractional latency and rate)."""
        if self._ours is None:
            answer = self._call("GET", "/version")
            self._ours = isinstance(answer, dict) and answer.get("server") == "syncbench"
        return self._ours

    def reset(self) -> None:
        self._call("POST", "/reset")

    def metrics(self) -> str:
        return self._call("GET", "/metrics")

    # -- proxies ---------------------------------------------------------------------
    def proxies(self) -> dict[str, dict]:
        return self._call("GET", "/proxies")

    def get_proxy(self, name: str) -> dict:
        return self._call("GET", f"/proxies/{self._p(name)}")

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0",
                     enabled: bool = True) -> dict:
        return self._call("POST", "/proxies", {"name": name, "upstream": upstream,
                                               "listen": listen, "enabled": enabled})

    def update_proxy(self, name: str, **fields: Any) -> dict:
        return self._call("POST", f"/proxies/{self._p(name)}", fields)

    def enable(self, name: str) -> dict:
        return self.update_proxy(name, enabled=True)

    def disable(self, name: str) -> dict:
        """Refuse new connections and cut open ones (toxics are kept)."""
        return self.update_proxy(name, enabled=False)

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{self._p(name)}")

    def populate(self, proxies: list[dict[str, Any]]) -> list[dict]:
        return self._call("POST", "/populate", proxies)["proxies"]

    # -- toxics ------------------------------------------------------------------------
    def toxics(self, proxy: str) -> list[dict]:
        return self._call("GET", f"/proxies/{self._p(proxy)}/toxics")

    def add_toxic(self, proxy: str, type: str, *, name: str | None = None,
                  stream: str = "downstream", toxicity: float = 1.0,
                  attributes: dict[str, Any] | None = None) -> dict:
        body = {"type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes or {}}
        if name is not None:
            body["name"] = name
        return self._call("POST", f"/proxies/{self._p(proxy)}/toxics", body)

    def update_toxic(self, proxy: str, toxic: str, *, attributes: dict[str, Any] | None = None,
                     toxicity: float | None = None) -> dict:
        body: dict[str, Any] = {"attributes": attributes or {}}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return self._call("POST", f"/proxies/{self._p(proxy)}/toxics/{self._p(toxic)}", body)

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        self._call("DELETE", f"/proxies/{self._p(proxy)}/toxics/{self._p(toxic)}")

    # -- profiles ------------------------------------------------------------------------
    def apply_profile(self, proxy: str, profile: Profile | str, time_scale: float = 1.0, *,
                      base_rtt_ms: float = 0.0) -> Profile:
        """Put ``proxy`` on ``profile`` at time scale K, replacing the previous profile's toxics.

        ``base_rtt_ms``: the path's own round trip, taken off the scaled
        latency (``Profile.toxics``)."""
        p = get_profile(profile)
        check_time_scale(p, time_scale, base_rtt_ms=base_rtt_ms)
        if p.mode == "offline":
            self.disable(proxy)
            return p
        wanted = p.toxics(time_scale, integer_attributes=not self.is_syncbench,
                          base_rtt_ms=base_rtt_ms)
        current = {t["name"]: t for t in self.toxics(proxy) if t["name"].startswith(TOXIC_PREFIX)}
        for toxic in wanted:
            have = current.pop(toxic["name"], None)
            # An update merges over the toxic's attributes (upstream does too):
            # one the new profile leaves out (a burst) would stay, so re-add.
            if have is not None and (have["type"], have["stream"]) == (toxic["type"], toxic["stream"]) \
                    and set(have["attributes"]) <= set(toxic["attributes"]):
                if have["attributes"] != toxic["attributes"] or have["toxicity"] != toxic["toxicity"]:
                    self.update_toxic(proxy, toxic["name"], attributes=toxic["attributes"],
                                      toxicity=toxic["toxicity"])
                continue
            if have is not None:
                self.remove_toxic(proxy, toxic["name"])
            self.add_toxic(proxy, toxic["type"], name=toxic["name"], stream=toxic["stream"],
                           toxicity=toxic["toxicity"], attributes=toxic["attributes"])
        for stale in current:
            self.remove_toxic(proxy, stale)
        if not self.get_proxy(proxy)["enabled"]:
            self.enable(proxy)
        return p
