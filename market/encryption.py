"""Authenticated encryption at rest: chunked AES-256-GCM under a key derived per stored object.

Format 2 (written today), after Hoang, Reyhanitabar, Rogaway and Vizár's STREAM construction
("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015):

    header = b"DMENC2" | key id (8 bytes) | salt (16 bytes) | chunk size (4 bytes, big-endian)
    body   = chunk 0 | chunk 1 | ... | final chunk      (each: ciphertext + 16-byte GCM tag)

The object key is HKDF-SHA256(master key, salt, info = label + object id): unique per blob, so the
nonces (an 11-byte chunk counter and a final-chunk flag) never repeat under one key. Each chunk
authenticates the header and the object id as associated data, so a chunk moved, reordered,
dropped or appended, a blob moved to another id, or a header edited fails to open. The key id
names the master key that sealed the blob, so during a key rotation readers pick the right key.

Format 1 (`DMENC1 | nonce | ciphertext`, one GCM message, key HKDF(master, info = object id))
is still read, under any key of the ring, until `datamarket storage rotate-key` rewrites it.
"""

import hashlib
import hmac
import io
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from market.errors import DatasetCorrupted

MAGIC_V1 = b"DMENC1"
MAGIC = b"DMENC2"
MAGIC_BYTES = len(MAGIC)
KEY_ID_BYTES = 8
SALT_BYTES = 16
HEADER = struct.Struct(f">{MAGIC_BYTES}s{KEY_ID_BYTES}s{SALT_BYTES}sI")
NONCE_BYTES = 12
TAG_BYTES = 16
CHUNK_BYTES = 64 * 1024
MAX_CHUNK_BYTES = 16 * 1024 * 1024
OBJECT_KEY_LABEL = b"datamarket object v2\x00"


def key_id_of(master_key: bytes) -> str:
    """A public fingerprint of a master key (16 hex characters) that reveals nothing of it."""
    return hmac.new(master_key, b"datamarket master key id", hashlib.sha256).hexdigest()[:16]


def _nonce(counter: int, final: bool) -> bytes:
    return counter.to_bytes(NONCE_BYTES - 1, "big") + (b"\x01" if final else b"\x00")


def _rechunk(pieces: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """Pieces of any length regrouped into `size`-byte chunks, each with a flag: is it the last?"""
    pending = bytearray()
    ready: bytes | None = None  # a full chunk held back until we know whether more follows
    for piece in pieces:
        view = memoryview(piece)
        offset = 0
        while len(pending) + len(view) - offset >= size:
            take = size - len(pending)
            chunk = (
                bytes(pending + view[offset : offset + take])
                if pending
                else bytes(view[offset : offset + take])
            )
            pending.clear()
            offset += take
            if ready is not None:
                yield ready, False
            ready = chunk
        pending += view[offset:]
    if ready is not None:
        if not pending:
            yield ready, True
            return
        yield ready, False
    yield bytes(pending), True


def read_pieces(handle: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """A file's bytes as pieces of at most `size` bytes."""
    while piece := handle.read(size):
        yield piece


class Encryptor:
    """Seals blobs under the current master key; opens blobs sealed under any key it holds.

    `previous_keys` are kept only for reading while `rotate-key` re-encrypts what they sealed.
    """

    def __init__(
        self,
        master_key: bytes,
        previous_keys: Sequence[bytes] = (),
        *,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        for key in (master_key, *previous_keys):
            if len(key) != 32:
                raise ValueError("master keys must be 32 bytes")
        if not 0 < chunk_bytes <= MAX_CHUNK_BYTES:
            raise ValueError(f"chunk size must be between 1 and {MAX_CHUNK_BYTES} bytes")
        self._master_key = master_key
        self._chunk_bytes = chunk_bytes
        self._keys = {key_id_of(k): k for k in (*previous_keys, master_key)}
        self.key_id = key_id_of(master_key)

    @property
    def key_ids(self) -> frozenset[str]:
        """Ids of every master key this encryptor can open blobs with."""
        return frozenset(self._keys)

    def seal(self, object_id: str, plaintext: bytes) -> bytes:
        """Encrypt and authenticate `plaintext` for `object_id` (format 2)."""
        return b"".join(self.seal_stream(object_id, [plaintext]))

    def seal_stream(self, object_id: str, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """The sealed blob of the concatenated `pieces`, header first, one chunk at a time."""
        salt = os.urandom(SALT_BYTES)
        header = HEADER.pack(MAGIC, bytes.fromhex(self.key_id), salt, self._chunk_bytes)
        aead = _object_key(self._master_key, salt, object_id)
        aad = header + object_id.encode()
        yield header
        for counter, (chunk, final) in enumerate(_rechunk(pieces, self._chunk_bytes)):
            yield aead.encrypt(_nonce(counter, final), chunk, aad)

    def open(self, object_id: str, blob: bytes) -> bytes:
        """Decrypt `blob`; raise DatasetCorrupted if it was altered or belongs elsewhere."""
        if blob.startswith(MAGIC_V1):
            return self._open_v1(object_id, blob)
        return b"".join(self._open_v2(object_id, io.BytesIO(blob)))

    def open_stream(self, object_id: str, handle: BinaryIO) -> Iterator[bytes]:
        """The plaintext of a sealed file, chunk by chunk, each authenticated before it is yielded.

        A blob cut short or extended fails at its end, so a consumer that must not act on part of
        an object reads it whole (`open`) or discards what it got when the stream raises.
        """
        start = handle.tell()
        if handle.read(len(MAGIC_V1)) == MAGIC_V1:
            handle.seek(start)
            yield self._open_v1(object_id, handle.read())
            return
        handle.seek(start)
        yield from self._open_v2(object_id, handle)

    def sealed_key_id(self, object_id: str, head: bytes) -> str | None:
        """The id of the key that sealed a blob starting with `head`; None for format 1."""
        if head.startswith(MAGIC_V1):
            return None
        if len(head) < HEADER.size or not head.startswith(MAGIC):
            raise _not_ours(object_id)
        key_id: bytes = HEADER.unpack_from(head)[1]
        return key_id.hex()

    def _open_v1(self, object_id: str, blob: bytes) -> bytes:
        if len(blob) < MAGIC_BYTES + NONCE_BYTES + TAG_BYTES:
            raise _not_ours(object_id)
        nonce = blob[MAGIC_BYTES : MAGIC_BYTES + NONCE_BYTES]
        for key in self._keys.values():
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=object_id.encode())
            try:
                return AESGCM(hkdf.derive(key)).decrypt(
                    nonce, blob[MAGIC_BYTES + NONCE_BYTES :], object_id.encode()
                )
            except InvalidTag:
                continue
        raise _altered(object_id)

    def _open_v2(self, object_id: str, handle: BinaryIO) -> Iterator[bytes]:
        header = _read_exactly(handle, HEADER.size)
        if len(header) < HEADER.size or not header.startswith(MAGIC):
            raise _not_ours(object_id)
        _, key_id, salt, chunk_bytes = HEADER.unpack(header)
        master = self._keys.get(key_id.hex())
        if master is None:
            raise DatasetCorrupted(
                f"stored object {object_id} was sealed under master key {key_id.hex()}, which "
                "this market does not hold; add it to DATAMARKET_PREVIOUS_MASTER_KEYS or restore "
                "the object from backup"
            )
        if not 0 < chunk_bytes <= MAX_CHUNK_BYTES:
            raise _altered(object_id)
        aead = _object_key(master, salt, object_id)
        aad = header + object_id.encode()
        sealed = _read_exactly(handle, chunk_bytes + TAG_BYTES)
        counter = 0
        while True:
            # Reading one chunk ahead tells whether this one is the last (its nonce says so).
            following = _read_exactly(handle, chunk_bytes + TAG_BYTES)
            final = not following
            try:
                yield aead.decrypt(_nonce(counter, final), sealed, aad)
            except InvalidTag:
                raise _altered(object_id) from None
            if final:
                return
            sealed, counter = following, counter + 1


def _read_exactly(handle: BinaryIO, size: int) -> bytes:
    """The next `size` bytes, or fewer only at the end of the file."""
    data = handle.read(size)
    while 0 < len(data) < size:
        more = handle.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _object_key(master_key: bytes, salt: bytes, object_id: str) -> AESGCM:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=OBJECT_KEY_LABEL + object_id.encode(),
    )
    return AESGCM(hkdf.derive(master_key))


def _not_ours(object_id: str) -> DatasetCorrupted:
    return DatasetCorrupted(
        f"stored object {object_id} is not an encrypted market object; restore it from backup"
    )


def _altered(object_id: str) -> DatasetCorrupted:
    return DatasetCorrupted(
        f"stored object {object_id} failed authentication (altered or damaged); "
        "restore it from backup"
    )
