"""The tables. SQLModel families per entity; every instant is a UTCDateTime.

A case row holds only a pseudonymous child reference and a birth date about the child.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def _instant(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _optional_instant() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class CaseBase(SQLModel):
    municipality: str = Field(index=True, max_length=64)
    rulebook_id: str = Field(max_length=64)
    rulebook_version: str = Field(max_length=32)
    child_ref: str = Field(max_length=64, index=True)
    birth_date: date
    source: str = Field(max_length=16)
    notifier: str | None = Field(default=None, max_length=16)
    worker: str | None = Field(default=None, index=True, max_length=64)
    team: str | None = Field(default=None, index=True, max_length=64)
    phase: str = Field(index=True, max_length=32)


class Case(CaseBase, table=True):
    __tablename__ = "case"
    __table_args__ = (
        # The dashboard's stuck list at a million cases: open cases of a phase, longest in it
        # first (docs/dashboard.md; ~0.9 s → ~65 ms per page on PostgreSQL at 1M cases).
        Index("ix_case_phase_phase_entered_at", "phase", "phase_entered_at", "id"),
        # The stuck clock (docs/decisions/009-stuck-clock.md): the stuck list reads the cases
        # over their norm in `over_norm_at` order, alone or within a team, a caseworker or a
        # phase; the counts read `stuck_at` (the earliest instant) the same four ways, covering
        # the reasons counted after it.
        Index("ix_case_over_norm_at", "over_norm_at", "id"),
        Index("ix_case_team_over_norm_at", "team", "over_norm_at", "id"),
        Index("ix_case_worker_over_norm_at", "worker", "over_norm_at", "id"),
        Index("ix_case_phase_over_norm_at", "phase", "over_norm_at", "id"),
        Index("ix_case_stuck_at", "stuck_at", "inactive_at", "consent_wait_at"),
        Index("ix_case_team_stuck_at", "team", "stuck_at", "inactive_at", "consent_wait_at"),
        Index("ix_case_worker_stuck_at", "worker", "stuck_at", "inactive_at", "consent_wait_at"),
        Index("ix_case_phase_stuck_at", "phase", "stuck_at", "inactive_at", "consent_wait_at"),
        # The breach fact: the list's second run in (breached_since, id) order, and the counts
        # of breached cases not stuck otherwise (covering: stuck_at).
        Index("ix_case_breached_since", "breached_since", "id", "stuck_at"),
        Index("ix_case_team_breached_since", "team", "breached_since", "id", "stuck_at"),
        Index("ix_case_worker_breached_since", "worker", "breached_since", "id", "stuck_at"),
        Index("ix_case_phase_breached_since", "phase", "breached_since", "id", "stuck_at"),
        # `rulebook migrate --due` and the enforcement flow's first task: the open cases of the
        # versions a change of law takes over (docs/decisions/015-law-in-force-on-the-event-
        # date.md). Partial, as closed cases keep their version for good: once the open ones
        # have moved, the flow's lookup every 15 minutes reads an empty range. The query spells
        # 'closure' as a literal, or SQLite would not use it.
        Index(
            "ix_case_open_rulebook",
            "rulebook_id",
            "rulebook_version",
            "id",
            sqlite_where=text("phase <> 'closure'"),
            postgresql_where=text("phase <> 'closure'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    aware_at: datetime = _instant()
    phase_entered_at: datetime = _instant()
    last_event_at: datetime = _instant()
    opened_at: datetime = _instant()
    # Optimistic concurrency: every event bumps it; a writer holding an older one loses.
    version: int = Field(default=1)
    # The domain's remaining facts (consents, plan, hearing, …) as one JSON document.
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audit_seq: int = Field(default=0)
    audit_hash: str = Field(default="", max_length=64)
    # The stuck clock (statemachine.stuck.stuck_clock): after these instants the case is over
    # its phase norm, inactive, waiting for consent; `stuck_at` is the earliest. NULL: never,
    # with the case's present facts. Written with every event by CaseRepository.record.
    over_norm_at: datetime | None = _optional_instant()
    inactive_at: datetime | None = _optional_instant()
    consent_wait_at: datetime | None = _optional_instant()
    # … and waiting in decision for the child conversation (Barnets Lov §5 stk. 3; migration
    # 0012).
    conversation_missing_at: datetime | None = _optional_instant()
    stuck_at: datetime | None = _optional_instant()
    # The due time of the case's oldest breached deadline (NULL: none, or the case is closed):
    # the breached-deadline fact, kept by CaseRepository.record and by the sweep's
    # mark_breaches, the two writers of a deadline's status.
    breached_since: datetime | None = _optional_instant()


class Measure(SQLModel, table=True):
    __tablename__ = "measure"
    __table_args__ = (UniqueConstraint("case_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    key: str = Field(max_length=16)
    type: str = Field(max_length=64, index=True)
    package: str | None = Field(default=None, max_length=32)
    external: bool = False
    without_consent: bool = False
    granted_at: datetime = _instant()
    started_at: datetime | None = _optional_instant()
    ended_at: datetime | None = _optional_instant()
    end_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    goals_met: bool | None = None
    last_follow_up_at: datetime | None = _optional_instant()
    follow_ups_held: int = 0


class Deadline(SQLModel, table=True):
    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("case_id", "key"),
        # The sweep's access path: unresolved deadlines by due time.
        Index("ix_deadline_status_due_at", "status", "due_at"),
        # The flow's access path (sagsflow/sweep.py: `sweep_batches`, `sweep_partition`): the
        # unresolved deadlines by id. A range of 5,000 candidates spans ~130,000 deadline ids;
        # through the primary key every one of them is read and filtered, through this index
        # only the unresolved ones (about a tenth). Partial, so it stays that small; covering
        # (case_id, rule, notified_rungs: the rest of what the sweep's queries read), so
        # PostgreSQL reads it alone rather than prefer the primary key's well-correlated heap
        # walk, or, for the sweep's whole pass, a scan of every deadline (docs/decisions/
        # 013-notified-rungs.md). The sweep's queries spell the status list as literals, or
        # SQLite would not use it.
        Index(
            "ix_deadline_unresolved_id_due_at",
            "id",
            "due_at",
            "case_id",
            "rule",
            "notified_rungs",
            sqlite_where=text("status IN ('open', 'breached')"),
            postgresql_where=text("status IN ('open', 'breached')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    key: str = Field(max_length=64)
    rule: str = Field(max_length=32)
    measure_key: str | None = Field(default=None, max_length=16)
    anchor_at: datetime = _instant()
    due_at: datetime = _instant()
    status: str = Field(max_length=16)
    source: str = Field(sa_column=Column(Text, nullable=False))
    responsible: str = Field(max_length=32)
    escalated_to: str = Field(max_length=32)
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    armed_at: datetime = _instant()
    closed_at: datetime | None = _optional_instant()
    closed_by: str | None = Field(default=None, max_length=64)
    breached_at: datetime | None = _optional_instant()
    # The rungs of its ladder with a notification stored, as a bit mask (bit r: rung r; at most
    # statemachine.rulebook.MAX_RUNGS rungs). Kept by the sweep in the transaction that inserts
    # the notifications, so it equals the (deadline_id, rung) keys of the notification table:
    # the sweep's rerun skips, in the same scan the floor makes, every deadline whose ladder has
    # nothing left to give, without reading the notification table
    # (docs/decisions/013-notified-rungs.md).
    notified_rungs: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})


class AuditRecord(SQLModel, table=True):
    """One accepted event, hash-chained per case. Append-only: triggers refuse UPDATE/DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(index=True)
    seq: int
    event: str = Field(max_length=64)
    from_phase: str | None = Field(default=None, max_length=32)
    to_phase: str = Field(max_length=32)
    event_at: datetime = _instant()
    recorded_at: datetime = _instant()
    actor: str = Field(max_length=64)
    role: str = Field(max_length=32)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    legal_basis: str = Field(sa_column=Column(Text, nullable=False))
    rulebook: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    # HMAC-SHA-256 under the key `key_id` names (the key never in the database); a record
    # without key_id is an unkeyed SHA-256 one from before the installation had keys
    # (statemachine/audit.py, docs/decisions/019-keyed-chain-and-checkpoints.md).
    hash: str = Field(max_length=64)
    key_id: str | None = Field(default=None, max_length=32)
    # cli | api | dashboard | flow; the CLI's operating-system user; an actor who acted as the
    # operator (`--operator`) rather than in a role the organisation file gives them.
    channel: str | None = Field(default=None, max_length=16)
    os_user: str | None = Field(default=None, max_length=64)
    as_operator: bool | None = Field(default=None)


class Notification(SQLModel, table=True):
    """The outbox: one row per deadline and ladder rung, whatever reruns happen.

    status: pending → sending (claimed by a deliverer) → sent; or parked (needs a person: no
    address, or kept failing) or dropped (no longer relevant). See sagsflow/delivery.py.
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("deadline_id", "rung"),
        # The deliverer's access path: pending rows by when they are next due.
        Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    case_id: int = Field(index=True)
    rung: int  # position in the rulebook's ladder: the escalation level
    level: str = Field(max_length=16)  # reminder | breach | escalation
    recipient_role: str = Field(max_length=32)
    due_at: datetime = _instant()
    send_after: datetime = _instant()
    created_at: datetime = _instant()
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    # Who it went (or was to go) to, resolved through the organisation file when claimed.
    recipient: str | None = Field(default=None, max_length=64)
    recipient_email: str | None = Field(default=None, max_length=254)
    next_attempt_at: datetime | None = _optional_instant()  # None: due now
    last_attempt_at: datetime | None = _optional_instant()
    sent_at: datetime | None = _optional_instant()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Why it left the queue unsent (parked or dropped), for a person to read.
    parked_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class User(SQLModel, table=True):
    """A person who signs in to the API or the dashboard: a role, and a team for the team-bound
    roles. No personal data beyond the user name the municipality chose (see sagsflow/access.py)."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=32)
    team: str | None = Field(default=None, max_length=64)
    # scrypt, "scrypt$n$r$p$salt$hash" (hex); None: signs in by one-time link only.
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = _instant()
    disabled_at: datetime | None = _optional_instant()


class Credential(SQLModel, table=True):
    """A bearer token (`api`) or a one-time sign-in link (`sign_in`), stored only as its SHA-256.

    Tokens are 256 random bits, so a fast hash is enough: there is nothing to guess.
    """

    __tablename__ = "credential"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    kind: str = Field(max_length=16)  # api | sign_in
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _instant()
    expires_at: datetime | None = _optional_instant()
    used_at: datetime | None = _optional_instant()  # sign_in: redeemed (once); api: last use
    revoked_at: datetime | None = _optional_instant()


class AccessRecord(SQLModel, table=True):
    """Who looked at or changed which case, when (a read of a case is itself sensitive).

    Append-only like the audit log: triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_case_id_at", "case_id", "at"),
        Index("ix_access_log_seq", "seq", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _instant()
    user_name: str = Field(max_length=64, index=True)
    role: str = Field(max_length=32)
    case_id: int | None = Field(default=None)  # None: a list or report over many cases
    action: str = Field(max_length=16)  # read | write | export | list | sign_in
    channel: str = Field(max_length=16)  # api | dashboard
    what: str = Field(max_length=255)  # the route or page, e.g. "GET /api/v1/cases/7"
    # One chain over the whole log, MACed like the audit trail (statemachine/audit.py): the
    # row's place in it, the previous row's MAC and its own. NULL: a row from before the chain.
    seq: int | None = Field(default=None)
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)
    key_id: str | None = Field(default=None, max_length=32)


class LogHead(SQLModel, table=True):
    """The head of a chain that is not a case's: the access log's (name "access_log"). Locked
    by its writer, so rows join the chain one at a time."""

    __tablename__ = "log_head"

    name: str = Field(primary_key=True, max_length=32)
    seq: int = 0
    hash: str = Field(default="", max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed checkpoint of the audit trail (`sagsflow audit checkpoint`, the enforcement
    flow): how many cases and records, the access log's head, a digest over every case's chain
    head, and the heads that changed since the checkpoint before — the same line as written
    to the append-only file outside the database, with its MAC. Append-only (triggers)."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _instant()
    line: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON, MACed
    key_id: str = Field(max_length=32)
    mac: str = Field(max_length=64)


class OpenCaseload(SQLModel, table=True):
    """A read model: open cases (not in closure) per municipality, team and caseworker.

    Kept by the one audit writer (`CaseRepository.add` and `.record`) in the event's own
    transaction, so the caseload page and the department head's per-team figures read a few
    thousand counters instead of grouping a million case rows (docs/decisions/011). No case is
    without a municipality; a case without a team or a caseworker counts under '' (a key
    column cannot be NULL).
    """

    __tablename__ = "open_caseload"

    municipality: str = Field(primary_key=True, max_length=64)
    team: str = Field(primary_key=True, max_length=64)
    worker: str = Field(primary_key=True, max_length=64)
    open_cases: int = Field(default=0)


# The tally's partial index of the rows that count (n <> 0), by outcome and due day: named, as
# reads name it to SQLite (`INDEXED BY`: sagsflow/read/compliance.py).
COUNTED_BY_OUTCOME_AND_DAY = "ix_deadline_tally_outcome_due_day"


class DeadlineTally(SQLModel, table=True):
    """A read model: how many deadlines fell (or fall) due on one Copenhagen day, per case owner
    and rule, by how they count whatever the time (`statemachine.late.settled`; `open` for the
    still open ones, which the reader resolves against its `now`; `breached` apart from `late`). Kept in the writing
    transaction by `CaseRepository.record` and the sweep's breach marking
    (docs/decisions/010-read-models.md). No case has an empty team or worker id, so "" stands
    for none here (a key column cannot be NULL)."""

    __tablename__ = "deadline_tally"
    __table_args__ = (
        Index("ix_deadline_tally_due_day", "due_day"),
        # A team's roll-ups (worker "*") and the municipality's (team and worker "*") by day:
        # equality on both, then the range (a (team, due_day) index lost to (worker, due_day),
        # whose statistics average away the skew of "*").
        Index("ix_deadline_tally_team_worker_due_day", "team", "worker", "due_day"),
        Index("ix_deadline_tally_worker_due_day", "worker", "due_day"),
        # The overview's breached count (only the breached rows), and the open rows of a few
        # days that a span holding today needs to split (`read.compliance.tallied`).
        # Only rows that count (a deadline moved on leaves its old row at 0: the open rows of
        # the days the sweep has since breached would otherwise be read again and again).
        Index(
            COUNTED_BY_OUTCOME_AND_DAY,
            "outcome",
            "due_day",
            sqlite_where=text("n <> 0"),
            postgresql_where=text("n <> 0"),
        ),
    )

    municipality: str = Field(primary_key=True, max_length=64)
    team: str = Field(primary_key=True, max_length=64)
    worker: str = Field(primary_key=True, max_length=64)
    rule: str = Field(primary_key=True, max_length=32)
    due_day: date = Field(primary_key=True)
    # on_time | late | cancelled | open | breached (late, kept apart)
    outcome: str = Field(primary_key=True, max_length=16)
    n: int = 0


class DeadlineTallySpan(SQLModel, table=True):
    """A read model: the deadline tally's team and municipality roll-ups (`DeadlineTally`'s
    rows of worker "*") summed over each calendar month and quarter of their Copenhagen due
    day, one row per team and rule with a count per outcome (the tally's outcomes as columns).
    A department head's quarter over 4,000 teams reads one row per team and rule instead of
    one per day and outcome as well (docs/decisions/012-tally-spans.md, 014-span-columns.md).
    Kept with the tally, in the same transaction and key order."""

    __tablename__ = "deadline_tally_span"
    # Stored in key order on SQLite (a period's rows are one contiguous run, read with their
    # counts), as PostgreSQL reads them through the key's index.
    __table_args__ = {"sqlite_with_rowid": False}

    # "month" | "quarter" (statemachine.periods.month_of / quarter_of), and its first day.
    span: str = Field(primary_key=True, max_length=8)
    first_day: date = Field(primary_key=True)
    # Key order: a period's rows of every team (a range), or of one team (equality).
    team: str = Field(primary_key=True, max_length=64)  # "*": the municipality's
    municipality: str = Field(primary_key=True, max_length=64)
    rule: str = Field(primary_key=True, max_length=32)
    # The tally's outcomes (models/readmodels.py `outcome_of`), each a column: settled on time,
    # settled late, cancelled before due, still open, breached.
    on_time: int = 0
    late: int = 0
    cancelled: int = 0
    open: int = 0
    breached: int = 0


class PhaseStay(SQLModel, table=True):
    """A read model: one ended stay of a case in a phase (from one phase change to the next in
    the audit log), written by `CaseRepository.record` with the change that ends it, so the
    report's medians are a query over a period's stays by their end."""

    __tablename__ = "phase_stay"
    __table_args__ = (Index("ix_phase_stay_left_at", "left_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(index=True)
    municipality: str = Field(max_length=64)
    team: str | None = Field(default=None, max_length=64)
    worker: str | None = Field(default=None, max_length=64)
    phase: str = Field(max_length=32)
    entered_at: datetime = _instant()
    left_at: datetime = _instant()
    days: float


class DashboardSession(SQLModel, table=True):
    """A signed-in dashboard session (docs/decisions/021-sessions-and-sign-in-throttling.md).

    The cookie carries a random session id; the table holds only its SHA-256. A session is
    alive while it has not ended, is at most 12 hours old and was seen within the idle timeout;
    signing out ends it, and `user revoke`, `user password` and `user disable` end every session
    of the user. Kept after it ends, as the record of who was signed in when.
    """

    __tablename__ = "dashboard_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    id_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _instant()
    last_seen_at: datetime = _instant()  # written at most once a minute
    ended_at: datetime | None = _optional_instant()
    # sign_out | revoked | password | disabled
    ended_why: str | None = Field(default=None, max_length=16)


class SignInFailure(SQLModel, table=True):
    """A failed dashboard sign-in, counted to pause signing in (five within 15 minutes pause the
    account, or the client address, for 15 minutes). The account is a keyed hash of the name
    typed — never the name, which may be a mistyped password —, empty for a sign-in link that
    is no one's; the address is the client's (an IPv6 one by its /64). Who failed is in the
    access log."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (
        Index("ix_sign_in_failure_account_at", "account", "at"),
        Index("ix_sign_in_failure_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _instant()
    account: str | None = Field(default=None, max_length=64)
    address: str = Field(max_length=64)
