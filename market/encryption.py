"""Authenticated encryption at rest (AES-256-GCM) with a key derived per stored object.

Each object gets its own key, HKDF-SHA256(master key, info = purpose + object id), and the object
id is bound as associated data, so a blob moved to another id fails to decrypt.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from market.errors import DatasetCorrupted

MAGIC = b"DMENC1"
NONCE_BYTES = 12


class Encryptor:
    """Seals and opens blobs under keys derived from one master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        self._master_key = master_key

    def _key(self, object_id: str) -> AESGCM:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=object_id.encode())
        return AESGCM(hkdf.derive(self._master_key))

    def seal(self, object_id: str, plaintext: bytes) -> bytes:
        """Encrypt and authenticate `plaintext` for `object_id`."""
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._key(object_id).encrypt(nonce, plaintext, object_id.encode())
        return MAGIC + nonce + ciphertext

    def open(self, object_id: str, blob: bytes) -> bytes:
        """Decrypt `blob`; raise DatasetCorrupted if it was altered or belongs elsewhere."""
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_BYTES + 16:
            raise DatasetCorrupted(
                f"stored object {object_id} is not an encrypted market object; restore it from backup"
            )
        nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
        try:
            return self._key(object_id).decrypt(
                nonce, blob[len(MAGIC) + NONCE_BYTES :], object_id.encode()
            )
        except InvalidTag:
            raise DatasetCorrupted(
                f"stored object {object_id} failed authentication (altered or damaged); "
                "restore it from backup"
            ) from None
