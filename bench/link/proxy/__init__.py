"""A Toxiproxy-compatible TCP fault proxy (API of upstream 2.x; see docs/links.md).

Layout::

    server.py   ProxyServer / ProxyServerThread: API listener + registry
    http.py     HTTP/1.1 over asyncio streams (h11)
    api.py      routes, JSON checks, upstream's error messages (errors.py)
    registry.py the proxies by name: create, populate, reset
    proxy.py    one proxy: listener, connections, toxics
    link.py     a connection: two sockets, two streams, close and reset
    stream.py   one direction: the toxic chain and the FIFO that paces writes
    toxics/     one module per toxic, registered by name
    metrics.py  GET /metrics (Prometheus text)
"""

from bench.link.proxy.server import DEFAULT_HOST, DEFAULT_PORT, ProxyServer, ProxyServerThread

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ProxyServer", "ProxyServerThread"]
