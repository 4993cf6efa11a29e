"""One seedable source for ids, secrets and tokens, so a run can be reproduced when asked.

Production uses the operating system's randomness. Tests (or a user's fixture) pass ``seed=`` to
get the same ids and tokens every run.
"""

from __future__ import annotations

import random
import secrets
import string
import threading

_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "-_"


class Source:
    """Ids and tokens. Thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng: random.Random = (
            random.Random(seed) if seed is not None else secrets.SystemRandom()
        )
        self._lock = threading.Lock()

    def _choice(self, alphabet: str, n: int) -> str:
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(n))

    def webinar_id(self) -> int:
        """An 11-digit numeric id, like Zoom's webinar and meeting ids."""
        with self._lock:
            return self._rng.randrange(10_000_000_000, 99_999_999_999)

    def zoom_uuid(self) -> str:
        """A 22-character base64 id ending in ``==``, Zoom's meeting/webinar UUID shape."""
        return self._choice(_ALNUM, 22) + "=="

    def user_id(self) -> str:
        return self._choice(_URLSAFE, 22)

    def tracking_id(self) -> str:
        return "v=2.0;clid=us06;rid=WEB_" + self._choice("0123456789abcdef", 32)

    def token(self) -> str:
        return self._choice(_URLSAFE, 64)

    def password(self) -> str:
        return self._choice(_ALNUM, 8)
