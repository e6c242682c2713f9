"""Who gets in, and what a visitor can make the dashboard render: the sign-in form, the
session cookie, sign-out, links outside the scope, submitted text that looks like Markdown,
the audit trail and the error pages. Streamlit's AppTest on a copy of the sample warehouse
with one account per role and one extra submission whose board name, recommendation text and
submitter are hostile."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, search, ui
from tests.sample_warehouses import copy_warehouse, sample_warehouse_once
from warehouse import accounts, audit
from warehouse.principal import Principal

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PASSWORD = "correct horse battery staple"
USERS = {
    "national": Principal("nat-analyst", "national"),
    "regional": Principal("london-office", "regional", "london"),
    "board": Principal("board-one", "board", "SYN001"),
}
EVIL_BOARD = "SYN950"
EVIL_NAME = "[session expired, sign in again](http://evil.example)"
EVIL_TEXT = "interpreters ![x](http://evil.example/x.png) <img src=x onerror=alert(1)>"
EVIL_SUBMITTER = '=HYPERLINK("http://evil.example","open")'
EVIL_QUERY = "![x](http://evil.example/x.png)"


def hostile_submission(folder: Path) -> Path:
    """One review of a board whose name is a Markdown link, with a recommendation whose text
    holds an image reference and an HTML tag."""
    review = {
        "review_id": "EVIL-R1",
        "period": "2009-11",
        "board_code": EVIL_BOARD,
        "board_name": EVIL_NAME,
        "region": "south_east",
        "author_status": "independent",
        "parent_ethnicity": "white_british",
        "incident_date": "2010-01-10",
        "report_date": "2010-09-01",
        "recommendations_total": 1,
    }
    child = {
        "child_id": "EVIL-C1",
        "review_id": "EVIL-R1",
        "age_months": 7,
        "gender": "female",
        "ethnicity": "white_british",
        "disability": "no",
        "incident_type": "death",
        "cp_register": "not_on_register",
        "legal_status": "none",
    }
    rec = {"review_id": "EVIL-R1", "rec_no": 1, "focus": "communication", "text": EVIL_TEXT}
    folder.mkdir(parents=True)
    for sheet, row in (("reviews", review), ("children", child), ("recommendations", rec)):
        pl.DataFrame([row]).write_csv(folder / f"{sheet}.csv")
    return folder


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample warehouse plus the hostile submission, with one account per role."""
    from pipelines.runner import ingest

    sample = sample_warehouse_once(tmp_path_factory.getbasetemp())
    root = tmp_path_factory.mktemp("secured")
    warehouse = copy_warehouse(sample, root / "wh" / "scr.duckdb")
    outcomes = ingest([hostile_submission(root / "hostile")], warehouse, EVIL_SUBMITTER)
    assert [o.status for o in outcomes] == ["accepted"], outcomes[0].lines
    for user in USERS.values():
        accounts.add_user(warehouse, user.name, user.role, user.scope_code, PASSWORD)
    return warehouse


@pytest.fixture
def warehouse(secured: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SCR_WAREHOUSE", str(secured))
    yield secured


def fresh(**params: str) -> AppTest:
    """A new browser session on the app (no cookie), opened with the URL's parameters."""
    # Generous: a scoped principal's first page computes its disclosure cube.
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.query_params.update(params)
    return at.run()


def field(at: AppTest, label: str) -> object:
    return next(t for t in at.text_input if t.label == label)


def button(at: AppTest, label: str) -> object:
    return next(b for b in at.button if b.label == label)


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    field(at, "Username").input(name)  # type: ignore[attr-defined]
    field(at, "Password").input(password)  # type: ignore[attr-defined]
    return button(at, "Sign in").click().run()  # type: ignore[attr-defined]


def markdown_sources(at: AppTest) -> list[str]:
    """The Markdown source of everything Streamlit renders as Markdown."""
    parts = [*at.title, *at.header, *at.subheader, *at.caption, *at.markdown]
    parts += [*at.info, *at.warning, *at.error, *at.success]
    return [str(p.value) for p in parts]


def bare_link(source: str) -> bool:
    """Whether GFM would link a bare URL or address in this Markdown (escapes removed)."""
    text = re.sub(r"\\(.)", r"\1", source)
    return bool(re.search(r"(?i)(https?://|www\.|\w@\w)", text))


def shows_data(at: AppTest) -> bool:
    return bool(at.dataframe or at.metric or at.get("vega_lite_chart") or at.table)


def trail(warehouse: Path, action: str) -> pl.DataFrame:
    return audit.read(warehouse).filter(pl.col("action") == action)


def test_the_form_comes_first_and_shows_no_data(warehouse: Path) -> None:
    at = fresh()
    assert not at.exception
    assert {"Username", "Password"} <= {t.label for t in at.text_input}
    assert field(at, "Password").proto.type == field(at, "Password").proto.PASSWORD  # type: ignore[attr-defined]
    assert {"Sign in", "Continue without signing in"} <= {b.label for b in at.button}
    assert not shows_data(at)
    assert not at.selectbox  # no filters, so no catalog of boards either


def test_a_wrong_password_is_refused_and_logged(warehouse: Path) -> None:
    name = USERS["national"].name
    at = sign_in(fresh(), name, "not the password")
    assert [e.value for e in at.error] == [auth.FAILED]
    assert not shows_data(at)
    assert "Username" in {t.label for t in at.text_input}  # still the form
    failed = trail(warehouse, "sign_in_failed")
    assert name in set(failed["name"])
    # An unknown user gets the very same message: no hint which part was wrong.
    at = sign_in(fresh(), "nobody-here", "whatever-it-is")
    assert [e.value for e in at.error] == [auth.FAILED]


def test_the_right_password_signs_in_and_the_view_is_audited(warehouse: Path) -> None:
    user = USERS["national"]
    before = trail(warehouse, "view").height
    at = sign_in(fresh(period="2005-07"), user.name)
    assert not at.exception and not at.error
    assert at.title[0].value == "England · 2005-07"  # the overview names the selection
    assert at.metric  # the data is there
    sidebar = [t.value for t in at.sidebar.text]
    assert f"Signed in as {user.name}" in sidebar
    assert any("National" in t for t in sidebar)
    assert {b.label for b in at.sidebar.button} == {"Sign out"}
    # The cookie is written, with only the token's characters, on the run after sign-in.
    scripts = [h.proto.body for h in at.get("html")]
    assert any(f"{auth.COOKIE}=ey" in s and "SameSite=Strict" in s for s in scripts)
    views = trail(warehouse, "view")
    assert views.height == before + 1
    last = views.row(-1, named=True)
    assert (last["name"], last["role"]) == (user.name, "national")
    assert json.loads(last["detail"]) == {
        "page": "overview",
        "period": "2005-07",
        "region": None,
        "board": None,
    }
    assert user.name in set(trail(warehouse, "sign_in")["name"])


def test_a_reload_with_the_session_cookie_stays_signed_in(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AppTest cannot send cookies: the browser's cookie is stood in for, and the same
    token -> principal path runs (the browser test reloads for real)."""
    user = USERS["regional"]
    token = accounts.issue_session_token(warehouse, user)
    monkeypatch.setattr(auth, "browser_cookie", lambda: token)
    at = fresh(region="london")
    assert not at.exception and not at.error
    assert at.title[0].value == "London · 2009-11"
    assert f"Signed in as {user.name}" in [t.value for t in at.sidebar.text]
    assert auth.principal_from_cookie(warehouse, token) == user

    # A revoked, tampered or malformed cookie gets the form, and never reaches a script.
    accounts.revoke_session_token(warehouse, token)
    for cookie in (token, token[:-2] + "xx", 'x"; alert(1); "', None):
        monkeypatch.setattr(auth, "browser_cookie", lambda c=cookie: c)
        at = fresh()
        assert "Username" in {t.label for t in at.text_input}
        assert not shows_data(at)


def test_the_cookie_script_embeds_only_a_token() -> None:
    script = auth.cookie_script("abc.DEF-123_x.yz", 60)
    assert 'document.cookie = "scr_session=abc.DEF-123_x.yz; Path=/; Max-Age=60' in script
    assert "SameSite=Strict" in script
    assert "Max-Age=0" in auth.cookie_script(None)
    for hostile in ('a"; fetch("//evil.example")', "a</script><script>x", "a b", ""):
        with pytest.raises(ValueError):
            auth.cookie_script(hostile)


def test_signing_out_revokes_the_session(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = USERS["board"]
    at = sign_in(fresh(), user.name)
    token = at.session_state[auth._TOKEN_KEY]
    assert accounts.principal_from_token(warehouse, token) == user
    at.sidebar.button[0].click().run()
    assert "Username" in {t.label for t in at.text_input}
    assert any("signed out" in i.value for i in at.info)
    assert not shows_data(at)
    assert accounts.principal_from_token(warehouse, token) is None  # revoked
    assert any("Max-Age=0" in h.proto.body for h in at.get("html"))  # the cookie is cleared
    assert user.name in set(trail(warehouse, "sign_out")["name"])
    # A reload that still sends the old cookie gets the form.
    monkeypatch.setattr(auth, "browser_cookie", lambda: token)
    assert "Username" in {t.label for t in fresh().text_input}


def test_a_removed_user_loses_the_session_at_once(warehouse: Path) -> None:
    name = "short-lived"
    accounts.add_user(warehouse, name, "national", None, PASSWORD)
    at = sign_in(fresh(), name)
    assert at.metric
    accounts.remove_user(warehouse, name)
    at.run()
    assert "Username" in {t.label for t in at.text_input}
    assert any("session has ended" in i.value for i in at.info)
    assert not shows_data(at)


def test_the_public_view_and_back_to_the_form(warehouse: Path) -> None:
    at = fresh()
    button(at, "Continue without signing in").click().run()  # type: ignore[attr-defined]
    assert not at.exception and not at.error
    assert at.title[0].value == "England · 2009-11"
    assert "Public view (not signed in)" in [t.value for t in at.sidebar.text]
    assert at.selectbox(key="board").options == ["All boards"]  # no board is named
    views = trail(warehouse, "view")
    assert views.row(-1, named=True)["role"] == "public"
    at.sidebar.button[0].click().run()  # "Sign in"
    assert "Username" in {t.label for t in at.text_input}


@pytest.mark.parametrize(
    ("role", "params", "what"),
    [
        ("board", {"board": "SYN034"}, "board"),
        ("board", {"board": "SYN002", "period": "all"}, "board"),
        ("regional", {"board": "SYN002"}, "board"),
        ("public", {"board": "SYN001"}, "board"),
        ("public", {"board": EVIL_BOARD}, "board"),
    ],
)
def test_a_link_outside_the_scope_says_so_and_shows_no_data(
    warehouse: Path, role: str, params: dict[str, str], what: str
) -> None:
    views_before = trail(warehouse, "view").height
    at = fresh(**params)
    if role == "public":
        button(at, "Continue without signing in").click().run()  # type: ignore[attr-defined]
    else:
        at = sign_in(at, USERS[role].name)
    assert not at.exception
    assert [e.value for e in at.error] == [f"The {what} named in this link is not in your scope\\."]
    assert not shows_data(at)
    assert not at.selectbox  # not even the sidebar's catalog
    # Nothing of the refused board is echoed back.
    board = params["board"]
    assert not any(board in s for s in markdown_sources(at))
    assert trail(warehouse, "view").height == views_before  # no view: nothing was shown
    button(at, "Open the default view").click().run()  # type: ignore[attr-defined]
    assert not at.error and at.metric


def test_a_link_inside_the_scope_opens(warehouse: Path) -> None:
    at = sign_in(fresh(board="SYN001", period="all"), USERS["board"].name)
    assert not at.exception and not at.error
    assert at.selectbox(key="board").value == "SYN001"


def test_submitted_text_is_never_rendered_as_markdown(warehouse: Path) -> None:
    at = sign_in(fresh(board=EVIL_BOARD, period="2009-11"), USERS["national"].name)
    assert not at.exception and not at.error
    sources = markdown_sources(at)
    escaped = ui.plain(EVIL_NAME)
    assert escaped.startswith("\\[session expired") and "\\]\\(http\\:" in escaped
    assert any(escaped in s for s in sources)  # shown, as written
    assert not any(EVIL_NAME in s for s in sources)  # never as a link
    assert not any(bare_link(s) for s in sources)  # not even GFM's bare-URL link
    for path in ("views/benchmark.py", "views/region.py", "views/study_tables.py"):
        at.switch_page(path).run()
        assert not at.exception and not at.error
        assert not any("](http" in s or bare_link(s) for s in markdown_sources(at)), path

    at = sign_in(fresh(period="2009-11", q=EVIL_QUERY), USERS["national"].name)
    at.query_params["q"] = EVIL_QUERY  # the overview kept only its own parameters
    at.switch_page("views/recommendations.py").run()
    assert not at.exception and not at.error
    sources = markdown_sources(at)
    assert any(ui.plain(EVIL_QUERY) in s for s in sources)
    assert not any("![x](" in s or "](http" in s or bare_link(s) for s in sources)
    # The recommendation itself is shown whole, escaped, the words found highlighted.
    at.text_input(key="q").set_value("interpreters").run()
    sources = markdown_sources(at)
    assert any(search.highlight(EVIL_TEXT, ["interpreters"]) in s for s in sources)
    assert not any("![x](" in s or bare_link(s) for s in sources)


def test_plain_escapes_every_markdown_and_html_special() -> None:
    joiner = ui.WORD_JOINER  # GFM links a bare "http://", "www." or "a@b" even when escaped
    assert ui.plain(EVIL_QUERY) == (
        f"\\!\\[x\\]\\(http\\:{joiner}\\/\\/evil\\.example\\/x\\.png\\)"
    )
    assert ui.plain("www.evil.example or a@b.example") == (
        f"www{joiner}\\.evil\\.example or a{joiner}\\@b\\.example"
    )
    assert ui.plain("<img src=x> &amp; $x$ :red[a] *b* `c`\n# d") == (
        "\\<img src\\=x\\> \\&amp\\; \\$x\\$ \\:red\\[a\\] \\*b\\* \\`c\\` \\# d"
    )
    assert ui.plain("Synthetic Board 001") == "Synthetic Board 001"


def test_no_audit_trail_no_data(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(fresh(), USERS["national"].name)

    def broken(*args: object, **kwargs: object) -> None:
        raise audit.AuditUnavailable("disk full at /srv/secret/scr.security.sqlite")

    monkeypatch.setattr(audit, "record", broken)
    at.selectbox(key="period").set_value("2003-05").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The audit trail cannot be written just now, so no data can be shown. Please tell the "
        "administrator of this dashboard."
    ]
    assert not shows_data(at)


def test_an_unexpected_failure_shows_no_details(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = sign_in(fresh(), USERS["national"].name)

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("/srv/secret/warehouse/scr.duckdb")

    monkeypatch.setattr(ui, "synthetic_banner", broken)
    at.run()
    assert not at.exception  # caught, logged server-side
    shown = "\n".join(markdown_sources(at))
    assert "Something went wrong" in shown
    assert "/srv/secret" not in shown and "KeyError" not in shown


def test_a_download_is_recorded_before_its_bytes_are_made(warehouse: Path) -> None:
    user = USERS["regional"]
    made: list[int] = []

    def make() -> bytes:
        made.append(trail(warehouse, "download").height)
        return b"a,b\n1,2\n"

    before = trail(warehouse, "download").height
    detail = {"file": "x.csv", "period": "2009-11", "region": "london", "board": None}
    data = ui.recorded_download(make, warehouse, user, detail)
    assert data() == b"a,b\n1,2\n"
    assert made == [before + 1]  # the row was written before the file was built
    row = trail(warehouse, "download").row(-1, named=True)
    assert (row["name"], json.loads(row["detail"])) == (user.name, detail)


def test_the_app_config_hides_error_details() -> None:
    import tomllib

    config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def sent(at: AppTest) -> str:
    """Everything the run sent the browser (element protos, chart data included)."""
    from streamlit.testing.v1.element_tree import Block

    def walk(node: object) -> list[bytes]:
        proto = getattr(node, "proto", None)
        out = [proto.SerializeToString()] if proto is not None else []
        if isinstance(node, Block):
            for child in node.children.values():
                out += walk(child)
        return out

    return b"\n".join(walk(at._tree)).decode("utf-8", errors="replace")


def test_a_board_user_is_sent_no_other_board(warehouse: Path) -> None:
    """Sidebar options, tables and chart data (the funnel's points) name only its board."""
    user = USERS["board"]
    at = sign_in(fresh(board="SYN001", period="all"), user.name)
    assert at.selectbox(key="board").options == ["All boards", "Synthetic Board 001 (SYN001)"]
    for path in ("views/benchmark.py", "views/region.py", "views/data_quality.py"):
        at.switch_page(path).run()
        assert not at.exception and not at.error, path
        names = set(re.findall(r"Synthetic Board \d{3}", sent(at)))
        codes = set(re.findall(r"SYN\d{3}", sent(at)))
        assert names <= {"Synthetic Board 001"} and codes <= {"SYN001"}, path
    at.switch_page("views/benchmark.py").run()
    assert len(at.get("vega_lite_chart")) == 2  # the board against England, and the funnel


def test_hidden_figures_read_c_with_the_note(warehouse: Path) -> None:
    at = fresh(region="north_east", period="2009-11")
    button(at, "Continue without signing in").click().run()  # type: ignore[attr-defined]
    assert not at.exception and not at.error
    note = "c: a count from 1 to"
    values = [m.value for m in at.metric]
    assert "c" in values  # a hidden figure is c, never a blank or a zero
    assert any(c.value.startswith(note) for c in at.caption)
    at.switch_page("views/study_tables.py").run()
    assert not at.exception and not at.error
    cells = {
        str(v)
        for df in at.dataframe
        for col in ("Number", "%")
        if col in df.value.columns
        for v in df.value[col]
    }
    assert "c" in cells
    assert not cells & {"1", "2", "3", "4", "5"}
    assert any(note in i.value for i in at.info)
