"""Local accounts, signed session tokens and the security store they live in.

The security store is a small SQLite file beside the warehouse, ``<stem>.security.sqlite``
(e.g. ``warehouse/scr.security.sqlite``): users with argon2 password hashes, revoked
sessions, and the audit trail (:mod:`warehouse.audit`). Not DuckDB: the dashboard must
append audit rows while an ingest holds DuckDB's exclusive file lock, and credentials do
not belong in the analytic snapshot that is copied around. WAL mode lets readers and one
writer work at once; every connection is short-lived and waits on a busy timeout.

A session is a PyJWT HS256 token (``exp``, ``iat``, ``jti``, ``sub``) signed with a key in
``<stem>.session.key`` (0600, generated on first use) unless ``SCR_SESSION_SECRET`` is set,
e.g. so that several dashboard hosts share one key. :func:`principal_from_token` re-reads
the account on every call, so removing a user or changing their role ends their sessions
at once, and a signed-out (revoked) token is refused even before it expires.

A real deployment can replace the local accounts with the organisation's identity
provider (Streamlit's ``st.login``); the same :class:`~warehouse.principal.Principal`
comes out either way.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import re
import secrets
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import jwt
import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from warehouse.principal import InvalidPrincipal, Principal

SCHEMA_VERSION = 1
ENV_SESSION_SECRET = "SCR_SESSION_SECRET"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
# The public view and the command line's analyst are principals, never accounts: an
# account with either name would be indistinguishable from them in the audit trail.
RESERVED_NAMES = frozenset({"public", "analyst"})
ACCOUNT_ROLES = ("national", "regional", "board")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is an attack
MAX_TOKEN_LENGTH = 4096
TOKEN_AUDIENCE = "scr-observatory"
FAILURE_WINDOW = timedelta(minutes=15)

log = logging.getLogger(__name__)

# argon2id with the library's defaults (RFC 9106 low-memory profile). When a later version
# changes them, the next successful sign-in rehashes the password (check_needs_rehash).
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A bad username, role, scope or password, or a store this code cannot read."""


class UserExists(AccountError):
    """``add_user`` for a name that already has an account (remove it first)."""


class ScopeWarning(UserWarning):
    """A board scope that is well formed but has no review in the warehouse (yet)."""


@dataclass(frozen=True)
class FailureDelay:
    """Seconds to hold a failed sign-in: ``first``, doubling with each recent failure for the
    same username, at most ``cap``. Small at first so a typo costs nothing noticeable."""

    first: float = 0.25
    cap: float = 4.0

    def __call__(self, recent_failures: int) -> float:
        return min(self.cap, self.first * 2 ** max(recent_failures - 1, 0))


# Injectable for tests (monkeypatch either): the delay policy and the clock's sleep.
failure_delay: Callable[[int], float] = FailureDelay()
sleep: Callable[[float], None] = time.sleep


# --- the store ------------------------------------------------------------------------------


def security_path(warehouse: Path) -> Path:
    """``warehouse/scr.duckdb`` -> ``warehouse/scr.security.sqlite``."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.security.sqlite")


def session_key_path(warehouse: Path) -> Path:
    """``warehouse/scr.duckdb`` -> ``warehouse/scr.session.key``."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.session.key")


_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        scope_code TEXT,
        password_hash TEXT NOT NULL,
        -- random per account: a token issued to a removed account is refused even if an
        -- account of the same name, role and scope is created again
        account_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE TABLE revoked_sessions (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        name TEXT,
        role TEXT,
        scope TEXT,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX audit_by_name ON audit (name, action, at)",
    "CREATE INDEX audit_by_time ON audit (at)",
    # Append-only: the store's own connections cannot change or delete what was recorded.
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
)


def _private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only, or tighten it (a copy restored from a
    backup, or made by hand, may have come back readable by everyone)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _initialise(con: sqlite3.Connection) -> None:
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise AccountError(
            f"the security store has schema version {version}; this code knows "
            f"{SCHEMA_VERSION}: upgrade scr-observatory"
        )
    con.execute("PRAGMA journal_mode=WAL")  # persistent in the file; outside a transaction
    with _transaction(con):  # two processes creating it at once: the second waits, then skips
        if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            for statement in _SCHEMA:
                con.execute(statement)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextlib.contextmanager
def _transaction(con: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (take the write lock now, waiting on busy_timeout) ... COMMIT."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextlib.contextmanager
def open_store(warehouse: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived connection to the security store, created (0600, WAL) on first use.

    Autocommit: each statement is its own transaction unless the caller opens one; waits up
    to 10 s for another writer. Used by :mod:`warehouse.audit` too.
    """
    path = security_path(warehouse)
    _private_file(path)  # before SQLite would create it with the umask's mode
    con = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    try:
        con.execute("PRAGMA busy_timeout = 10000")
        con.execute("PRAGMA secure_delete = ON")  # a removed user's hash is overwritten
        _initialise(con)
        yield con
    finally:
        con.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    """The audit trail's timestamp format: UTC, microseconds, fixed width (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# --- validation -----------------------------------------------------------------------------


def _normalise_name(name: str) -> str:
    # Lower-case ASCII only: str.lower() maps some non-ASCII letters (the Kelvin sign) to
    # ASCII ones, which would let two different strings name one account.
    name = name.strip()
    return name.lower() if name.isascii() else name


def _check_name(name: str) -> str:
    normalised = _normalise_name(name)
    if not NAME_PATTERN.fullmatch(normalised):
        raise AccountError(
            f"username {name!r} is not allowed: 2-64 characters of a-z, 0-9, '.', '_', '-', "
            "starting with a letter or digit"
        )
    if normalised in RESERVED_NAMES:
        raise AccountError(f"username {normalised!r} is reserved")
    return normalised


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


# A board's region is the one its most recent review states (as the read layer's catalog).
_BOARD_CATALOG_SQL = """
SELECT board_code,
    coalesce(arg_max(region, period || coalesce(incident_date::VARCHAR, ''))
        FILTER (WHERE region <> 'not_stated'), 'not_stated') AS region,
    count(*) AS reviews
FROM reviews GROUP BY board_code
"""


def _board_catalog(warehouse: Path) -> pl.DataFrame | None:
    """board_code, region, reviews from the snapshot (else the live file, if not locked);
    None when there is no warehouse, no review, or it cannot be read now."""
    import duckdb

    from warehouse.db import snapshot_path

    for candidate in (snapshot_path(Path(warehouse)), Path(warehouse)):
        if not candidate.exists():
            continue
        try:
            with duckdb.connect(str(candidate), read_only=True) as con:
                catalog = con.sql(_BOARD_CATALOG_SQL).pl()
        except duckdb.Error:
            continue  # locked by an ingest, or not built yet: try the next, else give up
        return catalog if catalog.height else None
    return None


def check_account(warehouse: Path, name: str, role: str, scope_code: str | None) -> Principal:
    """The principal an account would have; raises :class:`AccountError` for a bad name,
    role or scope and :class:`UserExists` for a taken name. Warns (:class:`ScopeWarning`)
    when a board scope has no review in the warehouse: a board may get its account before
    its first submission, but a typo should not pass unnoticed."""
    from warehouse.frame import frame

    name = _check_name(name)
    if role not in ACCOUNT_ROLES:
        hint = "; the public view needs no account" if role == "public" else ""
        raise AccountError(f"role {role!r} is not one of {', '.join(ACCOUNT_ROLES)}{hint}")
    scope_code = scope_code.strip() if scope_code else None
    try:
        principal = Principal(name, role, scope_code)  # type: ignore[arg-type]
    except InvalidPrincipal as exc:
        raise AccountError(str(exc)) from None
    if role == "regional":
        regions = [code for code in frame().codes("region") if code != "not_stated"]
        if scope_code not in regions:
            raise AccountError(
                f"--scope {scope_code!r} is not a region code; use one of: {', '.join(regions)}"
            )
    elif role == "board":
        pattern = frame().sheets["reviews"].column("board_code").pattern
        if pattern and not re.fullmatch(pattern, scope_code or ""):
            raise AccountError(f"--scope {scope_code!r} is not a board code ({pattern})")
        catalog = _board_catalog(warehouse)
        if catalog is not None and scope_code not in catalog["board_code"]:
            warnings.warn(
                ScopeWarning(
                    f"board {scope_code!r} has no review in the warehouse yet; "
                    "the account sees nothing of its own until its first submission"
                ),
                stacklevel=2,
            )
    with open_store(warehouse) as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise UserExists(f"user {name!r} already exists; remove it first")
    return principal


# --- accounts -------------------------------------------------------------------------------


def _operator() -> str:
    """Who ran the command that changed an account, for the audit trail."""
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"os:uid{os.getuid()}"


def add_user(
    warehouse: Path, name: str, role: str, scope_code: str | None, password: str
) -> Principal:
    """Create an account; its password is stored only as an argon2id hash."""
    from warehouse import audit  # audit uses this module's store: import at call time

    principal = check_account(warehouse, name, role, scope_code)
    _check_password(password)
    password_hash = _hasher.hash(password)
    with open_store(warehouse) as con:
        try:
            con.execute(
                "INSERT INTO users (name, role, scope_code, password_hash, account_id, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    principal.name,
                    principal.role,
                    principal.scope_code,
                    password_hash,
                    secrets.token_hex(16),
                    _iso(_now()),
                ],
            )
        except sqlite3.IntegrityError:  # created by another process since the check
            raise UserExists(f"user {principal.name!r} already exists; remove it first") from None
    audit.record(
        warehouse,
        None,
        "user_added",
        {"user": principal.name, "role": principal.role, "scope": principal.scope_code},
        name=_operator(),
    )
    return principal


def remove_user(warehouse: Path, name: str) -> bool:
    """Delete an account (its sessions end at once); False if there was none."""
    from warehouse import audit

    normalised = _normalise_name(name)
    with open_store(warehouse) as con:
        removed = con.execute("DELETE FROM users WHERE name = ?", [normalised]).rowcount > 0
    if removed:
        audit.record(warehouse, None, "user_removed", {"user": normalised}, name=_operator())
    return removed


def list_users(warehouse: Path) -> list[dict]:
    """Every account: name, role, scope_code, created_at (never the hash)."""
    with open_store(warehouse) as con:
        rows = con.execute(
            "SELECT name, role, scope_code, created_at FROM users ORDER BY name"
        ).fetchall()
    return [
        {"name": name, "role": role, "scope_code": scope, "created_at": created}
        for name, role, scope, created in rows
    ]


def _user(con: sqlite3.Connection, name: str) -> tuple[Principal, str, str] | None:
    """(principal, password hash, account id) of a stored account."""
    row = con.execute(
        "SELECT name, role, scope_code, password_hash, account_id FROM users WHERE name = ?",
        [name],
    ).fetchone()
    if row is None:
        return None
    try:
        principal = Principal(row[0], row[1], row[2])
    except InvalidPrincipal:  # a row edited by hand into nonsense: no access
        return None
    return principal, row[3], row[4]


@cache
def _dummy_hash() -> str:
    # Same parameters as real hashes, so an unknown username costs what a wrong password
    # does and response times do not reveal which accounts exist.
    return _hasher.hash(secrets.token_urlsafe(16))


def _recent_failures(con: sqlite3.Connection, name: str) -> int:
    """Failed sign-ins for ``name`` in the last 15 minutes since its last success."""
    since = _iso(_now() - FAILURE_WINDOW)
    return con.execute(
        "SELECT count(*) FROM audit WHERE name = ? AND action = 'sign_in_failed' AND at >= max(?, "
        "coalesce((SELECT max(at) FROM audit WHERE name = ? AND action = 'sign_in'), ''))",
        [name, since, name],
    ).fetchone()[0]


def authenticate(
    warehouse: Path, name: str, password: str, *, client: str = ""
) -> Principal | None:
    """The account's principal if the password is right, else None.

    Every attempt is written to the audit trail. A failure is held for
    ``failure_delay(recent failures of that username)`` seconds, so guessing is slow, and an
    unknown username is verified against a dummy hash and held just as long.
    """
    from warehouse import audit

    attempted = _normalise_name(name)[:64] if isinstance(name, str) else ""
    known = NAME_PATTERN.fullmatch(attempted) is not None and attempted not in RESERVED_NAMES
    with open_store(warehouse) as con:
        account = _user(con, attempted) if known else None
    stored_hash = account[1] if account else _dummy_hash()
    usable = isinstance(password, str) and len(password) <= MAX_PASSWORD_LENGTH
    try:  # always one verification, whatever was typed, so every failure costs the same
        verified = _hasher.verify(stored_hash, password if usable else "-" * 8)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        verified = False
    verified = verified and usable and account is not None
    detail = {"client": client} if client else {}
    if verified and account is not None:
        principal = account[0]
        if _hasher.check_needs_rehash(stored_hash):
            with open_store(warehouse) as con:
                con.execute(
                    "UPDATE users SET password_hash = ? WHERE name = ? AND password_hash = ?",
                    [_hasher.hash(password), principal.name, stored_hash],
                )
        audit.record(warehouse, principal, "sign_in", detail)
        return principal
    reason = "wrong password" if account else "unknown user"
    audit.record(warehouse, None, "sign_in_failed", {**detail, "reason": reason}, name=attempted)
    with open_store(warehouse) as con:
        failures = _recent_failures(con, attempted)
    # Also in the server log, where an operator's alerting (or fail2ban) can see it.
    log.warning(
        "failed sign-in for %r (%s) from %s: %d in the last 15 minutes",
        attempted,
        reason,
        client or "unknown client",
        failures,
    )
    sleep(failure_delay(failures))
    return None


# --- demo accounts on the synthetic sample ------------------------------------------------

DEMO_NAMES = {"national": "demo-national", "regional": "demo-regional", "board": "demo-board"}


def demo_scopes(warehouse: Path) -> tuple[str, str]:
    """(region, board) for the demo accounts: the region with the most boards in the
    warehouse and its board with the most reviews, so both views have something to compare;
    without a warehouse, the coding frame's first region and SYN001."""
    from warehouse.frame import frame

    catalog = _board_catalog(warehouse)
    if catalog is None or catalog.filter(pl.col("region") != "not_stated").height == 0:
        return frame().codes("region")[0], "SYN001"
    by_board = catalog.filter(pl.col("region") != "not_stated")
    region = (
        by_board.group_by("region")
        .agg(pl.len().alias("boards"))
        .sort(["boards", "region"], descending=[True, False])
        .item(0, "region")
    )
    board = (
        by_board.filter(pl.col("region") == region)
        .sort(["reviews", "board_code"], descending=[True, False])
        .item(0, "board_code")
    )
    return region, board


def create_demo_accounts(warehouse: Path) -> list[tuple[Principal, str]]:
    """(Re)create demo-national, demo-regional and demo-board with fresh random passwords;
    returns each principal with its password (shown once, never stored in clear)."""
    region, board = demo_scopes(warehouse)
    scopes = {"national": None, "regional": region, "board": board}
    created = []
    for role, name in DEMO_NAMES.items():
        remove_user(warehouse, name)
        password = secrets.token_urlsafe(12)
        created.append((add_user(warehouse, name, role, scopes[role], password), password))
    return created


# --- sessions -------------------------------------------------------------------------------


def _signing_key(warehouse: Path) -> bytes:
    """SCR_SESSION_SECRET, else the key file beside the warehouse (made once, atomically)."""
    secret = os.environ.get(ENV_SESSION_SECRET)
    if secret:
        key = secret.encode("utf-8")
        if len(key) < 32:
            raise AccountError(f"{ENV_SESSION_SECRET} must be at least 32 bytes long")
        return key
    path = session_key_path(warehouse)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(staging, path)  # never a half-written key: link the finished file
        finally:
            staging.unlink(missing_ok=True)
    _private_file(path)
    key = path.read_bytes()
    if len(key) < 32:
        raise AccountError(f"the session key {path} is damaged; delete it to make a new one")
    return key


def issue_session_token(
    warehouse: Path, principal: Principal, *, ttl_seconds: int = 8 * 3600
) -> str:
    """A signed token naming the account, valid for ``ttl_seconds`` (the cookie's value)."""
    with open_store(warehouse) as con:
        account = _user(con, principal.name)
    if account is None or account[0] != principal:
        raise AccountError(f"{principal.describe()} {principal.name!r} has no account")
    issued = int(time.time())
    claims = {
        "sub": principal.name,
        "role": principal.role,
        "scope": principal.scope_code,
        "aid": account[2],
        "aud": TOKEN_AUDIENCE,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, _signing_key(warehouse), algorithm="HS256")


def _claims(warehouse: Path, token: str, *, verify_exp: bool = True) -> dict | None:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        return jwt.decode(
            token,
            _signing_key(warehouse),
            algorithms=["HS256"],  # never "none", never whatever the header asks for
            audience=TOKEN_AUDIENCE,
            options={
                "require": ["exp", "iat", "jti", "sub", "aud"],
                "verify_exp": verify_exp,
            },
        )
    except jwt.PyJWTError:
        return None


def principal_from_token(warehouse: Path, token: str | None) -> Principal | None:
    """The principal a session token stands for, or None when the token is missing,
    tampered with, expired or revoked, or its account was removed or changed since."""
    claims = _claims(warehouse, token) if token else None
    if claims is None:
        return None
    with open_store(warehouse) as con:
        if con.execute("SELECT 1 FROM revoked_sessions WHERE jti = ?", [claims["jti"]]).fetchone():
            return None
        account = _user(con, str(claims["sub"]))
    if account is None:
        return None
    principal, _, account_id = account
    if (
        claims.get("aid") != account_id
        or claims.get("role") != principal.role
        or claims.get("scope") != principal.scope_code
    ):
        return None
    return principal


def revoke_session_token(warehouse: Path, token: str) -> None:
    """Sign out: the token is refused from now on; recorded as ``sign_out``.

    A token that does not verify (tampered, another key) is ignored: nothing to revoke.
    """
    from warehouse import audit

    claims = _claims(warehouse, token, verify_exp=False)
    if claims is None:
        return
    now = int(time.time())
    with open_store(warehouse) as con, _transaction(con):
        con.execute("DELETE FROM revoked_sessions WHERE expires_at < ?", [now])  # expired anyway
        con.execute(
            "INSERT OR IGNORE INTO revoked_sessions (jti, expires_at) VALUES (?, ?)",
            [claims["jti"], int(claims["exp"])],
        )
    with open_store(warehouse) as con:
        account = _user(con, str(claims["sub"]))
    principal = account[0] if account else None
    audit.record(warehouse, principal, "sign_out", {}, name=str(claims["sub"]))
