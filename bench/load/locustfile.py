"""The locustfile of a worker process: ``locust -f bench/load/locustfile.py --worker``.

Theory of operation: in distributed mode the controller is Locust's master
(in the ``syncbench load`` process) and each worker is a plain ``locust``
process loading this file. Locust finds the two user classes here; the init
hook registers the message handlers, and the run configuration (server URL,
tokens, time scale, profile, epoch) arrives from the master as the ``config``
message before any user starts, so a worker on another machine needs only
this code and ``--master-host``.
"""

from __future__ import annotations

from typing import Any

from locust import events

from bench.load.users import DeviceUser, DispatcherUser, install

__all__ = ["DeviceUser", "DispatcherUser"]


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    install(environment)
