"""The capture proxy's one error, importable without mitmproxy."""


class CaptureError(RuntimeError):
    """The capture proxy could not start; one line."""
