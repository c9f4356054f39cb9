"""Limits and defaults of the reference server, each a named constant.

Theory of operation: every number a request can run into lives here, so the
protocol document (docs/protocol.md, "Limits") and the code cannot drift apart
silently; the validator and the HTTP adapter import them from this one place.
"""

from __future__ import annotations

# "an oversized body (a documented limit, named constant)": 1 MiB holds 500
# text changes of ~2 KB each with room to spare; larger payloads are files and
# go through the resumable files endpoints instead.
MAX_JSON_BYTES = 1024 * 1024

# A phone that was offline for a long day holds a few hundred edits; 500 per
# request keeps one sync transaction short. Clients split bigger queues.
MAX_CHANGES_PER_SYNC = 500

# Bound on one response so a first sync of a huge scope does not build a
# multi-megabyte body; the client follows `more: true` with the new cursor.
MAX_RECORDS_PER_RESPONSE = 1000

# Photos and attachments in field service are a few MB; 512 MiB leaves room for
# videos while keeping a runaway upload from filling the disk.
MAX_FILE_BYTES = 512 * 1024 * 1024

# Ids appear in URLs and trace lines; 128 characters covers UUIDs with prefixes.
MAX_ID_LEN = 128

# A record's fields are a small flat object; these keep one record's JSON small.
MAX_FIELDS = 64
MAX_FIELD_NAME_LEN = 64
MAX_FIELD_VALUE_LEN = 16 * 1024

# Streaming unit for file bodies: big enough for few syscalls, small enough to
# never hold a file in memory ("Large bodies stream to/from disk").
FILE_CHUNK_BYTES = 64 * 1024

# Latency samples kept per route for the metrics quantiles.
METRICS_WINDOW = 4096

# Records the web list endpoint returns at most (the dispatcher's table view).
MAX_LIST_RECORDS = 10000

# Record types: Planado's jobs and worker reports, PlayMaker's accounts,
# contacts, referrals, events and call notes ("records of typed kinds").
RECORD_TYPES = frozenset(
    {"job", "report", "account", "contact", "referral", "event", "call_note"}
)
# A record a device creates without saying its type is a worker report.
DEFAULT_CREATED_TYPE = "report"
# The web application creates jobs unless told otherwise.
DEFAULT_WEB_TYPE = "job"

ROLES = frozenset({"dispatcher", "worker", "sales", "admin"})
# Roles whose devices sync and can be assigned records.
DEVICE_ROLES = frozenset({"worker", "sales"})
# Roles allowed into the web application API.
WEB_ROLES = frozenset({"dispatcher", "admin"})
# User and device ids provisioning refuses: the operator's name. The admin's
# identity itself is outside the id alphabet (auth.ADMIN_ID), so this keeps
# logs and traces readable rather than being the only guard.
RESERVED_NAMES = frozenset({"admin"})
