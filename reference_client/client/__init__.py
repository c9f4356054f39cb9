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

from importlib import import_module
from typing import Any

# Names are imported on first use, so ``syncbench --help`` (which loads the CLI
# flags from ``cli.py``) does not pay for httpx and websockets.
_WHERE = {"ClientConfig": "config", "DeviceClient": "app", "resolve_policy": "app",
          "SpecClock": "clock", "ScriptAction": "script", "load_script": "script",
          "parse_action": "script", "parse_line": "script", "run_device": "script"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
