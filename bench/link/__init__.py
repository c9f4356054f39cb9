"""Link emulation: a Toxiproxy-compatible proxy, link profiles, timelines.

Layout (dependencies point down the list)::

    proxy/       the proxy server (API of Toxiproxy 2.x), one module per toxic
    profiles     the link profiles table (profiles.yaml) and profile → toxics
    timescale    time-scale checks (refuse a K the proxy cannot honour) and drift
    client       a client over toxiproxy-python for what it lacks (+ apply a profile)
    resolve      which server to use: TOXIPROXY_URL, a toxiproxy-server binary, or ours
    mobility     timelines and Markov mobility presets
    driver       moves one device's proxy through a timeline, emitting ``link`` events
    testing      loopback servers and timing helpers for tests
    conformance  the Toxiproxy API conformance suite, runnable against any server

See docs/links.md.
"""
