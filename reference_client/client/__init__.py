"""The asyncio reference client: a real device driving the sans-I/O engine.

    from reference_client.client import ClientConfig, DeviceClient, run_device
    config = ClientConfig(server=url, token=token, device="w1", store=Path("w1-store"))
    async with DeviceClient(config) as dev:
        await dev.set_link("wifi")
        await dev.app("opened")
        await dev.edit("job-1", "status", status="started")
        await dev.wait_for(lambda d: d.unsent == 0, timeout=10)

Modules: ``app`` (the driver), ``api`` (HTTP), ``push`` (WebSocket), ``store``
(SQLite), ``files`` (photos, resumable transfers), ``trace`` (JSONL writer),
``clock`` (spec time), ``throughput`` (slow/fast by measurement), ``script``
(scripted mode), ``cli``. See docs/client.md. This package never imports ``bench``.
"""

from reference_client.client.app import DeviceClient, resolve_policy
from reference_client.client.clock import SpecClock
from reference_client.client.config import ClientConfig
from reference_client.client.script import (
    ScriptAction,
    load_script,
    parse_action,
    parse_line,
    run_device,
)

__all__ = ["ClientConfig", "DeviceClient", "ScriptAction", "SpecClock", "load_script",
           "parse_action", "parse_line", "resolve_policy", "run_device"]
