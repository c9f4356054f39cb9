"""``GET /metrics``: Prometheus text exposition of the per-route counters."""

from __future__ import annotations

import re

from reference_server.metrics import BUCKETS_S, Metrics


def auth(token):
    return {"Authorization": f"Bearer {token}"}


# One sample line of the text format: name, optional {labels}, value.
SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse(text: str) -> tuple[dict[str, str], dict[str, float]]:
    """{family: type}, {"name{labels}": value}; asserts every line is well formed."""
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line.startswith("# HELP "):
            assert len(line.split(" ", 3)) == 4
        else:
            m = SAMPLE.match(line)
            assert m, line
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return types, samples


def test_metrics_endpoint_serves_prometheus_text(client, srv):
    tok = srv.provision("prom-w1")
    for _ in range(3):
        client.post("/v1/sync", json={"device": "prom-w1", "cursor": None, "mode": "full"},
                    headers=auth(tok))
    client.post("/v1/sync", json={"device": "someone-else"}, headers=auth(tok))  # 403
    r = client.get("/metrics", headers=auth(srv.dispatcher_token))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    types, s = parse(r.text)
    assert types["syncbench_requests_total"] == "counter"
    assert types["syncbench_request_errors_total"] == "counter"
    assert types["syncbench_request_duration_seconds"] == "histogram"
    assert types["syncbench_push_connections"] == "gauge"
    route = '{route="POST /v1/sync"}'
    assert s["syncbench_requests_total" + route] >= 4
    assert s["syncbench_request_errors_total" + route] >= 1
    lab = 'route="POST /v1/sync"'
    buckets = [s[f'syncbench_request_duration_seconds_bucket{{{lab},le="{b!r}"}}']
               for b in BUCKETS_S]
    inf = s[f'syncbench_request_duration_seconds_bucket{{{lab},le="+Inf"}}']
    assert buckets == sorted(buckets) and buckets[-1] <= inf       # cumulative
    assert inf == s[f"syncbench_request_duration_seconds_count{{{lab}}}"]
    assert inf == s["syncbench_requests_total" + route]
    assert s[f"syncbench_request_duration_seconds_sum{{{lab}}}"] > 0
    # The JSON form is unchanged at its own path.
    assert client.get("/v1/metrics", headers=auth(srv.dispatcher_token)).json()["routes"]


def test_metrics_needs_a_dispatcher_or_admin_token(client, srv):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth(srv.provision("prom-w2"))).status_code == 403


def test_histogram_buckets_and_label_escaping():
    m = Metrics(clock=lambda: 5.0)
    m.record('GET /a"b\\c', 0.001, False)   # on a bound: counted in that bucket (le)
    m.record('GET /a"b\\c', 0.3, True)
    m.record('GET /a"b\\c', 60.0, False)    # above every bound: only +Inf
    types, s = parse(m.prometheus({"things": ("Things.", 2)}))
    lab = r'route="GET /a\"b\\c"'
    assert s[f'syncbench_request_duration_seconds_bucket{{{lab},le="0.001"}}'] == 1
    assert s[f'syncbench_request_duration_seconds_bucket{{{lab},le="0.25"}}'] == 1
    assert s[f'syncbench_request_duration_seconds_bucket{{{lab},le="0.5"}}'] == 2
    assert s[f'syncbench_request_duration_seconds_bucket{{{lab},le="10.0"}}'] == 2
    assert s[f'syncbench_request_duration_seconds_bucket{{{lab},le="+Inf"}}'] == 3
    assert s[f"syncbench_request_errors_total{{{lab}}}"] == 1
    assert s["syncbench_uptime_seconds"] == 0.0 and s["syncbench_things"] == 2
    assert types["syncbench_things"] == "gauge"
