"""Closed vocabularies and protocol constants the engine shares with its drivers.

Theory of operation: every string the engine accepts from a driver or writes
into a trace comes from one of these sets, quoted from the fixed contracts
(spec/trace.md for trace vocabularies, the sync protocol for ``mode``). Inputs
validate against them when built, so a typo fails at the driver's call site,
not minutes later in a rule checker.
"""

from __future__ import annotations

# trace.md, `link` event: "the network type the OS reports now".
LINK_CLASSES = frozenset({"offline", "2g", "gprs", "edge", "3g", "hspa", "lte", "5g", "wifi"})
# trace.md: "Slow = 2g, gprs or edge. Fast = online and not slow."
SLOW_CLASSES = frozenset({"2g", "gprs", "edge"})
OFFLINE = "offline"
WIFI = "wifi"

# trace.md, `app` event.
APP_STATES = frozenset({"opened", "minimized", "restored", "closed"})
# trace.md, derived state: "opened/restored -> foreground, minimized -> background,
# closed -> closed".
FOREGROUND, BACKGROUND, CLOSED = "foreground", "background", "closed"
APP_TO_RUN_STATE = {
    "opened": FOREGROUND,
    "restored": FOREGROUND,
    "minimized": BACKGROUND,
    "closed": CLOSED,
}

# trace.md, `edit` event: "kind is text, photo or status".
EDIT_KINDS = frozenset({"text", "photo", "status"})
TEXT, PHOTO, STATUS = "text", "photo", "status"

# trace.md, `file_start`: "dir is up or down".
FILE_DIRS = frozenset({"up", "down"})
UP, DOWN = "up", "down"

# Sync protocol: "mode: full (upload changes and download the device's
# updates), upload (PlayMaker save: apply changes, return acks only),
# download (fetch only)".
SYNC_MODES = frozenset({"full", "upload", "download"})
FULL, UPLOAD_ONLY, DOWNLOAD_ONLY = "full", "upload", "download"

# trace.md, `sync_start`: "trigger is one of timer, open, status, manual, push,
# save, link, retry, login (others allowed)". The engine adds ``file``: the
# sync that delivers a photo change right after its upload completes, and
# ``wake``: the app started straight into the background while online.
TRIGGERS = ("timer", "open", "status", "manual", "push", "save", "link", "retry", "file", "wake")


def is_online(link_class: str) -> bool:
    return link_class != OFFLINE


def is_slow(link_class: str) -> bool:
    return link_class in SLOW_CLASSES


def is_fast(link_class: str) -> bool:
    return link_class != OFFLINE and link_class not in SLOW_CLASSES
