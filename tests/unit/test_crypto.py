"""Token codes, secret HMACs, encryption at rest."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidTag

from tokenrevoke.crypto import SecretBox, new_token, sha256_hex


def test_token_code_is_janssens_unsalted_sha256_hex() -> None:
    assert sha256_hex("abc") == hashlib.sha256(b"abc").hexdigest()


def test_tokens_are_long_and_unique() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(len(t) >= 43 for t in tokens)


def test_secret_hash_checks_and_is_keyed() -> None:
    box = SecretBox(b"k" * 32)
    digest = box.hash_secret("s3cret-value")
    assert box.verify_secret("s3cret-value", digest)
    assert not box.verify_secret("s3cret-valuf", digest)
    assert not box.verify_secret("s3cret-value", None)
    assert SecretBox(b"j" * 32).hash_secret("s3cret-value") != digest
    assert "s3cret" not in digest


def test_encryption_is_bound_to_its_context() -> None:
    box = SecretBox(b"k" * 32)
    sealed = box.encrypt("raw secret", "client-secret:a")
    assert "raw secret" not in sealed
    assert box.decrypt(sealed, "client-secret:a") == "raw secret"
    with pytest.raises(InvalidTag):
        box.decrypt(sealed, "client-secret:b")


def test_short_master_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        SecretBox(b"short")


def test_pooled_randomness_never_repeats_across_threads_or_forks() -> None:
    import os
    import threading

    from tokenrevoke.crypto import new_id

    seen: list[str] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [new_token() for _ in range(2000)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == len(seen) == 8000
    read, write = os.pipe()
    parent_next = new_id()
    pid = os.fork()
    if pid == 0:  # the child must not replay the parent's buffered bytes
        os.write(write, new_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child_next = os.read(read, 64).decode()
    assert child_next != parent_next and child_next != new_id()
