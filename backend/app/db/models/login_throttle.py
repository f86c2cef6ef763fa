from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ThrottleKind(StrEnum):
    """What a row of `login_throttles` counts failed sign-ins of: one account (the e-mail as typed, trimmed and
    lower-cased, whether or not such a user exists), one client address, or one account from one address."""

    account = "account"
    address = "address"
    account_address = "account_address"


class LoginThrottle(Base):
    """Failed sign-ins of one account, address or (account, address) pair, shared by every worker.

    `key` is the SHA-256 (hex) of what is counted, so the table holds no e-mail or address in clear and any text
    fits. Instants are integer milliseconds since the epoch (UTC): every change is one atomic upsert whose
    arithmetic (window expiry, lockout, doubling) is plain integer SQL on both databases. `locked_until_ms` is 0
    when never locked; `next_lockout_ms` is how long the next lockout lasts (doubled at each lockout up to a cap,
    back to the first length once a lockout is a whole window in the past). Rows untouched for longer than a
    window plus the longest lockout carry no state a fresh row would not, and are pruned.
    """

    __tablename__ = "login_throttles"

    kind: Mapped[ThrottleKind] = mapped_column(
        Enum(ThrottleKind, native_enum=False, create_constraint=True, length=16, name="throttle_kind",
             values_callable=lambda e: [m.value for m in e]),
        primary_key=True,
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    window_start_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    locked_until_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    next_lockout_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_failure_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
