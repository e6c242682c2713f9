"""Accounts, passwords, sessions and the `scr users` / `scr dashboard` commands."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import jwt
import pytest
from argon2 import PasswordHasher

from pipelines import cli
from warehouse import accounts, audit
from warehouse.principal import Principal

SCR = Path(sys.executable).with_name("scr")
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Failed sign-ins record the delay they would sleep instead of sleeping it."""
    slept: list[float] = []
    monkeypatch.setattr(accounts, "sleep", slept.append)
    monkeypatch.delenv(accounts.ENV_SESSION_SECRET, raising=False)
    return slept


def scr(warehouse: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCR_WAREHOUSE": str(warehouse)}
    return subprocess.run(
        [str(SCR), *args], input=stdin, env=env, capture_output=True, text=True, timeout=120
    )


def catalog_warehouse(path: Path, reviews: list[tuple[str, str, str]]) -> Path:
    """A warehouse holding only a `reviews` table of (board_code, region, period)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE reviews (board_code VARCHAR, region VARCHAR, period VARCHAR, "
            "incident_date DATE)"
        )
        con.executemany("INSERT INTO reviews VALUES (?, ?, ?, NULL)", reviews)
    return path


def store_rows(warehouse: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(accounts.security_path(warehouse)) as con:
        return con.execute(sql).fetchall()


# --- accounts -------------------------------------------------------------------------------


def test_add_list_remove(warehouse_file: Path) -> None:
    board = accounts.add_user(warehouse_file, "Board.User", "board", "SYN001", PASSWORD)
    assert board == Principal("board.user", "board", "SYN001")  # names are lower case
    accounts.add_user(warehouse_file, "analyst-1", "national", None, PASSWORD)

    users = accounts.list_users(warehouse_file)
    assert [(u["name"], u["role"], u["scope_code"]) for u in users] == [
        ("analyst-1", "national", None),
        ("board.user", "board", "SYN001"),
    ]
    assert all(set(u) == {"name", "role", "scope_code", "created_at"} for u in users)

    with pytest.raises(accounts.UserExists):
        accounts.add_user(warehouse_file, "board.user", "national", None, PASSWORD)
    assert accounts.remove_user(warehouse_file, "BOARD.USER") is True
    assert accounts.remove_user(warehouse_file, "board.user") is False
    assert [u["name"] for u in accounts.list_users(warehouse_file)] == ["analyst-1"]


def test_passwords_are_argon2_hashes_never_plain(warehouse_file: Path) -> None:
    accounts.add_user(warehouse_file, "alice", "national", None, PASSWORD)
    (stored,) = store_rows(warehouse_file, "SELECT password_hash FROM users")
    assert stored[0].startswith("$argon2id$")
    assert PasswordHasher().verify(stored[0], PASSWORD)
    for path in warehouse_file.parent.iterdir():  # the store, its WAL and the key file
        assert PASSWORD.encode() not in path.read_bytes(), path.name


@pytest.mark.parametrize(
    ("name", "role", "scope", "password"),
    [
        ("x", "national", None, PASSWORD),  # too short a name
        ("-dash", "national", None, PASSWORD),  # would read as an option
        ("semi;colon", "national", None, PASSWORD),
        ("a" * 65, "national", None, PASSWORD),
        ("public", "national", None, PASSWORD),  # reserved
        ("ok-name", "public", None, PASSWORD),  # the public needs no account
        ("ok-name", "auditor", None, PASSWORD),
        ("ok-name", "national", "london", PASSWORD),
        ("ok-name", "regional", None, PASSWORD),
        ("ok-name", "regional", "atlantis", PASSWORD),
        ("ok-name", "regional", "not_stated", PASSWORD),
        ("ok-name", "board", None, PASSWORD),
        ("ok-name", "board", "SYN 001", PASSWORD),
        ("ok-name", "board", "SYN001", "short"),
        ("ok-name", "board", "SYN001", ""),
    ],
)
def test_bad_accounts_are_refused(
    warehouse_file: Path, name: str, role: str, scope: str | None, password: str
) -> None:
    with pytest.raises(accounts.AccountError):
        accounts.add_user(warehouse_file, name, role, scope, password)
    assert accounts.list_users(warehouse_file) == []


def test_board_scope_missing_from_the_warehouse_warns(warehouse_file: Path) -> None:
    catalog_warehouse(warehouse_file, [("SYN001", "london", "2003-05")])
    with pytest.warns(accounts.ScopeWarning, match="SYN777"):
        accounts.add_user(warehouse_file, "new-board", "board", "SYN777", PASSWORD)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a board with reviews: no warning at all
        accounts.add_user(warehouse_file, "old-board", "board", "SYN001", PASSWORD)
    assert {u["name"] for u in accounts.list_users(warehouse_file)} == {"new-board", "old-board"}


def test_store_and_key_are_private(warehouse_file: Path) -> None:
    principal = accounts.add_user(warehouse_file, "alice", "national", None, PASSWORD)
    accounts.issue_session_token(warehouse_file, principal)
    store = accounts.security_path(warehouse_file)
    assert store == warehouse_file.with_name("scr.security.sqlite")
    assert accounts.session_key_path(warehouse_file) == warehouse_file.with_name("scr.session.key")
    with accounts.open_store(warehouse_file) as con:  # WAL and SHM exist while it is open
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == accounts.SCHEMA_VERSION
        files = sorted(p.name for p in warehouse_file.parent.iterdir())
        assert files == [
            "scr.security.sqlite",
            "scr.security.sqlite-shm",
            "scr.security.sqlite-wal",
            "scr.session.key",
        ]
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in warehouse_file.parent.iterdir()}
    assert set(modes.values()) == {0o600}, modes
    assert len(accounts.session_key_path(warehouse_file).read_bytes()) == 32
    # Made readable by everyone (a careless restore): private again on the next use.
    store.chmod(0o644)
    accounts.session_key_path(warehouse_file).chmod(0o644)
    assert accounts.principal_from_token(warehouse_file, "not a token") is None  # reads the key
    assert accounts.list_users(warehouse_file)  # opens the store
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(accounts.session_key_path(warehouse_file).stat().st_mode) == 0o600


def test_a_newer_store_is_refused(warehouse_file: Path) -> None:
    accounts.list_users(warehouse_file)
    with sqlite3.connect(accounts.security_path(warehouse_file)) as con:
        con.execute(f"PRAGMA user_version = {accounts.SCHEMA_VERSION + 1}")
    with pytest.raises(accounts.AccountError, match="schema version"):
        accounts.list_users(warehouse_file)


# --- signing in -----------------------------------------------------------------------------


def test_authenticate_right_wrong_unknown(warehouse_file: Path, no_waiting: list[float]) -> None:
    accounts.add_user(warehouse_file, "alice", "regional", "london", PASSWORD)
    assert accounts.authenticate(warehouse_file, " Alice ", PASSWORD) == Principal(
        "alice", "regional", "london"
    )
    assert no_waiting == []  # success is not held
    assert accounts.authenticate(warehouse_file, "alice", PASSWORD + "!") is None
    assert accounts.authenticate(warehouse_file, "alice", PASSWORD.upper()) is None
    assert accounts.authenticate(warehouse_file, "nobody", PASSWORD) is None
    assert accounts.authenticate(warehouse_file, "", "") is None
    assert accounts.authenticate(warehouse_file, "alice", "x" * 5000) is None
    assert len(no_waiting) == 5 and all(delay > 0 for delay in no_waiting)


def test_unknown_usernames_cost_a_verification_too(
    warehouse_file: Path, monkeypatch: pytest.MonkeyPatch, no_waiting: list[float]
) -> None:
    accounts.add_user(warehouse_file, "alice", "national", None, PASSWORD)
    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            verified.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(accounts, "_hasher", CountingHasher())
    accounts.authenticate(warehouse_file, "alice", "wrong password")
    accounts.authenticate(warehouse_file, "bob", "wrong password")
    accounts.authenticate(warehouse_file, "Not a name!", "wrong password")
    assert len(verified) == 3
    assert all(h.startswith("$argon2id$") for h in verified)
    # The first failure of each username is held the same time, known or not.
    assert no_waiting[0] == no_waiting[1] == no_waiting[2]


def test_failures_are_slowed_more_and_more(
    warehouse_file: Path, monkeypatch: pytest.MonkeyPatch, no_waiting: list[float]
) -> None:
    monkeypatch.setattr(accounts, "failure_delay", accounts.FailureDelay(first=0.01, cap=0.05))
    accounts.add_user(warehouse_file, "alice", "national", None, PASSWORD)
    for _ in range(5):
        accounts.authenticate(warehouse_file, "alice", "wrong password")
    assert no_waiting == [0.01, 0.02, 0.04, 0.05, 0.05]
    accounts.authenticate(warehouse_file, "someone-else", "wrong password")
    assert no_waiting[-1] == 0.01  # counted per username
    assert accounts.authenticate(warehouse_file, "alice", PASSWORD) is not None
    accounts.authenticate(warehouse_file, "alice", "wrong password")
    assert no_waiting[-1] == 0.01  # a success starts the count again


def test_failures_older_than_the_window_do_not_count(
    warehouse_file: Path, monkeypatch: pytest.MonkeyPatch, no_waiting: list[float]
) -> None:
    from datetime import UTC, datetime

    monkeypatch.setattr(audit, "_now", lambda: datetime(2020, 1, 1, tzinfo=UTC))
    for _ in range(3):
        accounts.authenticate(warehouse_file, "alice", "wrong password")
    monkeypatch.undo()
    monkeypatch.setattr(accounts, "sleep", no_waiting.append)
    accounts.authenticate(warehouse_file, "alice", "wrong password")
    assert no_waiting[-1] == accounts.failure_delay(1)


def test_the_default_delay_starts_small_and_is_capped() -> None:
    delay = accounts.FailureDelay()
    assert 0 < delay(1) <= 0.5
    assert [delay(n) for n in (1, 2, 3)] == [delay(1), 2 * delay(1), 4 * delay(1)]
    assert delay(50) == delay.cap <= 5


def test_a_failed_sign_in_really_waits(
    warehouse_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "sleep", time.sleep)
    monkeypatch.setattr(accounts, "failure_delay", accounts.FailureDelay(first=0.3, cap=0.3))
    started = time.monotonic()
    assert accounts.authenticate(warehouse_file, "nobody", "wrong password") is None
    assert time.monotonic() - started >= 0.3


# --- sessions -------------------------------------------------------------------------------


def test_token_round_trip(warehouse_file: Path) -> None:
    principal = accounts.add_user(warehouse_file, "board-1", "board", "SYN001", PASSWORD)
    token = accounts.issue_session_token(warehouse_file, principal, ttl_seconds=60)
    assert accounts.principal_from_token(warehouse_file, token) == principal
    claims = jwt.decode(token, options={"verify_signature": False})
    assert {"exp", "iat", "jti", "sub"} <= set(claims)
    assert claims["sub"] == "board-1" and claims["exp"] - claims["iat"] == 60
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    other = accounts.issue_session_token(warehouse_file, principal)
    assert jwt.decode(other, options={"verify_signature": False})["jti"] != claims["jti"]


def test_expired_token_refused(warehouse_file: Path) -> None:
    principal = accounts.add_user(warehouse_file, "alice", "national", None, PASSWORD)
    token = accounts.issue_session_token(warehouse_file, principal, ttl_seconds=-1)
    assert accounts.principal_from_token(warehouse_file, token) is None


def test_tampered_tokens_refused(warehouse_file: Path) -> None:
    principal = accounts.add_user(warehouse_file, "board-1", "board", "SYN001", PASSWORD)
    token = accounts.issue_session_token(warehouse_file, principal)
    claims = jwt.decode(token, options={"verify_signature": False})
    header, payload, signature = token.split(".")
    upgraded = {**claims, "role": "national", "scope": None}
    forged = [
        # the payload re-encoded with another role, the old signature kept
        ".".join([header, jwt.encode(upgraded, "x" * 32).split(".")[1], signature]),
        jwt.encode(upgraded, "guessed key, 32 bytes or longer!", algorithm="HS256"),
        jwt.encode(upgraded, None, algorithm="none"),
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        token + "x",
        "not a token",
        "",
    ]
    for bad in forged:
        assert accounts.principal_from_token(warehouse_file, bad) is None, bad
    assert accounts.principal_from_token(warehouse_file, None) is None
    assert accounts.principal_from_token(warehouse_file, token) == principal


def test_removed_or_changed_users_tokens_refused(warehouse_file: Path) -> None:
    principal = accounts.add_user(warehouse_file, "alice", "board", "SYN001", PASSWORD)
    token = accounts.issue_session_token(warehouse_file, principal)
    accounts.remove_user(warehouse_file, "alice")
    assert accounts.principal_from_token(warehouse_file, token) is None
    # The same name, role and scope again is a new account: the old session stays dead.
    again = accounts.add_user(warehouse_file, "alice", "board", "SYN001", PASSWORD)
    assert accounts.principal_from_token(warehouse_file, token) is None
    fresh = accounts.issue_session_token(warehouse_file, again)
    assert accounts.principal_from_token(warehouse_file, fresh) == again
    # A changed role or scope in the store ends the session too.
    with sqlite3.connect(accounts.security_path(warehouse_file)) as con:
        con.execute("UPDATE users SET scope_code = 'SYN002' WHERE name = 'alice'")
    assert accounts.principal_from_token(warehouse_file, fresh) is None


def test_revoked_token_refused(warehouse_file: Path) -> None:
    principal = accounts.add_user(warehouse_file, "alice", "national", None, PASSWORD)
    token = accounts.issue_session_token(warehouse_file, principal)
    other = accounts.issue_session_token(warehouse_file, principal)
    accounts.revoke_session_token(warehouse_file, token)
    accounts.revoke_session_token(warehouse_file, token)  # twice is harmless
    accounts.revoke_session_token(warehouse_file, "garbage")  # nothing to revoke
    assert accounts.principal_from_token(warehouse_file, token) is None
    assert accounts.principal_from_token(warehouse_file, other) == principal  # other sessions
    assert store_rows(warehouse_file, "SELECT count(*) FROM revoked_sessions") == [(1,)]


def test_tokens_for_non_accounts_are_not_issued(warehouse_file: Path) -> None:
    with pytest.raises(accounts.AccountError):
        accounts.issue_session_token(warehouse_file, Principal("ghost", "national"))
    accounts.add_user(warehouse_file, "alice", "board", "SYN001", PASSWORD)
    with pytest.raises(accounts.AccountError):  # the account exists, but not with this role
        accounts.issue_session_token(warehouse_file, Principal("alice", "national"))


def test_session_secret_from_the_environment(
    warehouse_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    principal = accounts.add_user(warehouse_file, "alice", "national", None, PASSWORD)
    monkeypatch.setenv(accounts.ENV_SESSION_SECRET, "s" * 40)
    token = accounts.issue_session_token(warehouse_file, principal)
    assert not accounts.session_key_path(warehouse_file).exists()
    assert accounts.principal_from_token(warehouse_file, token) == principal
    monkeypatch.setenv(accounts.ENV_SESSION_SECRET, "t" * 40)  # rotated: old sessions end
    assert accounts.principal_from_token(warehouse_file, token) is None
    monkeypatch.setenv(accounts.ENV_SESSION_SECRET, "too short")
    with pytest.raises(accounts.AccountError, match="32 bytes"):
        accounts.issue_session_token(warehouse_file, principal)


# --- demo accounts --------------------------------------------------------------------------


def test_demo_scopes_pick_a_region_with_several_boards(warehouse_file: Path) -> None:
    assert accounts.demo_scopes(warehouse_file) == ("london", "SYN001")  # no warehouse yet
    catalog_warehouse(
        warehouse_file,
        [
            ("SYN001", "london", "2003-05"),
            ("SYN002", "south_east", "2003-05"),
            ("SYN003", "south_east", "2003-05"),
            ("SYN004", "south_east", "2003-05"),
            ("SYN004", "south_east", "2005-07"),
            ("SYN005", "not_stated", "2003-05"),
            ("SYN006", "not_stated", "2005-07"),
            ("SYN006", "not_stated", "2007-09"),
        ],
    )
    assert accounts.demo_scopes(warehouse_file) == ("south_east", "SYN004")


# --- the command line -----------------------------------------------------------------------


def test_users_add_reads_the_password_from_stdin(warehouse_file: Path) -> None:
    password = " spaces kept, newline not "
    done = scr(
        warehouse_file, "users", "add", "Alice", "--role", "board", "--scope", "SYN001",
        stdin=password + "\nsecond line ignored\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "added alice (board SYN001)" in done.stdout
    assert password not in done.stdout + done.stderr
    assert accounts.authenticate(warehouse_file, "alice", password) is not None
    assert accounts.authenticate(warehouse_file, "alice", password.strip()) is None

    windows = scr(
        warehouse_file, "users", "add", "bob", "--role", "national", stdin="p4ssw0rd!\r\n"
    )
    assert windows.returncode == 0, windows.stderr
    assert accounts.authenticate(warehouse_file, "bob", "p4ssw0rd!") is not None


def test_users_add_has_no_password_argument(warehouse_file: Path) -> None:
    done = scr(warehouse_file, "users", "add", "alice", "--role", "national", "--password", "x")
    assert done.returncode == 2
    assert "--password" not in scr(warehouse_file, "users", "add", "--help").stdout
    assert accounts.list_users(warehouse_file) == []


@pytest.mark.parametrize(
    ("arguments", "stdin"),
    [
        (["--role", "public"], PASSWORD),
        (["--role", "regional"], PASSWORD),
        (["--role", "regional", "--scope", "atlantis"], PASSWORD),
        (["--role", "board", "--scope", "SYN 001"], PASSWORD),
        (["--role", "national", "--scope", "london"], PASSWORD),
        (["--role", "national"], "short"),
        (["--role", "national"], ""),
    ],
)
def test_users_add_usage_errors_exit_2(
    warehouse_file: Path, arguments: list[str], stdin: str
) -> None:
    done = scr(warehouse_file, "users", "add", "alice", *arguments, stdin=stdin + "\n")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert accounts.list_users(warehouse_file) == []


def test_users_add_twice_and_remove_unknown_exit_1(warehouse_file: Path) -> None:
    assert (
        scr(
            warehouse_file, "users", "add", "alice", "--role", "national", stdin=PASSWORD
        ).returncode
        == 0
    )
    again = scr(warehouse_file, "users", "add", "alice", "--role", "national", stdin=PASSWORD)
    assert again.returncode == 1 and "already exists" in again.stderr
    missing = scr(warehouse_file, "users", "remove", "nobody")
    assert missing.returncode == 1 and "no user 'nobody'" in missing.stderr
    removed = scr(warehouse_file, "users", "remove", "alice")
    assert removed.returncode == 0 and accounts.list_users(warehouse_file) == []


def test_users_add_warns_about_a_board_without_reviews(warehouse_file: Path) -> None:
    catalog_warehouse(warehouse_file, [("SYN001", "london", "2003-05")])
    done = scr(
        warehouse_file,
        "users",
        "add",
        "new-board",
        "--role",
        "board",
        "--scope",
        "SYN777",
        stdin=PASSWORD,
    )
    assert done.returncode == 0
    assert done.stderr.count("warning: board 'SYN777' has no review") == 1


def test_users_list(warehouse_file: Path) -> None:
    assert "no accounts yet" in scr(warehouse_file, "users", "list").stdout
    accounts.add_user(warehouse_file, "alice", "regional", "london", PASSWORD)
    text = scr(warehouse_file, "users", "list").stdout
    assert "alice" in text and "regional" in text and "london" in text
    listed = json.loads(scr(warehouse_file, "users", "list", "--format", "json").stdout)
    assert [(u["name"], u["role"], u["scope_code"]) for u in listed] == [
        ("alice", "regional", "london")
    ]
    assert "hash" not in json.dumps(listed) and "argon2" not in text


def test_users_demo_makes_one_account_per_role(warehouse_file: Path) -> None:
    catalog_warehouse(
        warehouse_file,
        [("SYN001", "london", "2003-05"), ("SYN006", "london", "2003-05"),
         ("SYN006", "london", "2005-07"), ("SYN002", "north_east", "2003-05")],
    )  # fmt: skip

    def demo_accounts() -> dict[str, tuple[str, str, str]]:
        done = scr(warehouse_file, "users", "demo")
        assert done.returncode == 0, done.stderr
        rows = [line.split() for line in done.stdout.splitlines() if line.startswith("  demo-")]
        assert "Continue without signing in" in done.stdout  # the public view, no account
        return {name: (role, scope, password) for name, role, scope, password in rows}

    first = demo_accounts()
    assert {name: value[:2] for name, value in first.items()} == {
        "demo-national": ("national", "-"),
        "demo-regional": ("regional", "london"),
        "demo-board": ("board", "SYN006"),
    }
    for name, (role, scope, password) in first.items():
        signed_in = accounts.authenticate(warehouse_file, name, password)
        assert signed_in == Principal(name, role, None if scope == "-" else scope)
    second = demo_accounts()  # re-created with new passwords: the old ones stop working
    for name in first:
        assert second[name][2] != first[name][2]
        assert accounts.authenticate(warehouse_file, name, first[name][2]) is None
    assert len(accounts.list_users(warehouse_file)) == 3


def test_account_commands_do_not_import_dagster(warehouse_file: Path) -> None:
    code = (
        "import sys\n"
        "from pipelines.cli import main\n"
        "main(['users', 'list']); main(['users', 'demo']); main(['audit'])\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('dagster', 'great_expectations', 'streamlit')]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "SCR_WAREHOUSE": str(warehouse_file)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("arguments", "address", "url"),
    [
        ([], "127.0.0.1", "http://127.0.0.1:8600"),
        (["--address", "0.0.0.0"], "0.0.0.0", "http://0.0.0.0:8600  (every network interface)"),
        (["--address", "::1"], "::1", "http://[::1]:8600"),
    ],
)
def test_dashboard_binds_to_this_machine_unless_told(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    address: str,
    url: str,
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(os, "execvpe", lambda file, command, env: started.append(command))
    assert cli.main(["dashboard", "--port", "8600", *arguments]) == 0
    (command,) = started
    assert command[command.index("--server.address") + 1] == address
    assert f"dashboard on {url}" in capsys.readouterr().out
