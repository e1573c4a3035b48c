"""The classroom's state: learners, budgets, spending, reservations, progress, and who owns which batch and
file, in SQLite.

``Store`` is the small interface the server uses; ``SqliteStore`` is the one implementation.
Every change is one transaction (``BEGIN IMMEDIATE``: one writer at a time, also across
processes), so the roster commands (``topup``, ``cap``, ``roster add``) can change a
running server's database, and a server stopped at any moment loses nothing it answered.

Reservations. Before a call is forwarded, the most it can cost is reserved in the same
transaction that checks the learner's budget and the class cap (``reserve``); when the
usage is known it is replaced by what the call cost (``settle``). Each reservation carries
the id of the server run that made it. A run that ends without settling (a crash, a kill)
leaves them behind: the next run (``recover``) settles every reservation of another run at
its full bound, since the API may have answered and billed those calls. This is right for
one server per database; several servers sharing one database would instead settle only
the runs that stopped sending heartbeats (see the README).
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

from . import tokens as tk

SCHEMA = """
CREATE TABLE IF NOT EXISTS learners (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL,
    budget_nano INTEGER,            -- NULL: no dollar limit
    budget_tokens INTEGER,          -- NULL: no token limit
    spent_nano INTEGER NOT NULL DEFAULT 0,
    used_tokens INTEGER NOT NULL DEFAULT 0,
    held_nano INTEGER NOT NULL DEFAULT 0,
    held_tokens INTEGER NOT NULL DEFAULT 0,
    calls INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,   -- all of them, lesson errors and refusals included
    lesson_errors INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0,  -- refused for the learner's budget since it last changed
    last_error TEXT,
    last_error_refused INTEGER NOT NULL DEFAULT 0,  -- last_error is a refusal for the learner's budget
    last_seen REAL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY,
    learner_id INTEGER NOT NULL REFERENCES learners(id),
    run_id TEXT NOT NULL,
    nano INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS progress (
    learner_id INTEGER NOT NULL REFERENCES learners(id),
    exercise TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    failures_since_pass INTEGER NOT NULL DEFAULT 0,
    passed INTEGER NOT NULL DEFAULT 0,   -- passed at least once
    last_passed INTEGER NOT NULL DEFAULT 0,
    last_at REAL NOT NULL,
    PRIMARY KEY (learner_id, exercise)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
-- Every call the server answered for a learner, by its request id: what a grader's report may point to.
CREATE TABLE IF NOT EXISTS calls (
    request_id TEXT PRIMARY KEY,
    learner_id INTEGER NOT NULL REFERENCES learners(id),
    at REAL NOT NULL,
    status INTEGER NOT NULL,
    shape TEXT NOT NULL             -- JSON: what the request was like (see proxy.request_shape)
);
-- A Message Batch a learner created: only they may read it, and its reservation is settled from its results.
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    learner_id INTEGER NOT NULL REFERENCES learners(id),
    reservation INTEGER,            -- NULL once settled
    created REAL NOT NULL
);
-- A file a learner uploaded: only they may see it or use it. ``id`` is NULL while the upload is on its way: its
-- size already counts against the learner's storage, so that uploads at the same time cannot pass it together.
CREATE TABLE IF NOT EXISTS files (
    row INTEGER PRIMARY KEY,
    id TEXT UNIQUE,
    learner_id INTEGER NOT NULL REFERENCES learners(id),
    size_bytes INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    created REAL NOT NULL
);
-- An exercise cell's run, opened by the kit when the cell starts: calls made since may vouch for its pass.
CREATE TABLE IF NOT EXISTS attempts (
    id TEXT PRIMARY KEY,
    learner_id INTEGER NOT NULL REFERENCES learners(id),
    exercise TEXT NOT NULL,
    started REAL NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0
);
"""
# Columns added since the first release, for a database made by it (an instructor keeps theirs across versions).
MAX_ERROR_CHARS = 500

ADDED_COLUMNS = (
    ("learners", "lesson_errors", "INTEGER NOT NULL DEFAULT 0"),
    ("learners", "refused", "INTEGER NOT NULL DEFAULT 0"),
    ("learners", "last_error_refused", "INTEGER NOT NULL DEFAULT 0"),
    ("reservations", "kind", "TEXT NOT NULL DEFAULT 'call'"),  # 'batch': held until the batch's results are read
    ("progress", "verified", "INTEGER NOT NULL DEFAULT 0"),  # passed at least once with evidence the server saw
    ("progress", "last_verified", "INTEGER NOT NULL DEFAULT 0"),
)
"""Columns newer than the first release: added on open to a database made before them (instructors keep theirs
across versions). Errors counted before ``lesson_errors`` existed stay problems."""

LESSON_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error", 413: "request_too_large"}
_API_ERROR = re.compile(r"^HTTP (\d{3}) (\w+):(.*)", re.DOTALL)


def is_lesson_error(error: str) -> bool:
    """Whether a recorded error is one the learner's own request caused, as the lessons cause some on purpose
    (a bad parameter, an unknown model, a request too large), rather than trouble with the server, the
    instructor's account or the network, which the instructor should look at.

    Recorded errors read ``HTTP <status> <type>: <message>`` for an API answer; anything else (a connection
    lost, a stream broken) is trouble. The API says "credit balance is too low" with a 400: that one is about
    the instructor's account."""
    found = _API_ERROR.match(error)
    if found is None:
        return False
    status, error_type, message = int(found.group(1)), found.group(2), found.group(3)
    return LESSON_ERROR_TYPES.get(status) == error_type and "credit balance" not in message.lower()


@dataclass
class Learner:
    id: int
    name: str
    budget_nano: Optional[int]
    budget_tokens: Optional[int]
    spent_nano: int = 0
    used_tokens: int = 0
    held_nano: int = 0
    held_tokens: int = 0
    calls: int = 0
    errors: int = 0
    lesson_errors: int = 0
    refused: int = 0
    last_error: Optional[str] = None
    last_error_refused: int = 0  # 1: last_error is a refusal for the learner's budget
    last_seen: Optional[float] = None
    progress: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    """A call the server answered: its request id (the API's, or the server's own), status, and request shape."""

    request_id: Optional[str]
    status: int
    shape: dict


@dataclass(frozen=True)
class Caps:
    """The class-wide limits: None means none."""

    nano: Optional[int] = None
    tokens: Optional[int] = None


@dataclass(frozen=True)
class Refused:
    """Why a reservation was refused: ``scope`` is "learner" or "class", ``unit`` "usd" or "tokens"."""

    scope: str
    unit: str
    limit: int
    spent: int
    held: int
    asked: int


class Store:
    """What the server needs from its state; see ``SqliteStore``."""

    def add_learner(self, name: str, secret: str, budget_nano: Optional[int], budget_tokens: Optional[int]) -> int: ...
    def new_secret_for(self, name: str, secret: str) -> int: ...
    def authenticate(self, token: str) -> Optional[int]: ...
    def is_instructor(self, token: str) -> bool: ...
    def set_instructor_secret(self, secret: str) -> None: ...
    def reserve(self, learner_id: int, nano: int, tokens: int) -> Union[int, Refused]: ...
    def settle(self, reservation: int, nano: int, tokens: int, error: Optional[str] = None,
               call: Optional["Call"] = None) -> None: ...
    def record_call(self, learner_id: int, error: Optional[str] = None, call: Optional["Call"] = None) -> None: ...
    def record_refusal(self, learner_id: int, refused: Refused, error: str) -> None: ...
    def open_attempt(self, learner_id: int, exercise: str) -> str: ...
    def record_progress(self, learner_id: int, exercise: str, passed: bool, attempt: Optional[str] = None,
                        evidence: tuple[str, ...] = (), vouch=None) -> str: ...
    def top_up(self, names: Optional[list[str]], nano: int = 0, tokens: int = 0) -> list[str]: ...
    def set_budget(self, names: Optional[list[str]], nano: Optional[int] = None,
                   tokens: Optional[int] = None) -> list[Learner]: ...
    def set_caps(self, caps: Caps) -> None: ...
    def caps(self) -> Caps: ...
    def learners(self, *, with_progress: bool = False) -> list[Learner]: ...
    def learner(self, learner_id: int) -> Optional[Learner]: ...
    def recover(self) -> int: ...


class StorageError(RuntimeError):
    """The database cannot be opened or written; the message names the file and the fix, in one sentence."""


STARTUP_WAIT_S = 1.0
"""How long opening the database waits for another program's lock before saying so."""
BUSY_WAIT_S = 5.0
"""How long a call waits for the database while another writer (a roster command) holds it."""


def storage_trouble(path: str, error: BaseException) -> str:
    """One sentence: what is wrong with the database file, and what to do."""
    text = str(error).lower()
    if isinstance(error, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return (f"{path} is not a readable classroom database ({error}): move it aside and start again (a new, "
                "empty roster), or choose another file with --db.")
    if "locked" in text or "busy" in text:
        return (f"{path} is in use by another program (another classroom server, or a roster command that did not "
                "finish): stop that program, or choose another file with --db.")
    if "readonly" in text or "read-only" in text or isinstance(error, PermissionError):
        return (f"{path} cannot be written ({error}): give this user write access to the file and its folder, or "
                "choose another file with --db.")
    if "disk i/o" in text:
        return (f"{path} could not be written ({error}: the disk may be full or failing): free some space, or choose "
                "another file with --db.")
    if "full" in text or getattr(error, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return f"the disk that holds {path} is full ({error}): free some space, or choose another file with --db."
    return f"{path} could not be opened as the classroom database ({error}): check the file, or choose another with --db."


class SqliteStore(Store):
    def __init__(self, path: Union[str, Path], run_id: str = "", *, redact: Callable[[Optional[str]], Optional[str]]
                 = lambda text: text):
        self.path = str(path)
        self.run_id = run_id
        self._redact = redact
        self._lock = threading.Lock()
        try:
            self._db = self._open()
        except (sqlite3.Error, OSError) as error:
            raise StorageError(storage_trouble(self.path, error)) from None
        self._checkpointer: Optional[threading.Thread] = None
        self._stopping = threading.Event()

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            # Token hashes and learners' names: the instructor's only. SQLite gives its -wal and -shm files the
            # database file's permissions, so the file is made private before SQLite opens it. It is opened here
            # only to create it: closing a file this process has open elsewhere would drop SQLite's locks on it.
            if not os.path.exists(self.path):
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.chmod(self.path + suffix, 0o600)
                except OSError:
                    pass
        # One connection, used by one thread at a time (the lock); autocommit mode, with explicit transactions.
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=STARTUP_WAIT_S)
        try:
            db.row_factory = sqlite3.Row
            if self.path != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
                db.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; a crash keeps the WAL
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(SCHEMA)
            for table, column, declaration in ADDED_COLUMNS:
                if column not in {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}:
                    try:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                    except sqlite3.OperationalError as error:  # another process opening it at once added it first
                        if "duplicate column" not in str(error):
                            raise
            # A write, so that a read-only file or a full disk is found now, not at the first learner's call.
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR REPLACE INTO settings VALUES ('opened', ?)", (str(time.time()),))
            db.execute("COMMIT")
            db.execute(f"PRAGMA busy_timeout={int(BUSY_WAIT_S * 1000)}")
        except BaseException:
            db.close()
            raise
        return db

    def checkpoint_in_background(self, every_s: float = 2.0) -> None:
        """Copy the WAL into the database from a thread of its own, every ``every_s`` seconds, instead of in
        the middle of whichever transaction fills it: a checkpoint syncs the disk, and the server's calls
        should not wait for that (a passive checkpoint never blocks them)."""
        if self.path == ":memory:" or self._checkpointer is not None:
            return
        self._db.execute("PRAGMA wal_autocheckpoint=0")

        def run() -> None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            try:
                while not self._stopping.wait(every_s):
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass
            finally:
                db.close()

        self._checkpointer = threading.Thread(target=run, name="classroom-checkpoint", daemon=True)
        self._checkpointer.start()

    def close(self) -> None:
        self._stopping.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=10)
        with self._lock:
            self._db.close()

    # -- one transaction -----------------------------------------------------------------------------------------

    def _write(self, work):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return result

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- roster --------------------------------------------------------------------------------------------------

    def add_learner(self, name, secret, budget_nano, budget_tokens):
        def work(db):
            cursor = db.execute(
                "INSERT INTO learners (name, secret_hash, budget_nano, budget_tokens, created) VALUES (?, ?, ?, ?, ?)",
                (name, tk.secret_hash(secret), budget_nano, budget_tokens, time.time()))
            return cursor.lastrowid
        try:
            return self._write(work)
        except sqlite3.IntegrityError:
            raise ValueError(f"a learner called {name!r} is already on the roster: choose another name, or give "
                             f"them a new token with `roster reissue {name}`") from None

    def new_secret_for(self, name, secret):
        def work(db):
            row = db.execute("SELECT id FROM learners WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise ValueError(f"no learner called {name!r} is on the roster (see `roster list`)")
            db.execute("UPDATE learners SET secret_hash = ? WHERE id = ?", (tk.secret_hash(secret), row["id"]))
            return row["id"]
        return self._write(work)

    def authenticate(self, token):
        presented = tk.parse(token)
        if presented is None or presented.learner_id is None:
            tk.matches("", None)
            return None
        rows = self._read("SELECT secret_hash FROM learners WHERE id = ?", (presented.learner_id,))
        stored = bytes(rows[0]["secret_hash"]) if rows else None
        return presented.learner_id if tk.matches(presented.secret, stored) else None

    def set_instructor_secret(self, secret):
        self._write(lambda db: db.execute("INSERT OR REPLACE INTO settings VALUES ('instructor_hash', ?)",
                                          (tk.secret_hash(secret).hex(),)))

    def is_instructor(self, token):
        presented = tk.parse(token)
        rows = self._read("SELECT value FROM settings WHERE key = 'instructor_hash'")
        stored = bytes.fromhex(rows[0]["value"]) if rows else None
        if presented is None or presented.learner_id is not None:
            tk.matches("", None)
            return False
        return tk.matches(presented.secret, stored)

    # -- money ---------------------------------------------------------------------------------------------------

    def reserve(self, learner_id, nano, tokens):
        def work(db):
            me = db.execute("SELECT * FROM learners WHERE id = ?", (learner_id,)).fetchone()
            if me["budget_nano"] is not None and me["spent_nano"] + me["held_nano"] + nano > me["budget_nano"]:
                return Refused("learner", "usd", me["budget_nano"], me["spent_nano"], me["held_nano"], nano)
            if (me["budget_tokens"] is not None
                    and me["used_tokens"] + me["held_tokens"] + tokens > me["budget_tokens"]):
                return Refused("learner", "tokens", me["budget_tokens"], me["used_tokens"], me["held_tokens"], tokens)
            caps = self._caps(db)
            if caps.nano is not None or caps.tokens is not None:
                room = db.execute("SELECT TOTAL(spent_nano), TOTAL(held_nano), TOTAL(used_tokens), TOTAL(held_tokens) "
                                  "FROM learners").fetchone()
                spent, held, used, held_t = (int(v) for v in room)
                if caps.nano is not None and spent + held + nano > caps.nano:
                    return Refused("class", "usd", caps.nano, spent, held, nano)
                if caps.tokens is not None and used + held_t + tokens > caps.tokens:
                    return Refused("class", "tokens", caps.tokens, used, held_t, tokens)
            cursor = db.execute("INSERT INTO reservations (learner_id, run_id, nano, tokens, created) "
                                "VALUES (?, ?, ?, ?, ?)", (learner_id, self.run_id, nano, tokens, time.time()))
            db.execute("UPDATE learners SET held_nano = held_nano + ?, held_tokens = held_tokens + ? WHERE id = ?",
                       (nano, tokens, learner_id))
            return cursor.lastrowid
        return self._write(work)

    def settle(self, reservation, nano, tokens, error=None, call: Optional["Call"] = None):
        error = self._redact(error)

        def work(db):
            row = db.execute("DELETE FROM reservations WHERE id = ? RETURNING learner_id, nano, tokens",
                             (reservation,)).fetchone()
            if row is None:
                return  # settled already (by recovery)
            self._keep_call(db, row["learner_id"], call)
            db.execute(
                "UPDATE learners SET held_nano = held_nano - ?, held_tokens = held_tokens - ?, spent_nano = spent_nano "
                "+ ?, used_tokens = used_tokens + ?, calls = calls + 1, errors = errors + ?, "
                "lesson_errors = lesson_errors + ?, last_error = COALESCE(?, last_error), "
                "last_error_refused = last_error_refused * ?, last_seen = ? WHERE id = ?",
                (row["nano"], row["tokens"], nano, tokens, int(error is not None),
                 int(error is not None and is_lesson_error(error)),
                 None if error is None else error[:MAX_ERROR_CHARS], int(error is None), time.time(),
                 row["learner_id"]))
        self._write(work)

    def record_call(self, learner_id, error=None, call: Optional["Call"] = None):
        def work(db):
            self._keep_call(db, learner_id, call)
            self._count_call(db, learner_id, self._redact(error))
        self._write(work)

    @staticmethod
    def _keep_call(db, learner_id: int, call: Optional["Call"]) -> None:
        if call is not None and call.request_id:
            db.execute("INSERT OR IGNORE INTO calls (request_id, learner_id, at, status, shape) VALUES (?, ?, ?, ?, ?)",
                       (call.request_id[:200], learner_id, time.time(), call.status, json.dumps(call.shape)))

    def record_refusal(self, learner_id, refused, error):
        """A call refused for a budget: an error, and for the learner's own budget a refusal too (the class
        cap is the class's, not the learner's, to raise)."""
        error = self._redact(error)

        def work(db):
            self._count_call(db, learner_id, error)
            if refused.scope == "learner":
                db.execute("UPDATE learners SET refused = refused + 1, last_error_refused = 1 WHERE id = ?",
                           (learner_id,))
        self._write(work)

    @staticmethod
    def _count_call(db, learner_id: int, error: Optional[str]) -> None:
        if error is None:
            db.execute("UPDATE learners SET calls = calls + 1, last_seen = ? WHERE id = ?", (time.time(), learner_id))
        else:
            db.execute("UPDATE learners SET calls = calls + 1, errors = errors + 1, lesson_errors = lesson_errors + ?, "
                       "last_error = ?, last_error_refused = 0, last_seen = ? WHERE id = ?",
                       (int(is_lesson_error(error)), error[:MAX_ERROR_CHARS], time.time(), learner_id))

    # -- Message Batches -----------------------------------------------------------------------------------------

    def keep_batch(self, reservation: int, batch_id: str, learner_id: int, call: Optional["Call"] = None) -> None:
        """A batch was created: its reservation stays held, across restarts, until its results are read."""
        def work(db):
            db.execute("UPDATE reservations SET kind = 'batch' WHERE id = ?", (reservation,))
            db.execute("INSERT OR IGNORE INTO batches (id, learner_id, reservation, created) VALUES (?, ?, ?, ?)",
                       (batch_id, learner_id, reservation, time.time()))
            self._keep_call(db, learner_id, call)
            self._count_call(db, learner_id, None)
        self._write(work)

    def batch_owner(self, batch_id: str) -> Optional[int]:
        rows = self._read("SELECT learner_id FROM batches WHERE id = ?", (batch_id,))
        return rows[0]["learner_id"] if rows else None

    def batch_settled(self, batch_id: str) -> bool:
        rows = self._read("SELECT reservation FROM batches WHERE id = ?", (batch_id,))
        return bool(rows) and rows[0]["reservation"] is None

    def learner_batches(self, learner_id: int) -> list[str]:
        """The learner's batches, newest first (the API's order)."""
        return [r["id"] for r in self._read("SELECT id FROM batches WHERE learner_id = ? ORDER BY created DESC, "
                                            "rowid DESC", (learner_id,))]

    def settle_batch(self, batch_id: str, nano: int, tokens: int) -> None:
        """Replace the batch's reservation by what its results cost (once)."""
        def work(db):
            batch = db.execute("SELECT reservation FROM batches WHERE id = ?", (batch_id,)).fetchone()
            if batch is None or batch["reservation"] is None:
                return
            row = db.execute("DELETE FROM reservations WHERE id = ? RETURNING learner_id, nano, tokens",
                             (batch["reservation"],)).fetchone()
            db.execute("UPDATE batches SET reservation = NULL WHERE id = ?", (batch_id,))
            if row is not None:
                db.execute("UPDATE learners SET held_nano = held_nano - ?, held_tokens = held_tokens - ?, "
                           "spent_nano = spent_nano + ?, used_tokens = used_tokens + ? WHERE id = ?",
                           (row["nano"], row["tokens"], nano, tokens, row["learner_id"]))
        self._write(work)

    # -- files ---------------------------------------------------------------------------------------------------

    def hold_upload(self, learner_id: int, size: int, most: int) -> tuple[Optional[int], int]:
        """``(row, stored)``: an upload of ``size`` bytes held against the learner's storage (``row``, to keep or
        drop once the API answered), or ``None`` when the learner's files (``stored`` bytes, uploads on their way
        included) and this one would pass ``most``. One transaction: uploads at the same time cannot pass it."""
        def work(db):
            stored = int(db.execute("SELECT TOTAL(size_bytes) FROM files WHERE learner_id = ?",
                                    (learner_id,)).fetchone()[0])
            if stored + size > most:
                return None, stored
            cursor = db.execute("INSERT INTO files (learner_id, size_bytes, run_id, created) VALUES (?, ?, ?, ?)",
                                (learner_id, size, self.run_id, time.time()))
            return cursor.lastrowid, stored
        return self._write(work)

    def keep_file(self, row: int, file_id: str, size_bytes: int, call: Optional["Call"] = None) -> None:
        """The upload held in ``row`` is the API's file ``file_id`` of ``size_bytes`` bytes."""
        def work(db):
            held = db.execute("UPDATE files SET id = ?, size_bytes = ? WHERE row = ? RETURNING learner_id",
                              (file_id, size_bytes, row)).fetchone()
            if held is not None:
                self._keep_call(db, held["learner_id"], call)
                self._count_call(db, held["learner_id"], None)
        self._write(work)

    def drop_upload(self, row: int) -> None:
        self._write(lambda db: db.execute("DELETE FROM files WHERE row = ? AND id IS NULL", (row,)))

    def file_owner(self, file_id: str) -> Optional[int]:
        rows = self._read("SELECT learner_id FROM files WHERE id = ?", (file_id,))
        return rows[0]["learner_id"] if rows else None

    def learner_files(self, learner_id: int) -> list[tuple[int, str]]:
        """``(row, file id)`` of the learner's files, newest first (the API's order)."""
        return [(r["row"], r["id"]) for r in self._read(
            "SELECT row, id FROM files WHERE learner_id = ? AND id IS NOT NULL ORDER BY row DESC", (learner_id,))]

    def forget_file(self, file_id: str) -> None:
        self._write(lambda db: db.execute("DELETE FROM files WHERE id = ?", (file_id,)))

    def recover(self):
        """Settle, at their full bound, the reservations that another run of the server left behind."""
        def work(db):
            # An upload that a stopped run never heard back about: no one was given its id, nor can be.
            db.execute("DELETE FROM files WHERE id IS NULL AND run_id != ?", (self.run_id,))
            # A batch's reservation outlives the run that made it: its results, read later, settle it.
            rows = db.execute("SELECT * FROM reservations WHERE run_id != ? AND kind != 'batch'",
                              (self.run_id,)).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE learners SET held_nano = held_nano - ?, held_tokens = held_tokens - ?, spent_nano = "
                    "spent_nano + ?, used_tokens = used_tokens + ?, calls = calls + 1 WHERE id = ?",
                    (row["nano"], row["tokens"], row["nano"], row["tokens"], row["learner_id"]))
                db.execute("DELETE FROM reservations WHERE id = ?", (row["id"],))
            return len(rows)
        return self._write(work)

    @staticmethod
    def _named(db, names: Optional[list[str]]) -> tuple[str, list]:
        """The WHERE clause for these learners (None: everyone); an unknown name changes nothing."""
        if not names:
            return "", []
        found = [r["name"] for r in db.execute(
            f"SELECT name FROM learners WHERE name IN ({','.join('?' * len(names))})", names)]
        missing = sorted(set(names) - set(found))
        if missing:
            raise ValueError(f"not on the roster: {', '.join(missing)} (see `roster list`); nothing was changed")
        return f"WHERE name IN ({','.join('?' * len(names))})", list(names)

    def top_up(self, names, nano=0, tokens=0):
        def work(db):
            where, args = self._named(db, names)
            if nano:
                db.execute(f"UPDATE learners SET budget_nano = COALESCE(budget_nano, 0) + ? {where}", [nano, *args])
            if tokens:
                db.execute(f"UPDATE learners SET budget_tokens = COALESCE(budget_tokens, 0) + ? {where}",
                           [tokens, *args])
            if nano or tokens:  # the refusals so far were answered by this change
                db.execute(f"UPDATE learners SET refused = 0 {where}", args)
            return [r["name"] for r in db.execute(f"SELECT name FROM learners {where} ORDER BY id", args)]
        return self._write(work)

    def set_budget(self, names, nano=None, tokens=None):
        """Set budgets to an amount, lower or higher than before; None leaves that unit's budget as it is.
        The learners changed are returned as they now are (their spending may pass the new budget)."""
        if (nano is not None and nano < 0) or (tokens is not None and tokens < 0):
            raise ValueError("a budget cannot be negative (0 stops the learner's calls)")

        def work(db):
            where, args = self._named(db, names)
            if nano is not None:
                db.execute(f"UPDATE learners SET budget_nano = ? {where}", [nano, *args])
            if tokens is not None:
                db.execute(f"UPDATE learners SET budget_tokens = ? {where}", [tokens, *args])
            if nano is not None or tokens is not None:
                db.execute(f"UPDATE learners SET refused = 0 {where}", args)
            return [Learner(**dict(r)) for r in db.execute(
                f"SELECT {self._COLUMNS} FROM learners {where} ORDER BY id", args)]
        return self._write(work)

    # -- class-wide caps -----------------------------------------------------------------------------------------

    @staticmethod
    def _caps(db) -> Caps:
        values = {r["key"]: r["value"] for r in db.execute(
            "SELECT key, value FROM settings WHERE key IN ('class_nano', 'class_tokens')")}
        as_int = lambda v: int(v) if v not in (None, "") else None  # noqa: E731
        return Caps(as_int(values.get("class_nano")), as_int(values.get("class_tokens")))

    def caps(self):
        with self._lock:
            return self._caps(self._db)

    def set_caps(self, caps):
        def work(db):
            for key, value in (("class_nano", caps.nano), ("class_tokens", caps.tokens)):
                db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, "" if value is None else str(value)))
        self._write(work)

    # -- progress ------------------------------------------------------------------------------------------------

    def open_attempt(self, learner_id: int, exercise: str) -> str:
        attempt = "att_" + tk.new_secret()
        self._write(lambda db: db.execute("INSERT INTO attempts (id, learner_id, exercise, started) VALUES (?, ?, ?, ?)",
                                          (attempt, learner_id, exercise, time.time())))
        return attempt

    def record_progress(self, learner_id, exercise, passed, attempt: Optional[str] = None,
                        evidence: tuple[str, ...] = (), vouch: Optional[Callable[[list[dict]], str]] = None) -> str:
        """Record a grader's report; returns "" when the server vouches for a pass, else why it does not.

        A pass is verified when ``attempt`` is this learner's open attempt at this exercise and every request id in
        ``evidence`` is a call this server answered for the learner since that attempt began; ``vouch`` then
        judges those calls (as dicts with ``status`` and ``shape``) and returns "" or why they do not do."""
        def work(db):
            why = self._unverified(db, learner_id, exercise, passed, attempt, evidence, vouch)
            verified = int(passed and not why)
            db.execute(
                "INSERT INTO progress (learner_id, exercise, attempts, failures, failures_since_pass, passed, "
                "last_passed, last_at, verified, last_verified) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (learner_id, exercise) DO UPDATE SET "
                "attempts = attempts + 1, failures = failures + excluded.failures, "
                "failures_since_pass = CASE WHEN excluded.passed THEN 0 ELSE failures_since_pass + 1 END, "
                "passed = MAX(passed, excluded.passed), last_passed = excluded.last_passed, last_at = excluded.last_at, "
                "verified = MAX(verified, excluded.verified), last_verified = excluded.last_verified",
                (learner_id, exercise, int(not passed), int(not passed), int(passed), int(passed), time.time(),
                 verified, verified))
            return why
        return self._write(work)

    @staticmethod
    def _unverified(db, learner_id, exercise, passed, attempt, evidence, vouch) -> str:
        if not passed:
            return "not a pass"
        row = None if not attempt else db.execute(
            "UPDATE attempts SET reported = 1 WHERE id = ? AND learner_id = ? AND exercise = ? AND reported = 0 "
            "RETURNING started", (attempt, learner_id, exercise)).fetchone()
        if row is None:
            return "no attempt of this exercise that the server opened and that no report used yet"
        if not evidence:
            return "no call through this server behind it"
        calls = []
        for request_id in evidence:
            call = db.execute("SELECT status, shape, at FROM calls WHERE request_id = ? AND learner_id = ?",
                              (request_id, learner_id)).fetchone()
            if call is None or call["at"] < row["started"]:
                return f"{request_id} is not a call of yours through this server since the attempt began"
            calls.append({"status": call["status"], "shape": json.loads(call["shape"])})
        return vouch(calls) if vouch is not None else ""

    # -- reading -------------------------------------------------------------------------------------------------

    _COLUMNS = ("id, name, budget_nano, budget_tokens, spent_nano, used_tokens, held_nano, held_tokens, calls, errors, "
                "lesson_errors, refused, last_error, last_error_refused, last_seen")

    def learners(self, *, with_progress=False):
        rows = self._read(f"SELECT {self._COLUMNS} FROM learners ORDER BY id")
        found = [Learner(**dict(r)) for r in rows]
        if with_progress:
            by_id = {learner.id: learner for learner in found}
            for row in self._read("SELECT * FROM progress ORDER BY exercise"):
                entry = dict(row)
                by_id[entry.pop("learner_id")].progress.append(entry)
        return found

    def learner(self, learner_id):
        rows = self._read(f"SELECT {self._COLUMNS} FROM learners WHERE id = ?", (learner_id,))
        return Learner(**dict(rows[0])) if rows else None

    def reservations(self) -> int:
        return self._read("SELECT COUNT(*) AS n FROM reservations")[0]["n"]
