"""``GET /metrics``: per-proxy byte counters in the Prometheus text format (extension).

The byte counters carry upstream Toxiproxy's own metric names (its optional
``/metrics`` endpoint), so dashboards built for one read the other:
``received`` counts bytes read from a stream's source, ``sent`` bytes written
to its destination; the difference is what toxics hold or dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.link.proxy.registry import Registry

_HEADERS = (
    ("toxiproxy_proxy_received_bytes_total", "counter", "Bytes read from the stream's source."),
    ("toxiproxy_proxy_sent_bytes_total", "counter", "Bytes written to the stream's destination."),
    ("syncbench_proxy_connections_total", "counter", "Client connections accepted."),
    ("syncbench_proxy_connections_open", "gauge", "Client connections open now."),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(reg: Registry) -> str:
    rows: dict[str, list[str]] = {name: [] for name, _, _ in _HEADERS}
    for proxy in reg.proxies.values():
        base = f'proxy="{_label(proxy.name)}",listener="{_label(proxy.listen)}",upstream="{_label(proxy.upstream)}"'
        for direction, counter in proxy.counters.items():
            labels = f'{{direction="{direction}",{base}}}'
            rows["toxiproxy_proxy_received_bytes_total"].append(f"{labels} {counter.received}")
            rows["toxiproxy_proxy_sent_bytes_total"].append(f"{labels} {counter.sent}")
        rows["syncbench_proxy_connections_total"].append(f"{{{base}}} {proxy.accepted}")
        rows["syncbench_proxy_connections_open"].append(f"{{{base}}} {len(proxy.connections)}")
    out = []
    for name, kind, help_text in _HEADERS:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{row}" for row in rows[name])
    return "\n".join(out) + "\n"
