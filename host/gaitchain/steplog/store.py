"""The host's step store: an embedded SQLite database of clients, pods, sync sessions, step-log
blocks and step records (write-ahead log; `durable` before a pod is told to free its flash).

Blocks are keyed by (pod, seq) and written with their steps in one transaction, so a sync that is
interrupted at any moment leaves whole blocks only, and a block received twice is stored once.

`seq` is the store's numbering of a pod's blocks: the pod's own block number plus the start of
the pod's log it came from (`pod_logs`). A pod whose flash was erased numbers its blocks from 0
again under a new log id; the store begins a new log for it after everything it holds, so the
new blocks are stored, not taken for duplicates, and nothing stored before changes.
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .records import IMPACT_UNIT_G, LOADING_UNIT_GPS, SATURATED, STANCE_UNIT_MS, StepBlock

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS clients (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS pods (
    pod_id INTEGER PRIMARY KEY,
    client_id INTEGER REFERENCES clients(id),
    segment TEXT NOT NULL DEFAULT 'unassigned',
    side TEXT NOT NULL DEFAULT 'center',
    last_sync_unix_s REAL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    pod_id INTEGER NOT NULL,
    transport TEXT NOT NULL,
    started_unix_s REAL NOT NULL,
    finished_unix_s REAL,
    blocks INTEGER NOT NULL DEFAULT 0,
    steps INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS blocks (
    pod_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    boot_id INTEGER NOT NULL,
    start_unix_ms INTEGER,
    record_count INTEGER NOT NULL,
    session_id INTEGER REFERENCES sessions(id),
    PRIMARY KEY (pod_id, seq)
);
CREATE TABLE IF NOT EXISTS steps (
    pod_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    t_unix_ms INTEGER,
    stance_ms INTEGER,
    impact_g REAL NOT NULL,
    loading_gps INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    PRIMARY KEY (pod_id, seq, idx)
);
CREATE INDEX IF NOT EXISTS steps_by_time ON steps (pod_id, t_unix_ms);
CREATE TABLE IF NOT EXISTS pod_logs (
    pod_id INTEGER NOT NULL,
    seq_base INTEGER NOT NULL,
    log_id INTEGER,
    started_unix_s REAL NOT NULL,
    PRIMARY KEY (pod_id, seq_base)
);
"""


@dataclass(frozen=True)
class ClientSteps:
    """Every timed step of a client's pods in a time range, sorted by time."""

    t_unix_ms: NDArray[np.int64]
    side: NDArray[np.str_]
    stance_ms: NDArray[np.float64]
    """NaN where the stance was open (the foot stayed down: the bout ended)."""
    impact_g: NDArray[np.float64]
    flags: NDArray[np.int64]


class StepStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path)
        except sqlite3.Error as error:
            raise OSError(f"cannot open the step store {self.path}: {error}") from error
        # Write-ahead log, synced at checkpoints: a block commit costs no fsync, and `durable`
        # syncs everything before the pod is told it may free its flash.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def durable(self) -> None:
        """Make every commit so far survive a power cut of the host (checkpoint and fsync)."""
        self.db.execute("PRAGMA wal_checkpoint(FULL)")

    def close(self) -> None:
        self.db.close()

    # -- clients and pods --------------------------------------------------------------------
    def client_id(self, name: str, create: bool = False) -> int:
        row = self.db.execute("SELECT id FROM clients WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        if not create:
            known = [r[0] for r in self.db.execute("SELECT name FROM clients ORDER BY name")]
            raise ValueError(
                f"no client named {name!r} in {self.path}; known: {', '.join(known) or 'none'} "
                "(a client is added by `gaitchain sync --client NAME`)"
            )
        with self.db as db:
            cursor = db.execute("INSERT INTO clients (name) VALUES (?)", (name,))
        return int(cursor.lastrowid or 0)

    def set_pod(self, pod_id: int, segment: str, side: str, client: str | None = None) -> None:
        client_id = self.client_id(client, create=True) if client is not None else None
        with self.db as db:
            db.execute(
                "INSERT INTO pods (pod_id, segment, side, client_id) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(pod_id) DO UPDATE SET segment = excluded.segment, "
                "side = excluded.side, client_id = COALESCE(excluded.client_id, pods.client_id)",
                (pod_id, segment, side, client_id),
            )

    def pods_of(self, client: str) -> list[tuple[int, str, str]]:
        """(pod_id, segment, side) of every pod assigned to `client`."""
        client_id = self.client_id(client)
        rows = self.db.execute(
            "SELECT pod_id, segment, side FROM pods WHERE client_id = ? ORDER BY pod_id",
            (client_id,),
        )
        return [(int(p), str(seg), str(side)) for p, seg, side in rows]

    # -- sync -------------------------------------------------------------------------------
    def begin_session(self, pod_id: int, transport: str, now_unix_s: float) -> int:
        with self.db as db:
            cursor = db.execute(
                "INSERT INTO sessions (pod_id, transport, started_unix_s) VALUES (?, ?, ?)",
                (pod_id, transport, now_unix_s),
            )
        return int(cursor.lastrowid or 0)

    def finish_session(self, session_id: int, now_unix_s: float, complete: bool) -> None:
        with self.db as db:
            db.execute(
                "UPDATE sessions SET finished_unix_s = ?, complete = ? WHERE id = ?",
                (now_unix_s, int(complete), session_id),
            )
            db.execute(
                "UPDATE pods SET last_sync_unix_s = ? WHERE pod_id = "
                "(SELECT pod_id FROM sessions WHERE id = ?)",
                (now_unix_s, session_id),
            )

    def next_seq(self, pod_id: int) -> int:
        """One past the highest block stored for the pod (0 when none)."""
        row = self.db.execute("SELECT MAX(seq) FROM blocks WHERE pod_id = ?", (pod_id,)).fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def first_missing(self, pod_id: int, from_seq: int) -> int:
        """The lowest seq >= `from_seq` not stored for the pod."""
        row = self.db.execute(
            "SELECT 1 FROM blocks WHERE pod_id = ? AND seq = ?", (pod_id, from_seq)
        ).fetchone()
        if row is None:
            return from_seq
        row = self.db.execute(
            "SELECT MIN(b.seq) + 1 FROM blocks b WHERE b.pod_id = ? AND b.seq >= ? AND NOT "
            "EXISTS (SELECT 1 FROM blocks c WHERE c.pod_id = b.pod_id AND c.seq = b.seq + 1)",
            (pod_id, from_seq),
        ).fetchone()
        return int(row[0])

    def current_log(self, pod_id: int) -> tuple[int | None, int] | None:
        """(log id or None when the pod did not say, seq base) of the pod's newest log, or None
        when none was begun (a new pod, or a store from before log ids)."""
        row = self.db.execute(
            "SELECT log_id, seq_base FROM pod_logs WHERE pod_id = ? ORDER BY seq_base DESC LIMIT 1",
            (pod_id,),
        ).fetchone()
        if row is None:
            return None
        return (None if row[0] is None else int(row[0])), int(row[1])

    def begin_log(self, pod_id: int, log_id: int | None, seq_base: int, now_unix_s: float) -> None:
        """The pod's blocks from now on are stored at `seq_base` + their number."""
        with self.db as db:
            db.execute(
                "INSERT INTO pod_logs (pod_id, seq_base, log_id, started_unix_s) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(pod_id, seq_base) DO UPDATE SET "
                "log_id = excluded.log_id",
                (pod_id, seq_base, log_id, now_unix_s),
            )

    def add_block(self, block: StepBlock, start_unix_ms: int | None, session_id: int) -> bool:
        """Store a block and its steps atomically; False if the block was already stored."""
        steps = block.steps()
        stance = [
            None if s == SATURATED else int(s) * STANCE_UNIT_MS
            for s in steps["stance_4ms"].tolist()
        ]
        times = (
            [None] * len(steps)
            if start_unix_ms is None
            else [start_unix_ms + int(t) for t in steps["t_ms"].tolist()]
        )
        rows = [
            (
                block.pod_id,
                block.seq,
                i,
                times[i],
                stance[i],
                int(steps["impact_g16"][i]) * IMPACT_UNIT_G,
                int(steps["loading"][i]) * LOADING_UNIT_GPS,
                int(steps["flags"][i]),
            )
            for i in range(len(steps))
        ]
        with self.db as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO blocks (pod_id, seq, boot_id, start_unix_ms, record_count,"
                " session_id) VALUES (?, ?, ?, ?, ?, ?)",
                (block.pod_id, block.seq, block.boot_id, start_unix_ms, len(steps), session_id),
            )
            if cursor.rowcount == 0:
                return False
            db.executemany("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute(
                "UPDATE sessions SET blocks = blocks + 1, steps = steps + ? WHERE id = ?",
                (len(steps), session_id),
            )
        return True

    def counts(self, pod_id: int) -> tuple[int, int, int]:
        """(blocks, steps, distinct (seq, idx) pairs) stored for a pod."""
        blocks = self.db.execute("SELECT COUNT(*) FROM blocks WHERE pod_id = ?", (pod_id,))
        steps = self.db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT seq * 1000 + idx) FROM steps WHERE pod_id = ?",
            (pod_id,),
        ).fetchone()
        return int(blocks.fetchone()[0]), int(steps[0]), int(steps[1])

    # -- reports ------------------------------------------------------------------------------
    def client_steps(self, client: str, since_unix_ms: int, until_unix_ms: int) -> ClientSteps:
        client_id = self.client_id(client)
        rows = self.db.execute(
            "SELECT s.t_unix_ms, p.side, s.stance_ms, s.impact_g, s.flags FROM steps s "
            "JOIN pods p ON p.pod_id = s.pod_id WHERE p.client_id = ? AND s.t_unix_ms >= ? "
            "AND s.t_unix_ms < ? ORDER BY s.t_unix_ms",
            (client_id, since_unix_ms, until_unix_ms),
        ).fetchall()
        return ClientSteps(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.str_),
            np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64),
            np.array([r[3] for r in rows], dtype=np.float64),
            np.array([r[4] for r in rows], dtype=np.int64),
        )
