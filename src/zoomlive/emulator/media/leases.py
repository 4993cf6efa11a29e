"""Which media worker pushes which stream: leases in the store's PostgreSQL, and what workers
report of their streams (metrics, the latest frame, the active speaker).

A stream that is wanted (its state is not ``stopped``) and has no lease, or an expired one, is
claimed by the first worker with room that locks its ``livestreams`` row (``FOR UPDATE SKIP
LOCKED``: two workers never wait on, nor take, the same stream). The holder renews its leases
while it pushes; a worker that dies stops renewing, and another takes its streams over once
the leases expire. Times are PostgreSQL's (``now()``), so the workers' clocks need not agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.store.link import Link

Key = tuple[SessionKind, int]
UTC_NOW = "(now() AT TIME ZONE 'UTC')"


@dataclass(frozen=True)
class Claimed:
    """A stream a worker has just taken, and what its previous holder left of it."""

    key: Key
    previous: str | None
    """The worker whose lease had expired (a takeover), or None for a fresh start."""
    speaker: str | None


class LeaseRows:
    """The lease and report rows, on a link of their own (one statement at a time, reconnected
    when PostgreSQL comes back). Every method is one short transaction."""

    def __init__(self, link: Link) -> None:
        self._link = link

    def close(self) -> None:
        """Nothing of its own to close: the link is the store's."""

    def _rows(
        self, sql: str, params: tuple[Any, ...] = (), *, idempotent: bool = True
    ) -> list[tuple[Any, ...]]:
        def run(conn: Any) -> list[tuple[Any, ...]]:
            cursor = conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description is not None else []

        return self._link.run(run, idempotent=idempotent)

    # the worker's side --------------------------------------------------------------------------
    def claim(self, worker: str, lease_s: float, room: int) -> list[Claimed]:
        """Take up to ``room`` wanted streams that nobody holds (or whose lease expired)."""
        if room <= 0:
            return []
        rows = self._rows(
            f"""
            WITH wanted AS (
                SELECT l.kind, l.owner_id, s.worker AS previous
                FROM livestreams l
                LEFT JOIN stream_leases s ON s.kind = l.kind AND s.owner_id = l.owner_id
                WHERE l.state <> 'stopped' AND (s.worker IS NULL OR s.expires_at < {UTC_NOW})
                ORDER BY l.updated_at, l.kind, l.owner_id
                LIMIT %s
                FOR UPDATE OF l SKIP LOCKED
            ), taken AS (
                INSERT INTO stream_leases (kind, owner_id, worker, expires_at)
                SELECT kind, owner_id, %s, {UTC_NOW} + make_interval(secs => %s) FROM wanted
                ON CONFLICT (kind, owner_id) DO UPDATE
                    SET worker = excluded.worker, expires_at = excluded.expires_at
                    WHERE stream_leases.expires_at < {UTC_NOW}
                RETURNING kind, owner_id
            )
            SELECT t.kind, t.owner_id, w.previous, r.speaker
            FROM taken t
            JOIN wanted w ON w.kind = t.kind AND w.owner_id = t.owner_id
            LEFT JOIN stream_reports r ON r.kind = t.kind AND r.owner_id = t.owner_id
            """,
            (room, worker, lease_s),
            idempotent=False,  # a lost answer may hide a claim: the next renew adopts it
        )
        return [
            Claimed((kind, int(owner_id)), previous if previous != worker else None, speaker)
            for kind, owner_id, previous, speaker in rows
        ]

    def renew(self, worker: str, lease_s: float) -> set[Key]:
        """Extend this worker's leases on wanted streams; drop the ones on streams no longer
        wanted. Returns what it still holds."""
        self._rows(
            """
            DELETE FROM stream_leases s WHERE s.worker = %s AND NOT EXISTS (
                SELECT 1 FROM livestreams l
                WHERE l.kind = s.kind AND l.owner_id = s.owner_id AND l.state <> 'stopped')
            """,
            (worker,),
        )
        rows = self._rows(
            f"UPDATE stream_leases SET expires_at = {UTC_NOW} + make_interval(secs => %s) "
            "WHERE worker = %s RETURNING kind, owner_id",
            (lease_s, worker),
        )
        return {(kind, int(owner_id)) for kind, owner_id in rows}

    def release(self, worker: str, key: Key | None = None) -> None:
        """Give a stream (or every stream) back, for another worker to take at once."""
        if key is None:
            self._rows("DELETE FROM stream_leases WHERE worker = %s", (worker,))
        else:
            self._rows(
                "DELETE FROM stream_leases WHERE worker = %s AND kind = %s AND owner_id = %s",
                (worker, *key),
            )

    def report(
        self, worker: str, key: Key, metrics: dict[str, Any], thumbnail: bytes | None
    ) -> None:
        self._rows(
            f"""
            INSERT INTO stream_reports (kind, owner_id, worker, metrics, thumbnail, updated_at)
            VALUES (%s, %s, %s, %s, %s, {UTC_NOW})
            ON CONFLICT (kind, owner_id) DO UPDATE SET worker = excluded.worker,
                metrics = excluded.metrics,
                thumbnail = coalesce(excluded.thumbnail, stream_reports.thumbnail),
                updated_at = excluded.updated_at
            """,
            (*key, worker, json.dumps(metrics), thumbnail),
        )

    # the API's side -----------------------------------------------------------------------------
    def holder(self, key: Key) -> str | None:
        """The worker whose lease on the stream is current."""
        rows = self._rows(
            "SELECT worker FROM stream_leases WHERE kind = %s AND owner_id = %s "
            f"AND expires_at >= {UTC_NOW}",
            key,
        )
        return str(rows[0][0]) if rows else None

    def set_speaker(self, key: Key, name: str) -> None:
        """Remember the active speaker, for a worker that takes the stream over later."""
        self._rows(
            f"""
            INSERT INTO stream_reports (kind, owner_id, worker, speaker, updated_at)
            VALUES (%s, %s, '', %s, {UTC_NOW})
            ON CONFLICT (kind, owner_id) DO UPDATE SET speaker = excluded.speaker
            """,
            (*key, name),
        )

    def read_report(self, key: Key) -> tuple[str, dict[str, Any] | None, str | None] | None:
        """(worker, metrics, speaker) as last reported."""
        rows = self._rows(
            "SELECT worker, metrics, speaker FROM stream_reports WHERE kind = %s AND owner_id = %s",
            key,
        )
        if not rows:
            return None
        worker, metrics, speaker = rows[0]
        return str(worker), (json.loads(metrics) if metrics else None), speaker

    def thumbnail(self, key: Key) -> bytes | None:
        rows = self._rows(
            "SELECT thumbnail FROM stream_reports WHERE kind = %s AND owner_id = %s", key
        )
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def leases(self) -> list[dict[str, Any]]:
        """Every lease: which worker holds which stream, until when (the control API's view)."""
        rows = self._rows(
            f"SELECT kind, owner_id, worker, expires_at, expires_at >= {UTC_NOW} "
            "FROM stream_leases ORDER BY worker, kind, owner_id"
        )
        return [
            {
                "kind": kind,
                "id": int(owner_id),
                "worker": worker,
                "expires_at": expires.isoformat() + "Z",
                "current": bool(current),
            }
            for kind, owner_id, worker, expires, current in rows
        ]
