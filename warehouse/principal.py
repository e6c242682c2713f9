"""Who is asking: the principal every read of the warehouse is made for.

Four audiences, each with a scope (issue 7):

- ``national`` (researchers, national analysts): everything, free text, the ledger and
  record-level views;
- ``regional`` (a government office; scope = a region code): its region's boards in full;
  England and other regions only as aggregates under disclosure control;
- ``board`` (an LSCB; scope = a board code): its own board in full; its region and England
  as aggregates under disclosure control; other boards never named;
- ``public`` (no sign-in): national and regional aggregates under disclosure control only.

The same object comes from a local sign-in (``warehouse.accounts``), from an identity
provider's claims (Streamlit's ``st.login``; see the README) or, for the command line, is
:data:`ANALYST`: whoever holds the warehouse file already holds every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["national", "regional", "board", "public"]
ROLES: tuple[Role, ...] = get_args(Role)
SCOPED_ROLES: frozenset[str] = frozenset({"regional", "board"})


class InvalidPrincipal(ValueError):
    """A role without its scope, a scope on a role that takes none, or an unknown role."""


@dataclass(frozen=True)
class Principal:
    """A signed-in user (or the public): name, role and, for regional and board, a scope."""

    name: str
    role: Role
    scope_code: str | None = None  # region code (regional) or board code (board)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InvalidPrincipal(f"unknown role {self.role!r}: one of {', '.join(ROLES)}")
        if self.role in SCOPED_ROLES and not self.scope_code:
            what = "a region code" if self.role == "regional" else "a board code"
            raise InvalidPrincipal(f"role {self.role!r} needs a scope: {what}")
        if self.role not in SCOPED_ROLES and self.scope_code:
            raise InvalidPrincipal(f"role {self.role!r} takes no scope")

    @property
    def is_public(self) -> bool:
        return self.role == "public"

    @property
    def sees_everything(self) -> bool:
        return self.role == "national"

    @property
    def region(self) -> str | None:
        """The region in full view (regional role only)."""
        return self.scope_code if self.role == "regional" else None

    @property
    def board(self) -> str | None:
        """The board in full view (board role only)."""
        return self.scope_code if self.role == "board" else None

    def describe(self) -> str:
        """E.g. "board SYN001", "regional london", "national", "public"."""
        return f"{self.role} {self.scope_code}" if self.scope_code else self.role


PUBLIC = Principal("public", "public")
# The command line and the pipeline: whoever can open the warehouse file sees every row.
ANALYST = Principal("analyst", "national")
