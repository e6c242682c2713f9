"""Who is looking: sign-in, the session cookie and the principal of this browser session.

The principal lives in ``st.session_state`` once the visitor has signed in (or chose to
continue without signing in, which gives :data:`warehouse.principal.PUBLIC`). Everything
that reads data asks :func:`current_principal`; the read layer, not the views, decides what
that principal may see.

A signed-in session is a signed, expiring token (``warehouse.accounts``) kept in
``st.session_state`` and in the ``scr_session`` cookie, so reloading the page keeps the
user signed in until the token expires. The token is checked again on every run: a user
removed, given another role or signed out elsewhere loses the session at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from warehouse import accounts
from warehouse.principal import PUBLIC, Principal

COOKIE = "scr_session"
SESSION_TTL_SECONDS = 8 * 3600
PRINCIPAL_KEY = "_scr_principal"
_TOKEN_KEY = "_scr_token"
# A cookie to write (or clear) on the next run: written then, the script element is part of
# a page that stays on screen, so the browser runs it before anything replaces it.
_COOKIE_KEY = "_scr_cookie_pending"
_NOTICE_KEY = "_scr_sign_in_notice"
# A signed token (JWT) is base64url parts joined by dots: nothing else may reach the script.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
FAILED = "Username or password is not right."
# Streamlit's show-password toggle is labelled "Show password", so "the field labelled
# Password" would match two elements (assistive technology and browser automation look up
# fields by label). The toggle keeps working, with a name that does not say "password".
_TOGGLE_NAMES_SCRIPT = """<script>
(() => {
  const names = {"Show password": "Show what is typed", "Hide password": "Hide what is typed"};
  const rename = () => document.querySelectorAll("button[aria-label]").forEach((b) => {
    const name = names[b.getAttribute("aria-label")];
    if (name) b.setAttribute("aria-label", name);
  });
  rename();
  new MutationObserver(rename).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"],
  });
})();
</script>"""


def current_principal() -> Principal:
    """The principal of this session: the signed-in user, else the public."""
    principal = st.session_state.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else PUBLIC


def current_token() -> str | None:
    """This session's signed token (None for the public view)."""
    token = st.session_state.get(_TOKEN_KEY)
    return token if isinstance(token, str) else None


def is_token(value: object) -> bool:
    """Whether ``value`` has the shape of a signed token (and so is safe inside a script)."""
    return isinstance(value, str) and len(value) <= 4096 and bool(_TOKEN_SHAPE.fullmatch(value))


def browser_cookie() -> object:
    """The ``scr_session`` cookie the browser sent when it opened this session."""
    return st.context.cookies.get(COOKIE)


def principal_from_cookie(warehouse: Path, cookie: object) -> Principal | None:
    """The principal a ``scr_session`` cookie vouches for, or None (absent, malformed,
    expired, revoked, or its user removed)."""
    if not isinstance(cookie, str) or not is_token(cookie):
        return None
    return accounts.principal_from_token(warehouse, cookie)


def cookie_script(token: str | None, ttl_seconds: int = SESSION_TTL_SECONDS) -> str:
    """The script that stores ``token`` in the session cookie (None clears it).

    Raises ValueError for anything that is not a token: it is embedded in JavaScript.
    """
    if token is None:
        value, max_age = "", 0
    elif is_token(token):
        value, max_age = token, int(ttl_seconds)
    else:
        raise ValueError("not a session token")
    secure = "; Secure" if (st.context.url or "").startswith("https:") else ""
    return (
        f'<script>document.cookie = "{COOKIE}={value}; Path=/; Max-Age={max_age}; '
        f'SameSite=Strict{secure}";</script>'
    )


def _write_pending_cookie() -> None:
    pending = st.session_state.pop(_COOKIE_KEY, None)
    if pending is not None:
        token, ttl = pending
        st.html(cookie_script(token, ttl), unsafe_allow_javascript=True)


def _start_session(principal: Principal, token: str | None) -> None:
    st.session_state[PRINCIPAL_KEY] = principal
    if token is None:
        st.session_state.pop(_TOKEN_KEY, None)
    else:
        st.session_state[_TOKEN_KEY] = token


def _end_session(notice: str | None = None) -> None:
    """Forget the principal and everything chosen under it (filters, data access, the
    views recorded), and clear the cookie on the next run (the sign-in form)."""
    had_token = current_token() is not None
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if had_token:
        st.session_state[_COOKIE_KEY] = (None, 0)
    if notice:
        st.session_state[_NOTICE_KEY] = notice


def session_principal(warehouse: Path) -> Principal | None:
    """The principal of this session, checked again now; None means: show the sign-in form.

    From the session's token if it has one, else the public view if chosen, else the
    ``scr_session`` cookie the browser sent (a reload of a signed-in page).
    """
    _write_pending_cookie()
    token = current_token()
    if token is not None:
        principal = accounts.principal_from_token(warehouse, token)
        if principal is None:
            _end_session("Your session has ended. Sign in again.")
            _write_pending_cookie()  # clear the stale cookie on the form's run
            return None
        _start_session(principal, token)  # the role or scope may have changed
        return principal
    if isinstance(st.session_state.get(PRINCIPAL_KEY), Principal):
        return current_principal()
    cookie = browser_cookie()
    principal = principal_from_cookie(warehouse, cookie)
    if principal is not None and isinstance(cookie, str):
        _start_session(principal, cookie)
    return principal


def sign_in_form(warehouse: Path) -> None:
    """The sign-in form, and the way into the public view. Stops the run."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("SCR Observatory")
        st.markdown(
            "Serious case reviews: national tabulations, regional and board views. "
            "Sign in with the account your organisation gave you, or continue without "
            "signing in to see the public figures (national and regional aggregates)."
        )
        notice = st.session_state.pop(_NOTICE_KEY, None)
        if notice:
            st.info(notice, icon=":material/logout:")
        st.html(_TOGGLE_NAMES_SCRIPT, unsafe_allow_javascript=True)
        with st.form("sign_in", enter_to_submit=True):
            name = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password", autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            client = st.context.ip_address
            principal = accounts.authenticate(
                warehouse, name.strip(), password, client=client if isinstance(client, str) else ""
            )
            if principal is None:
                # One message whatever was wrong: no hint whether the username exists.
                st.error(FAILED, icon=":material/lock:")
            else:
                token = accounts.issue_session_token(
                    warehouse, principal, ttl_seconds=SESSION_TTL_SECONDS
                )
                _start_session(principal, token)
                st.session_state[_COOKIE_KEY] = (token, SESSION_TTL_SECONDS)
                st.rerun()
        st.divider()
        if st.button("Continue without signing in", icon=":material/public:"):
            _start_session(PUBLIC, None)
            st.rerun()
        st.caption(
            "The public view shows national and regional figures only, with small counts "
            "hidden (shown as c)."
        )
    st.stop()


def sign_out(warehouse: Path) -> None:
    """Revoke this session's token (recorded as sign_out) and return to the sign-in form."""
    token = current_token()
    if token is not None:
        accounts.revoke_session_token(warehouse, token)
    _end_session("You have signed out.")


def back_to_sign_in() -> None:
    """Leave the public view for the sign-in form."""
    _end_session()


def sidebar_account(warehouse: Path, principal: Principal) -> None:
    """Who is looking, and the way out (or in)."""
    box = st.sidebar.container(border=True)
    if principal.is_public:
        box.text("Public view (not signed in)")
        box.button("Sign in", on_click=back_to_sign_in, icon=":material/login:", width="stretch")
        return
    # st.text: a name or scope code is shown as typed, never as Markdown.
    box.text(f"Signed in as {principal.name}")
    scope = f": {principal.scope_code}" if principal.scope_code else ""
    box.text(ROLE_LABELS[principal.role] + scope)
    box.button(
        "Sign out", on_click=sign_out, args=(warehouse,), icon=":material/logout:", width="stretch"
    )


ROLE_LABELS = {
    "national": "National analyst (everything)",
    "regional": "Regional office",
    "board": "Safeguarding board",
    "public": "Public",
}
