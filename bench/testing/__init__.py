"""The public testing kit: how a team tests its own server, proxy, client or rules.

- :class:`TraceBuilder`: hand-written traces for rule tests and bug reports;
- :func:`check_server`: the protocol conformance suite against a server URL;
- :func:`check_proxy`: the Toxiproxy API conformance suite against a proxy URL;
- :func:`check_client`: a client driver through a scripted day, every rule
  of the policy checked on its trace.

docs/checking.md ("Testing your own implementation") shows each in use.
"""

from bench.testing.kit import (
    REFERENCE_CLIENT,
    SCRIPTS,
    ClientCheck,
    check_client,
    check_proxy,
    check_server,
)
from bench.testing.trace import TraceBuilder

__all__ = ["REFERENCE_CLIENT", "SCRIPTS", "ClientCheck", "TraceBuilder", "check_client",
           "check_proxy", "check_server"]
