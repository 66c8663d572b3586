"""The API's wire models: what a request may carry and what each answer holds (OpenAPI).

Input is bounded where the database or the calendar would otherwise fail on it, and the OpenAPI
document says so: names are 1-64 printable characters (no NUL: PostgreSQL cannot store it);
instants are ISO 8601 text (`format: date-time` with a `pattern`; a number is refused, never
read as seconds since 1970) in 1900-2999 and may omit the offset (then they are Europe/Copenhagen
time, as in the CLI); days are YYYY-MM-DD text in the same years; event data is a JSON object
of at most 50 fields, 16 levels deep and 1,000 values in all, without lone surrogates, and each
event's own data is published with its bounds (`statemachine.payloads`, components
`EventData…`). The request body itself is bounded by SAGSFLOW_MAX_BODY_BYTES (413).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from statemachine.calendar import DAY_PATTERN, EARLIEST, INSTANT_PATTERN, LATEST, localize
from statemachine.payloads import (
    INSTANT_EXAMPLE,
    MAX_DEPTH,
    MAX_VALUES,
    Shape,
    iso_text,
    shape_problem,
)
from statemachine.phases import CASE_EVENTS, Event, Notifier, Phase, Role, Source

PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
MAX_ID = 2**31 - 1
MAX_DATA_FIELDS = 50  # top-level fields of event data (the widest event has seven)

Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=PRINTABLE)]


def _instant(value: datetime) -> datetime:
    # Without an offset: Copenhagen wall-clock time, refused when the clocks skip it or show it
    # twice (statemachine.calendar.localize).
    if value.tzinfo is None:
        value = localize(value)
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must lie between 1900-01-01 and 2999-12-31")
    return value.astimezone(UTC)


def _day(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError("must lie between 1900-01-01 and 2999-12-31")
    return value


INSTANT_WORDS = "ISO 8601 text, years 1900-2999; without an offset: Copenhagen time."
INSTANT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "pattern": INSTANT_PATTERN,
    "description": INSTANT_WORDS,
}
# An ISO 8601 instant as text; without an offset it is Europe/Copenhagen time. Carried as UTC.
Instant = Annotated[
    datetime,
    BeforeValidator(iso_text(INSTANT_PATTERN, INSTANT_EXAMPLE)),
    AfterValidator(_instant),
    WithJsonSchema(INSTANT_SCHEMA),
]
Day = Annotated[
    date,
    BeforeValidator(iso_text(DAY_PATTERN, "2026-03-01")),
    AfterValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]


def _case_event(value: Event) -> Event:
    if value not in CASE_EVENTS:
        raise ValueError(f"{value} is not an event a person fires on a case")
    return value


CaseEvent = Annotated[
    Event,
    AfterValidator(_case_event),
    WithJsonSchema({"type": "string", "enum": [e.value for e in CASE_EVENTS]}),
]

_SHAPES = {
    Shape.TOO_DEEP: f"nested more than {MAX_DEPTH} levels deep",
    Shape.TOO_LARGE: f"more than {MAX_VALUES} values",
    Shape.NOT_UNICODE: "a string is not valid Unicode (a lone surrogate)",
}


def _plain_json(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse what no database stores (lone surrogates in a string or key), deep nesting and
    sheer size (`statemachine.payloads.shape_problem`)."""
    if len(value) > MAX_DATA_FIELDS:
        raise ValueError(f"more than {MAX_DATA_FIELDS} fields")
    problem = shape_problem(value)
    if problem is not None:
        raise ValueError(_SHAPES[problem])
    return value


# Its OpenAPI schema is every event's own (sagsflow.api.openapi_event_data).
EventData = Annotated[dict[str, Any], AfterValidator(_plain_json)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests ----------------------------------------------------------------------------------


class CaseOpen(_Request):
    """A new case in phase inquiry, pinned to the rulebook in force on its awareness date."""

    child_ref: Name = Field(description="A pseudonymous child reference, never a CPR number.")
    birth_date: Day | None = Field(default=None, description="The child's date of birth.")
    expected_birth_date: Day | None = Field(
        default=None,
        description="Instead of `birth_date`, for a child not yet born (support to expectant "
        "parents): on or after the awareness date, within the rulebook's `expected_birth`.",
    )
    aware_at: Instant = Field(
        description="When the municipality became aware (starts the clocks). " + INSTANT_WORDS
    )
    source: Source
    notifier: Notifier | None = Field(default=None, description="Only for a notification.")
    applied_for: Name | None = Field(
        default=None,
        description="Only for an application: the measure type applied for; its published "
        "decision deadline runs from receipt (retssikkerhedsloven §3 stk. 2).",
    )
    worker: Name | None = Field(
        default=None, description="The responsible caseworker; a caseworker's default: themself."
    )
    team: Name | None = Field(
        default=None,
        description="A caseworker's or team leader's own team (the default, and the only one).",
    )
    municipality: Name | None = Field(
        default=None, description="Default: SAGSFLOW_MUNICIPALITY; it chooses the rulebook."
    )
    new_case: StrictBool = Field(
        default=False,
        description="A notification for a child with an open case is attached to that case "
        "(`receive_notification`); true opens a separate case deliberately.",
    )

    @model_validator(mode="after")
    def _one_birth_date(self) -> Self:
        # Born or expected: exactly one of the two dates.
        if (self.birth_date is None) == (self.expected_birth_date is None):
            raise PydanticCustomError(
                "birth_date_or_expected",
                "give either birth_date (the child is born) or expected_birth_date (the child "
                "is not born yet), not both",
            )
        return self

    @property
    def birth_day(self) -> date:
        """The date given: the birth date, or the expected one."""
        day = self.birth_date or self.expected_birth_date
        assert day is not None  # _one_birth_date
        return day


class EventRequest(_Request):
    """One event on a case. The actor and the role are the token's user, never the body's."""

    event: CaseEvent
    at: Instant = Field(
        description="When it happened; not in the future, not before the last. " + INSTANT_WORDS
    )
    data: EventData | None = Field(
        default=None, description='The event\'s data, e.g. {"by": "custody_holder"}.'
    )
    expected_version: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None, description="Refuse (409) if the case has changed since this version."
    )


# --- answers -----------------------------------------------------------------------------------


class Me(BaseModel):
    name: str
    role: Role
    team: str | None
    scope: str = Field(description="Which cases: own_and_team, team, all or none.")
    read_only: bool


class Accepted(BaseModel):
    """An accepted event (or a case opened), as `sagsflow case fire --json` prints it."""

    id: int = Field(description="The case id.")
    event: str
    from_phase: str
    phase: str
    version: int
    audit_seq: int


class CaseSummary(BaseModel):
    id: int
    phase: Phase
    municipality: str
    rulebook: str
    child_ref: str
    worker: str | None
    team: str | None
    aware_at: datetime
    phase_entered_at: datetime
    last_event_at: datetime
    version: int


class Paged(BaseModel):
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null: last page.")


class CasePage(Paged):
    items: list[CaseSummary]


class MeasureOut(BaseModel):
    id: str
    type: str
    title: str
    package: str | None
    external: bool
    without_consent: bool
    granted_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    goals_met: bool | None
    last_follow_up_at: datetime | None
    follow_ups_held: int
    follow_up_every: dict[str, Any] | None = Field(
        default=None,
        description="The case's own follow-up interval (Barnets Lov §95 stk. 3); null: the "
        "service level's cadence.",
    )
    active: bool


class DeadlineOut(BaseModel):
    id: int
    key: str
    rule: str
    measure_id: str | None
    due_at: datetime
    status: str
    source: str
    responsible: str
    escalated_to: str
    anchor_at: datetime
    explanation: str = Field(description="Why it falls due then, worded (Accept-Language).")
    arithmetic: dict[str, Any] | None = Field(
        default=None, description="The calendar arithmetic behind the due date, as data."
    )
    closed_at: datetime | None
    closed_by: str | None
    breached_at: datetime | None


class HistoryRecord(BaseModel):
    seq: int
    event: str
    from_phase: str | None
    to_phase: str
    at: datetime
    recorded_at: datetime
    actor: str
    role: str
    payload: dict[str, Any]
    legal_basis: str
    rulebook: str
    hash: str


class ComplaintOut(BaseModel):
    complaint: int = Field(description="The audit sequence number of its record_complaint record.")
    decision_seq: int = Field(description="The audit sequence number of the decision.")
    decision: str
    received_at: datetime | None
    late: bool = Field(description="Received after the complaint period (§67 stk. 1).")
    direct: bool = Field(description="A committee decision: to Ankestyrelsen at once.")
    status: Literal[
        "awaiting_reassessment", "awaiting_forwarding", "forwarded", "changed", "decided"
    ]
    reassessment_outcome: str | None
    appeal_outcome: str | None


class NotificationOut(BaseModel):
    notification: int = Field(description="The audit sequence number of its record.")
    aware_at: datetime | None
    notifier: str


class CaseDetail(BaseModel):
    """`sagsflow case show --json`: the case, its measures, deadlines and history."""

    id: int
    phase: Phase
    version: int
    rulebook: str
    municipality: str
    child_ref: str
    birth_date: date | None = Field(description="None while the child is not yet born.")
    expected_birth_date: date | None = Field(
        description="The expected date of birth of a child not yet born (support to expectant "
        "parents), until `record_birth` records the birth."
    )
    aware_at: datetime
    source: str
    notifier: str | None
    worker: str | None
    team: str | None
    phase_entered_at: datetime
    last_event_at: datetime
    consents: list[str]
    decided_without_consent: bool
    investigation_without_consent_of: list[str] | None = Field(
        description="Whose consent was missing when the investigation was opened (Barnets Lov "
        "§20, §22 stk. 2: it runs without it); null: not opened."
    )
    compulsory_examination_at: datetime | None = Field(
        description="When the committee decided the compulsory examination (Barnets Lov §23)."
    )
    applied_for: str | None = Field(description="The measure type applied for, if any.")
    applied_for_title: str | None
    decision_expected_by: date | None = Field(
        description="The date the applicant was told to expect the decision by "
        "(retssikkerhedsloven §3 stk. 2)."
    )
    child_conversation_at: datetime | None = Field(
        description="When the last conversation with the child was held (Barnets Lov §5 stk. 3)."
    )
    child_conversation_without_parents: bool | None = Field(
        description="Whether that conversation was held without the parents."
    )
    child_conversation_exception_at: datetime | None = Field(
        description="When the last exception from the conversation was recorded (§5 stk. 4); "
        "its ground is in the audit record."
    )
    action_plan: dict[str, Any] | None
    close_reason: str | None
    complaints: list[ComplaintOut] = Field(
        default=[],
        description="Complaints about the case's decisions (retssikkerhedsloven §§ 66-67).",
    )
    notifications: list[NotificationOut] = Field(
        default=[],
        description="Further notifications received on the open case (Barnets Lov §136).",
    )
    allowed_events: list[str] = Field(description="The phase graph's events (guards not run).")
    measures: list[MeasureOut]
    deadlines: list[DeadlineOut]
    history: list[HistoryRecord]


class EventOptionOut(BaseModel):
    event: str
    possible: bool = Field(description="The competence plan and the guards allow it now.")
    needs_data: bool
    code: str | None = Field(default=None, description="The refusal's code (a contract).")
    params: dict[str, Any] | None = Field(default=None, description="The refusal's parameters.")
    reason: str | None = Field(
        description="Why not; for a possible event with data, what its guards say without it."
    )


class EventOptions(BaseModel):
    case_id: int
    phase: Phase
    version: int
    role: Role
    events: list[EventOptionOut]


class BreachedDeadlineOut(BaseModel):
    id: int
    rule: str
    measure_id: str | None
    due_at: datetime
    days_overdue: int
    hours_overdue: int | None = Field(
        default=None,
        description="Whole hours over, for a deadline counted in hours (the 24-hour "
        "assessment, Barnets Lov §136); null for one counted in days.",
    )
    statutory: bool = Field(
        default=True,
        description="The law sets the deadline (true) or the municipality's service level does.",
    )


class ProjectedClockOut(BaseModel):
    rule: str
    due_at: datetime
    days_left: int = Field(description="Days to the due day; negative: over.")
    source: str
    projected: bool = Field(
        default=True,
        description="Not a deadline of the case: the one an investigation opened now would have.",
    )


StuckReason = Literal[
    "over_phase_norm",
    "inactive",
    "breached_deadline",
    "waiting_for_consent",
    "child_conversation_missing",
    "supervision_overdue",
    "complaint_reassessment_overdue",
]


class StuckCase(BaseModel):
    case_id: int
    phase: Phase
    worker: str | None
    team: str | None
    municipality: str
    rulebook: str
    days_in_phase: int
    phase_norm: str | None
    days_over_norm: int
    days_since_last_event: int
    reasons: list[StuckReason]
    breached_deadlines: list[BreachedDeadlineOut]
    projected_investigation: ProjectedClockOut | None = Field(
        default=None,
        description="In inquiry or clarification: the investigation deadline counted from "
        "awareness (Barnets Lov §20 stk. 3) that opening an investigation would give.",
    )


class StuckPage(Paged):
    total: int = Field(description="Stuck cases matching the filters, on every page.")
    next_after: str | None = Field(
        default=None,
        description="The cursor of the next page (query parameter `after`); null: last page.",
    )
    items: list[StuckCase]


class DueDeadline(BaseModel):
    id: int
    case_id: int
    key: str
    rule: str
    measure_id: str | None
    due_at: datetime
    status: str
    days_left: int = Field(description="Days from today to the due day; negative: overdue.")
    source: str
    responsible: str
    escalated_to: str
    phase: Phase
    worker: str | None
    team: str | None
    municipality: str
    child_ref: str


class DeadlinePage(Paged):
    items: list[DueDeadline]


class ShareOut(BaseModel):
    on_time: int
    late: int
    counted: int
    share: float | None = Field(description="on_time / counted; null when none counted.")
    pending: int
    cancelled: int


class PhaseStay(BaseModel):
    median_days: float
    stays: int


class ComplianceRowOut(BaseModel):
    scope: Literal["team", "municipality"]
    municipality: str
    team: str | None
    label: str
    shares: dict[str, ShareOut] = Field(description="Per deadline rule.")
    median_days: dict[str, PhaseStay] = Field(description="Per phase.")


class Compliance(BaseModel):
    period_start: date
    period_end: date
    generated_at: datetime
    rows: list[ComplianceRowOut]


class ChainBreakOut(BaseModel):
    case_id: int
    seq: int
    reason: str


class KeyedRecordsOut(BaseModel):
    keyed: int = Field(description="Records MACed with one of the installation's keys.")
    unkeyed: int = Field(description="Records from before the installation had a key (SHA-256).")
    keyed_from: str | None = Field(description="When the first keyed record was recorded.")


class CheckpointOut(BaseModel):
    number: int
    at: str
    source: Literal["file", "table"] = Field(
        description="Where the checkpoint checked against was read: the file outside the "
        "database, or (with no file configured) the database's own table."
    )


class AuditVerification(BaseModel):
    ok: bool
    cases_checked: int
    records_checked: int
    first_break: ChainBreakOut | None
    breaks: list[ChainBreakOut] | None = Field(
        default=None,
        description="Every finding, at most 100 (case_id 0: the access log or a checkpoint).",
    )
    breaks_total: int | None = None
    keys: KeyedRecordsOut | None = None
    checkpoint: CheckpointOut | None = None
    access_records_checked: int | None = None


class ReplayDifferenceOut(BaseModel):
    case_id: int
    seq: int | None = Field(
        description="The audit record the domain would not have written; null: the stored state."
    )
    field: str = Field(description='What differs, e.g. "phase", "deadlines.investigation.due_at".')
    stored: Any = Field(description="As stored (null: absent).")
    replayed: Any = Field(description="As the audit records make it (null: absent).")


class UnprovenOut(BaseModel):
    field: str
    cases: int


class AuditReplay(BaseModel):
    """`audit verify --replay` (`?replay=true`): every case rebuilt from its audit records."""

    ok: bool
    cases_checked: int
    events_replayed: int
    differences: list[ReplayDifferenceOut] = Field(description="The first 100.")
    differences_total: int
    not_provable: list[UnprovenOut]
    not_compared: list[str]


class AccessRecordOut(BaseModel):
    id: int
    at: datetime
    user_name: str
    role: str
    case_id: int | None
    action: str
    channel: str
    what: str


class AccessLogPage(Paged):
    items: list[AccessRecordOut]
