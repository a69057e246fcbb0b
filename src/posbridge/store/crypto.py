"""Credentials at rest: AES-256-GCM, bound to the connection they belong to.

The connection id is the associated data, so a ciphertext copied onto another
connection's row fails to decrypt (RELIABILITY.md scenario 25) instead of silently
lending one merchant's credentials to another.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from posbridge.errors import StoreError

__all__ = ["Vault", "load_or_create_key"]

_VERSION = b"\x01"


def load_or_create_key(secret: str | None, key_file: Path) -> bytes:
    """A 32-byte key from `secret` (any string, hashed) or from a 0600 key file."""
    if secret:
        return hashlib.sha256(secret.encode()).digest()
    if key_file.exists():
        try:
            key = base64.urlsafe_b64decode(key_file.read_bytes().strip())
        except ValueError as exc:
            raise StoreError(f"key file {key_file} is not a posbridge key: {exc}") from None
        if len(key) != 32:
            raise StoreError(f"key file {key_file} is not a posbridge key (wrong length)")
        return key
    key = AESGCM.generate_key(bit_length=256)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.urlsafe_b64encode(key))
    return key


class Vault:
    """Encrypts and decrypts credential blobs for one key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        """Seal `plaintext` for the row identified by `context`."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> bytes:
        """Open a blob sealed for `context`; a wrong key or row is a clear error."""
        if not blob.startswith(_VERSION):
            raise StoreError("stored credentials use an unknown format version")
        nonce, sealed = blob[1:13], blob[13:]
        try:
            return self._aead.decrypt(nonce, sealed, context.encode())
        except InvalidTag:
            raise StoreError(
                "stored credentials cannot be decrypted: the secret key differs from the one "
                "they were saved with (set POSBRIDGE_SECRET_KEY or restore the key file), "
                "or the row was tampered with"
            ) from None
