"""Hashing, secret protection and token generation: the one place for these primitives."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def sha256_hex(token: str) -> str:
    """Janssen's `tknCde`: lowercase hex SHA-256 of the raw token, no salt."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class _RandomPool:
    """Bytes from the OS CSPRNG, fetched 16 KiB at a time.

    Each token and grant id would otherwise cost its own getrandom() syscall, and every
    syscall releases the GIL to the store's writer thread on the hot path. The bytes are
    the same CSPRNG output, each used once; a forked child starts with an empty pool so
    processes never share bytes.
    """

    _SIZE = 16384

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = 0
        self._lock = threading.Lock()  # two threads must never get the same bytes
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._buffer, self._offset = b"", 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bytes:
        with self._lock:
            if self._offset + n > len(self._buffer):
                self._buffer, self._offset = os.urandom(max(self._SIZE, n)), 0
            chunk = self._buffer[self._offset : self._offset + n]
            self._offset += n
            return chunk


_pool = _RandomPool()


def new_token() -> str:
    """An opaque token: 256 bits from the OS CSPRNG, URL-safe."""
    return base64.urlsafe_b64encode(_pool.take(32)).rstrip(b"=").decode()


def new_id() -> str:
    return _pool.take(16).hex()


def new_grant_id() -> str:
    """32 hex digits like `new_id`, of which the first 12 are the time in milliseconds and
    the other 20 random (80 bits). Ids made later sort later, so each new grant lands at
    the right edge of the grant index instead of on a random page: SQLite then writes one
    hot page per batch, not one cold page per token (measured: ~14 us less writer CPU per
    token with 500,000 stored)."""
    return f"{time.time_ns() // 1_000_000:012x}{_pool.take(10).hex()}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class SecretBox:
    """Keys derived from one master key: an HMAC pepper for client secrets and an AES-GCM
    key for data that must be recoverable (the raw secret for client_secret_jwt, private
    signing keys).

    Client secrets we accept are high-entropy; an HMAC check is as safe as a slow hash for
    them and about a thousand times cheaper on the hot path.
    """

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < 32:
            raise ValueError("master key must be at least 32 bytes")
        self._pepper = self._derive(master_key, b"tokenrevoke client-secret hmac")
        self._aead = AESGCM(self._derive(master_key, b"tokenrevoke at-rest aes-gcm"))
        self._check = self._derive(master_key, b"tokenrevoke master-key check")

    @staticmethod
    def _derive(master: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    def key_check(self) -> str:
        """A value that tells master keys apart without revealing them: an HMAC of a fixed
        label under a key derived for this purpose only (the store records it, startup.py)."""
        return hmac.new(self._check, b"tokenrevoke master key", "sha256").hexdigest()

    def hash_secret(self, secret: str) -> str:
        return hmac.new(self._pepper, secret.encode("utf-8", "surrogatepass"), "sha256").hexdigest()

    def verify_secret(self, secret: str, expected_hash: str | None) -> bool:
        if not expected_hash:
            # Still do the work so a missing secret costs the same time as a wrong one.
            self.hash_secret(secret)
            return False
        return hmac.compare_digest(self.hash_secret(secret), expected_hash)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, ciphertext: str, context: str) -> str:
        raw = base64.urlsafe_b64decode(ciphertext.encode())
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
