"""Short-lived signed download URLs, bound to one licence, one revision of its dataset and the
buyer who holds the licence (pure).

    token = licence id "." revision "." expiry (Unix seconds) "." base64url(HMAC-SHA256(url key,
            message))
    message = "download" NUL licence id NUL buyer id NUL expiry NUL revision

The buyer's id is signed but not written in the token: the server recomputes the signature with
the id of whoever presents the token (authenticated by their API key), so a token works for the
buyer it was made for and no one else. The URL key is HKDF-SHA256(master key, info = label).
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from market.errors import Forbidden, MarketError

URL_KEY_LABEL = b"datamarket download url v1"
VALID_SECONDS = 300
_TOKEN = re.compile(
    r"^([A-Za-z0-9_-]{1,64})\.([1-9][0-9]{0,9})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$"
)


@dataclass(frozen=True)
class Granted:
    """What a valid token grants: one revision under one licence."""

    licence_id: str
    revision: int


class DownloadLinkRefused(Forbidden):
    title = "Download link not valid"


class DownloadLinkExpired(MarketError):
    status = 410
    title = "Download link expired"


def url_key(master_key: bytes) -> bytes:
    """The signing key of download URLs, derived apart from every storage and fingerprint key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=URL_KEY_LABEL)
    return hkdf.derive(master_key)


def _signature(key: bytes, licence_id: str, buyer_id: str, expires: int, revision: int) -> str:
    message = f"download\x00{licence_id}\x00{buyer_id}\x00{expires}\x00{revision}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, *, licence_id: str, revision: int, buyer_id: str, expires: int) -> str:
    """A token for revision `revision` under `licence_id`, usable by `buyer_id` until Unix time
    `expires`."""
    signature = _signature(key, licence_id, buyer_id, expires, revision)
    return f"{licence_id}.{revision}.{expires}.{signature}"


def open_token(keys: Sequence[bytes], token: str, *, buyer_id: str, now: int) -> Granted:
    """The licence and revision a token grants to `buyer_id` at Unix time `now`.

    Raises DownloadLinkRefused if the token is malformed, altered or made for another buyer,
    DownloadLinkExpired if it was valid but its time is over. Any key of the ring may have
    signed it (a master-key rotation does not cut links already handed out).
    """
    parsed = _TOKEN.fullmatch(token)
    if parsed is None:
        raise _refused()
    licence_id, revision_text, expires_text, presented = parsed.groups()
    revision, expires = int(revision_text), int(expires_text)
    valid = False
    for key in keys:
        expected = _signature(key, licence_id, buyer_id, expires, revision)
        # Every key is tried, and compared in constant time, so timing says nothing of which.
        valid |= hmac.compare_digest(expected.encode(), presented.encode())
    if not valid:
        raise _refused()
    if now >= expires:
        raise DownloadLinkExpired(
            "this download link has expired (links last a few minutes); ask for a new one with "
            f"POST /licences/{licence_id}/download-url"
        )
    return Granted(licence_id, revision)


def _refused() -> DownloadLinkRefused:
    return DownloadLinkRefused(
        "this download link is not valid for your API key: it was altered or made for another "
        "buyer; the holder of the licence can ask for one with POST /licences/{id}/download-url"
    )
