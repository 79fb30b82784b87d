"""Password hashing with argon2 (argon2-cffi), cost set in the ini file."""

from __future__ import annotations

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordHasher:
    """Hash and verify passwords; ``verify`` never raises for a wrong password."""

    def __init__(self, time_cost: int = 3, memory_cost: int = 65536) -> None:
        self._argon2 = Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost)
        # Verified when the username is unknown, so a miss takes as long as a hit.
        self._decoy = self._argon2.hash("decoy password for unknown users")

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash or self._decoy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False
