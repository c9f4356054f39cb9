"""Bearer tokens: hashing, lookup and constant-time comparison.

Theory of operation: the server never stores a token, only its SHA-256. A
request's token is hashed, the hash finds a candidate principal in a dict, and
``hmac.compare_digest`` confirms it ("constant-time comparison via
hmac.compare_digest on a hash"); the dict lookup is on a hash the caller cannot
steer, so it leaks nothing about stored tokens. The table is loaded from the
store at start-up and extended when the admin provisions a device.

The operator's identity (:data:`ADMIN`) lives outside the id alphabet
(``validate.ident``: ``A-Za-z0-9._:@-``), so no provisioned user or device can
ever equal it: file ownership and push sockets are keyed by user and device,
and a worker provisioned as ``admin`` once downloaded the admin's uploads and
appended to its partial ones. ``admin`` is also refused at provisioning
(``limits.RESERVED_NAMES``) so that traces and logs stay unambiguous.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from reference_server.core import Principal
from reference_server.errors import ApiError

# 32 random bytes, URL-safe: the strength of a session token.
TOKEN_BYTES = 32
# "~" is not in the id alphabet: a name no request can provision.
ADMIN_ID = "~admin"
ADMIN = Principal(device=ADMIN_ID, user=ADMIN_ID, role="admin")
# What databases written before ADMIN_ID existed hold as the owner of the
# admin's files. Those rows are still the admin's while no user of that name
# exists (new ones cannot: it is reserved); if a user ``admin`` was provisioned
# back then, the rows are that user's, as nothing tells the two apart.
LEGACY_ADMIN_ID = "admin"


def owns(p: Principal, owner: str, legacy_admin_is_free: bool) -> bool:
    """Whether ``owner`` (a file's stored owner) is ``p``'s user.

    ``legacy_admin_is_free``: no provisioned user is named ``LEGACY_ADMIN_ID``.
    """
    if owner == p.user:
        return True
    return p is ADMIN and owner == LEGACY_ADMIN_ID and legacy_admin_is_free


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def new_token() -> str:
    # URL-safe base64 starts with "-" one time in 64, and a command line then
    # reads "--token -x..." as a missing value (argparse: "expected one
    # argument"); drawing again costs nothing and spares every CLI that trap.
    while True:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        if not token.startswith("-"):
            return token


class TokenTable:
    def __init__(self, miss: Callable[[bytes], Principal | None] | None = None) -> None:
        self._by_hash: dict[bytes, tuple[bytes, Principal]] = {}
        # Asked for a hash the table does not hold: a device another instance
        # on the same database provisioned (then remembered here).
        self._miss = miss

    def add(self, hashed: bytes, principal: Principal) -> None:
        self._by_hash[hashed] = (hashed, principal)

    def lookup(self, token: str | None) -> Principal | None:
        if not token:
            return None
        h = token_hash(token)
        hit = self._by_hash.get(h)
        if hit is None and self._miss is not None:
            found = self._miss(h)
            if found is not None:
                self.add(h, found)
                hit = self._by_hash[h]
        if hit is None or not hmac.compare_digest(hit[0], h):
            return None
        return hit[1]

    def from_header(self, header: str | None) -> Principal:
        if header is not None and header[:7].lower() == "bearer ":
            p = self.lookup(header[7:].strip())
            if p is not None:
                return p
        raise ApiError(401, "missing or invalid bearer token", "Authorization")
