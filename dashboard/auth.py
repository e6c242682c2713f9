"""Who is looking: the signed-in principal of this browser session.

The principal lives in ``st.session_state`` once the visitor has signed in (or chose to
continue without signing in, which gives :data:`warehouse.principal.PUBLIC`). Everything
that reads data asks :func:`current_principal`; the read layer, not the views, decides what
that principal may see.
"""

from __future__ import annotations

import streamlit as st

from warehouse.principal import PUBLIC, Principal

PRINCIPAL_KEY = "_scr_principal"


def current_principal() -> Principal:
    """The principal of this session: the signed-in user, else the public."""
    principal = st.session_state.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else PUBLIC
