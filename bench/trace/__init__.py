"""The trace format every part of the bench speaks (``syncbench.trace/1``)."""

from bench.trace.reader import TraceError, TraceReader, read_meta, read_trace, validate_event
from bench.trace.schema import (
    APP_STATES,
    DISPATCH_OPS,
    EDIT_KINDS,
    FAST_CLASSES,
    FILE_DIRS,
    LINK_CLASSES,
    SCHEMA,
    SLOW_CLASSES,
    is_fast,
    is_slow,
)
from bench.trace.writer import TraceWriter, dumps, event, merge, meta, write_trace

__all__ = [
    "APP_STATES", "DISPATCH_OPS", "EDIT_KINDS", "FAST_CLASSES", "FILE_DIRS", "LINK_CLASSES",
    "SCHEMA", "SLOW_CLASSES", "TraceError", "TraceReader", "TraceWriter", "dumps", "event",
    "is_fast", "is_slow", "merge", "meta", "read_meta", "read_trace", "validate_event",
    "write_trace",
]
