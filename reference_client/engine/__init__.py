"""The sans-I/O sync engine: ``Engine``, its inputs and its actions.

Theory of operation: see ``core.py`` (the engine, with its sync attempts and
file transfers), ``table.py`` (the state machine), ``store.py`` (durable
state) and docs/engine.md. This package imports no I/O, clock, randomness or logging
module; tests/client/test_engine_boundary.py enforces it.
"""

from reference_client.engine.actions import (
    AbortSync,
    AbortTransfer,
    Action,
    Emit,
    SetTimer,
    ShowLastSync,
    ShowUnsent,
    StartSync,
    StartTransfer,
)
from reference_client.engine.core import SNAPSHOT_FORMAT, Engine
from reference_client.engine.inputs import (
    Ack,
    AppChanged,
    FileDone,
    FileProgress,
    FileRef,
    Input,
    LinkChanged,
    ManualSync,
    PushReceived,
    ServerRecord,
    SnapshotRequest,
    SyncFailed,
    SyncResponse,
    Tick,
    UserEdit,
)

__all__ = [
    "AbortSync", "AbortTransfer", "Ack", "Action", "AppChanged", "Emit", "Engine", "FileDone",
    "FileProgress", "FileRef", "Input", "LinkChanged", "ManualSync", "PushReceived",
    "SNAPSHOT_FORMAT", "ServerRecord", "SetTimer", "ShowLastSync", "ShowUnsent",
    "SnapshotRequest", "StartSync", "StartTransfer", "SyncFailed", "SyncResponse", "Tick",
    "UserEdit",
]
