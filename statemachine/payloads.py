"""The data each event carries, validated before any guard runs.

Unknown fields are refused so that a typo never silently drops a fact. Everything is bounded:
the audit trail keeps an accepted event's data for ever, so a bound is what a caseworker never
meets, not what a database could hold. Free text (a purpose, a goal, a reason) is at most
MAX_TEXT characters, a name or id (a measure type, a package, a measure id) at most MAX_NAME, a
list at most MAX_ITEMS entries (measures: MAX_MEASURES); instants and days are ISO 8601 text
(never a number) in 1900-2999. These models are the OpenAPI document's event data schemas, so
the bounds are published where a client reads them.

Whatever the event, data (decoded JSON) is also bounded in shape before any model reads it
(`shape_problem`): at most MAX_DEPTH levels deep and MAX_VALUES values in all.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from statemachine.calendar import DAY_PATTERN, EARLIEST, INSTANT_PATTERN, LATEST
from statemachine.phases import Event

# A caseworker's longest free text (a plan's purpose, a reason for closing) is a paragraph or
# two; 2,000 characters is about a page. A name or id of the rulebook's catalogue is a word or
# a few (`foster_family_placement`); 200 leaves room for a municipality's own. A plan with a
# hundred goals, or a hundred sub-goals, is no plan a family could follow.
MAX_TEXT = 2000
MAX_NAME = 200
MAX_ITEMS = 100
MAX_MEASURES = 20  # measures granted in one decision
# The deepest event data (a follow-up's next_follow_up.every) is three levels; sixteen allow a
# municipality's own fields without letting data nested a thousand deep reach a parser, a
# validator or the audit trail. A thousand values are more than any event carries.
MAX_DEPTH = 16
MAX_VALUES = 1000

# Control characters (a NUL above all) are refused: PostgreSQL cannot store them in text, and
# both databases must accept exactly the same input.
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT, pattern=_PRINTABLE),
]
FreeText = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=_PRINTABLE)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME, pattern=_PRINTABLE),
]


def iso_text(pattern: str, example: str) -> Any:
    """A before-validator: the value must be text matching `pattern` (pydantic would otherwise
    read a number, or text of digits, as seconds since 1970); a date or datetime given in Python
    passes as it is."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, date):  # a date or datetime given in Python, not from JSON
            return value
        if not isinstance(value, str) or not compiled.match(value):
            raise PydanticCustomError(
                "iso_text", "must be ISO 8601 text, e.g. {example}", {"example": example}
            )
        return value

    return check


def _instant_in_range(value: datetime) -> datetime:
    # A time without an offset stays naive: the guard that reads it refuses it by name.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=EARLIEST.tzinfo)
    if not EARLIEST <= aware <= LATEST:
        raise PydanticCustomError("instant_range", "must lie between 1900-01-01 and 2999-12-31")
    return value


def _day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise PydanticCustomError("instant_range", "must lie between 1900-01-01 and 2999-12-31")
    return value


INSTANT_EXAMPLE = "2026-03-01T09:30:00+01:00"
# An instant in event data: ISO 8601 text with its offset, 1900-2999.
Instant = Annotated[
    datetime,
    BeforeValidator(iso_text(INSTANT_PATTERN, INSTANT_EXAMPLE)),
    AfterValidator(_instant_in_range),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}),
]
# A day in event data: YYYY-MM-DD, 1900-2999.
Day = Annotated[
    date,
    BeforeValidator(iso_text(DAY_PATTERN, "2026-03-01")),
    AfterValidator(_day_in_range),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]


class Shape(StrEnum):
    """Why decoded event data is refused before any model reads it."""

    TOO_DEEP = "too_deep"  # more than MAX_DEPTH levels
    TOO_LARGE = "too_large"  # more than MAX_VALUES values
    NOT_UNICODE = "not_unicode"  # a lone surrogate in a string or key (no database stores it)


def shape_problem(value: Any) -> Shape | None:
    """None when decoded JSON `value` is within MAX_DEPTH and MAX_VALUES and all its text is
    Unicode; else why not. Walks without recursion, so any depth is safe to ask about."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH:
            return Shape.TOO_DEEP
        if seen > MAX_VALUES:
            return Shape.TOO_LARGE
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return Shape.NOT_UNICODE
        elif isinstance(item, dict):
            for key, inner in item.items():
                stack.append((key, depth + 1))
                stack.append((inner, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((inner, depth + 1) for inner in item)
    return None


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Empty(Payload):
    pass


class AssessUrgency(Payload):
    acute: bool


class RecordConsent(Payload):
    by: Literal["custody_holder", "child"]


class MeasureRequest(Payload):
    type: Name
    package: Name | None = None
    external: bool = False  # bought from an external provider (seed 000: department head)
    without_consent: bool = False  # placement without consent (SEL §58 / Barnets Lov §47)


class MeasureList(Payload):
    measures: Annotated[list[MeasureRequest], Field(min_length=1, max_length=MAX_MEASURES)]
    # forvaltningsloven §25: a grant that does not give the applicant what was applied for
    # carries complaint guidance (the rulebook's `complaint_guidance`).
    complaint_guidance: bool = False
    # Barnets Lov §3: from 10 the child is a party; the guidance says so (`complaints`).
    complaint_guidance_child: bool = False


class Conclude(Payload):
    measures_needed: bool


class SubmitPlan(Payload):
    # SEL §140 stk. 5–6 / Barnets Lov §91: purpose, goals and expected duration; the guard
    # names what is missing, so the fields are optional here.
    purpose: FreeText | None = None
    goals: Annotated[list[Text], Field(max_length=MAX_ITEMS)] | None = None
    expected_duration_months: Annotated[int, Field(gt=0, le=240)] | None = None
    sub_goals: Annotated[list[Text], Field(max_length=MAX_ITEMS)] = []


class Refuse(Payload):
    complaint_guidance: bool = False
    # Barnets Lov §3: the guidance tells a child of 10 or more of the child's own right to
    # complain (the rulebook's `complaints.child_party_from_age`).
    complaint_guidance_child: bool = False


class RecordComplaint(Payload):
    """A complaint about one of the case's decisions, named by the audit sequence number of its
    `grant` or `refuse` record, and when the municipality received it (retssikkerhedsloven §66).
    Facts only: never what the complaint says."""

    decision_seq: Annotated[int, Field(ge=1, le=2**31 - 1)]
    received_at: Instant


class Reassess(Payload):
    """The municipality's reassessment of its decision (retssikkerhedsloven §66): upheld (the
    complaint goes on to Ankestyrelsen) or changed (the case goes back to the decision)."""

    complaint: Annotated[int, Field(ge=1, le=2**31 - 1)]
    outcome: Literal["upheld", "changed"]
    reason: Text


class ForwardComplaint(Payload):
    complaint: Annotated[int, Field(ge=1, le=2**31 - 1)]


class RecordAppealDecision(Payload):
    """Ankestyrelsen's decision on a forwarded complaint: remitted or annulled sends the case
    back to the decision."""

    complaint: Annotated[int, Field(ge=1, le=2**31 - 1)]
    outcome: Literal["upheld", "changed", "remitted", "annulled"]


class ReceiveNotification(Payload):
    """A further notification about the child of an open case (Barnets Lov §133, §136)."""

    notifier: Literal["professional", "private", "anonymous"]
    aware_at: Instant


class NotifyApplicantOfDelay(Payload):
    """Retssikkerhedsloven §3 stk. 2: the applicant is told in writing when to expect the
    decision, when the published deadline cannot be met."""

    expected_by: Day


class DecideYoungPersonSupport(Payload):
    """Barnets Lov §111 stk. 1: the decision on support for the young person after 18
    (§§ 114–116, 120); a grant names the catalogue's measure types."""

    outcome: Literal["granted", "refused"]
    measures: Annotated[list[Name], Field(max_length=MAX_MEASURES)] = []

    @model_validator(mode="after")
    def _measures_with_a_grant(self) -> DecideYoungPersonSupport:
        if self.outcome == "granted" and not self.measures:
            raise ValueError("a grant names the measures granted (measures)")
        if self.outcome == "refused" and self.measures:
            raise ValueError("a refusal grants no measures")
        return self


class Every(Payload):
    amount: Annotated[int, Field(ge=1, le=104)]
    unit: Literal["weeks", "months"]


class NextFollowUp(Payload):
    """Barnets Lov §95 stk. 3: how this case's follow-up continues, with reasons: its own
    interval (`every`), or the municipality's cadence for the measure (`as_service_level`)."""

    every: Every | None = None
    as_service_level: bool = False
    reason: Text

    @model_validator(mode="after")
    def _one_choice(self) -> NextFollowUp:
        if (self.every is None) == (not self.as_service_level):
            raise ValueError("give either every or as_service_level: true")
        return self


class RecordFollowUp(Payload):
    measure_id: Name
    spoke_with_provider: bool
    spoke_with_parents: bool
    child_heard: bool | None = None
    plan_revision_decided: bool
    package_reviewed: bool = False
    next_follow_up: NextFollowUp | None = None


class RecordSupervisionVisit(Payload):
    """Barnets Lov §156 stk. 5: a supervision visit at the placement, where the municipality
    talks with the child, so far as possible without the placement's staff present."""

    measure_id: Name
    child_conversation: bool
    without_staff: bool


class RenewPlacementWithoutConsent(Payload):
    """The committee decides again that a placement without consent is kept (Barnets Lov §50,
    §142 stk. 1)."""

    measure_id: Name


class EndMeasure(Payload):
    measure_id: Name
    reason: Text
    goals_met: bool | None = None


class Close(Payload):
    reason: FreeText | None = None


class Screen(Payload):
    """Barnets Lov §18 stk. 1 nr. 1–3: the inquiry needs no further action, a lighter
    assessment (afdækning, §19) or a child-welfare investigation (§20). A reason is required
    for no further action (the case is closed on it)."""

    outcome: Literal["no_action", "afdaekning", "investigation"]
    reason: FreeText | None = None


class RecordChildConversation(Payload):
    """Barnets Lov §5 stk. 3: a conversation with the child was held. Facts only, never what
    was said: whether the parents were absent (stk. 3, 2. pkt.) and whether the child was told
    of the right to a support person (bisidder, §6 stk. 1)."""

    without_parents: bool
    support_person_offered: bool


class RecordChildConversationException(Payload):
    """Barnets Lov §5 stk. 4: in very special cases the conversation is dispensed with, when the
    child's age or other circumstances decisively speak against it. The short ground is required
    (the `has_reason` guard); it stays in the audit record, not on the case."""

    reason: FreeText | None = None


class RecordBirth(Payload):
    """The child of a case opened before the birth (support to expectant parents) is born."""

    birth_date: Day


PAYLOADS: dict[Event, type[Payload]] = {
    Event.ASSESS_URGENCY: AssessUrgency,
    Event.ACKNOWLEDGE: Empty,
    Event.ACCEPT: Empty,
    Event.SCREEN: Screen,
    Event.RECORD_CONSENT: RecordConsent,
    Event.DECIDE_WITHOUT_CONSENT: Empty,
    Event.DECIDE_COMPULSORY_EXAMINATION: Empty,
    Event.OPEN_INVESTIGATION: Empty,
    Event.PROPOSE_PREVENTIVE: MeasureList,
    Event.RECORD_PROVISIONAL_ASSESSMENT: Empty,
    Event.CONCLUDE: Conclude,
    Event.SUBMIT_PLAN: SubmitPlan,
    Event.DEFER_PLAN: Empty,
    Event.RECORD_PARTY_HEARING: Empty,
    Event.NOTIFY_APPLICANT_OF_DELAY: NotifyApplicantOfDelay,
    Event.DECIDE_YOUNG_PERSON_SUPPORT: DecideYoungPersonSupport,
    Event.GRANT: MeasureList,
    Event.REFUSE: Refuse,
    Event.START_MEASURES: Empty,
    Event.RECORD_FOLLOW_UP: RecordFollowUp,
    Event.REVISE_PLAN: Empty,
    Event.END_MEASURE: EndMeasure,
    Event.RECORD_SUPERVISION_VISIT: RecordSupervisionVisit,
    Event.RENEW_PLACEMENT_WITHOUT_CONSENT: RenewPlacementWithoutConsent,
    Event.RECORD_CHILD_CONVERSATION: RecordChildConversation,
    Event.RECORD_CHILD_CONVERSATION_EXCEPTION: RecordChildConversationException,
    Event.RECORD_BIRTH: RecordBirth,
    Event.RECORD_COMPLAINT: RecordComplaint,
    Event.REASSESS: Reassess,
    Event.FORWARD_COMPLAINT: ForwardComplaint,
    Event.RECORD_APPEAL_DECISION: RecordAppealDecision,
    Event.END_COMPLAINT_PERIOD: Empty,
    Event.RECEIVE_NOTIFICATION: ReceiveNotification,
    Event.REASSESS_NOTIFICATION: Empty,
    Event.CLOSE: Close,
}
