"""The reference sync server of syncbench (protocol: docs/protocol.md).

Theory of operation::

    cli.py / testing.py --> config.ServerConfig --> state.ServerState
                                                     |  store (SQLite, WAL) + blobs + tracer
                                                     |  core.SyncCore: the sync rules, no HTTP
    app.py, files_api.py (Starlette) ----------------+  push.PushHub (WebSocket /v1/push)

Public entry points:

- ``python -m reference_server [--db PATH] [--port 0] [--trace FILE] [--demo]``
  (also ``syncbench serve``);
- :func:`reference_server.testing.running_server` to run one on port 0 from
  Python, in-process or as a subprocess, and provision devices;
- :func:`reference_server.app.create_app` for the bare ASGI app;
- ``--mutant NAME`` (:mod:`reference_server.mutants`): a deliberately broken
  server, one guarantee off, for the bench's selftest.

The conformance suite that checks any server speaking the protocol is the
bench's (``syncbench conformance``, ``bench.testing.conformance``).

This package never imports ``bench``.
"""
