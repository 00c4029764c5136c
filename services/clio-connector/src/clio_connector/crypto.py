"""Clio tokens and webhook secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, authenticated)
under ``TOKEN_ENCRYPTION_KEY``. Several keys, comma-separated, rotate: the first encrypts, any
decrypts, so old rows stay readable until they are written again."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class MissingEncryptionKey(RuntimeError):
    """The service has no key to encrypt Clio tokens with, and refuses to run without one."""


class UndecryptableSecret(RuntimeError):
    """A stored secret cannot be decrypted with the configured keys (a key was removed)."""


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parts = [key.strip() for key in keys.split(",") if key.strip()]
        if not parts:
            raise MissingEncryptionKey(
                "TOKEN_ENCRYPTION_KEY is not set: Clio tokens must be encrypted at rest. "
                "Generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in parts])
        except ValueError as error:
            raise MissingEncryptionKey(
                f"TOKEN_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64 bytes): {error}"
            ) from error

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(ciphertext)).decode()
        except InvalidToken as error:
            raise UndecryptableSecret(
                "a stored Clio secret cannot be decrypted with TOKEN_ENCRYPTION_KEY"
            ) from error
