"""`sagsflow`: the command line. An edge: it parses, calls the service layer, and prints.

Heavy imports (SQLAlchemy, pydantic, transitions, holidays) happen inside the commands so that
`sagsflow --help` starts fast; Prefect is never imported here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from sagsflow.context import Context
    from sagsflow.present.csvfile import CsvDialect
    from sagsflow.present.i18n import Translator
    from statemachine.phases import Role

app = typer.Typer(
    help="Sagsflow: the eight-phase case engine for Danish child-welfare work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
case_app = typer.Typer(help="Open, move and inspect cases.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for supervisors.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
rulebook_app = typer.Typer(help="Rulebooks: check, show, migrate open cases.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(case_app, name="case")
app.add_typer(report_app, name="report")
app.add_typer(audit_app, name="audit")
app.add_typer(rulebook_app, name="rulebook")
flows_app = typer.Typer(help="The Prefect flows on this machine.", no_args_is_help=True)
app.add_typer(flows_app, name="flows")
notify_app = typer.Typer(help="The notification outbox: deliver, list.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")
user_app = typer.Typer(
    help="Users of the API and dashboard: roles, teams, tokens.", no_args_is_help=True
)
app.add_typer(user_app, name="user")

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
OperatorOption = Annotated[
    bool,
    typer.Option(
        "--operator",
        help="Record as the operator on --actor's behalf: --role need not be one the "
        "organisation file gives --actor (the audit record says an operator recorded it).",
    ),
]
CsvDialectOption = Annotated[
    str | None,
    typer.Option(
        "--csv-dialect",
        help="standard (comma, decimal point, UTF-8) or excel-da (semicolon, decimal comma, "
        "UTF-8 with BOM: what Danish Excel opens); default: SAGSFLOW_CSV_DIALECT, else standard.",
    ),
]
F = TypeVar("F", bound=Callable[..., Any])

EXIT_INVALID = 2
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5
EXIT_DATABASE = 6


# The language of what a person reads (--lang, else SAGSFLOW_LANG, else Danish).
_LANGUAGE: list[str] = []


@app.callback()
def _options(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help="da (default) or en: the language of tables, messages and reports."
        ),
    ] = None,
) -> None:
    """Sagsflow: the eight-phase case engine for Danish child-welfare work."""
    if lang is not None:
        _LANGUAGE[:] = [lang]


def words() -> Translator:
    """The translator of the language asked for (`--lang`, `SAGSFLOW_LANG`; default Danish)."""
    from sagsflow.present.i18n import DEFAULT, language, translator
    from sagsflow.settings import settings

    asked = _LANGUAGE[0] if _LANGUAGE else settings().lang
    return translator(language(asked) or DEFAULT)


def say(key: str, **values: object) -> str:
    """A message of the catalogue in the CLI's language."""
    return words()(key, **values)


def fail(message: str, code: int = EXIT_INVALID, detail: dict[str, Any] | None = None) -> NoReturn:
    """One line on stderr (and a JSON error on stdout for --json callers), then exit non-zero."""
    if detail is not None:
        print(json.dumps({"error": message, **detail}, ensure_ascii=False))
    print(f"{say('cli.error')}: {message}", file=sys.stderr)
    raise typer.Exit(code)


def handles_domain_errors(function: F) -> F:
    """Turn domain errors into an exit code and a one-line reason."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        from rulebooks import UnknownRulebook
        from sagsflow.audit_keys import AuditKeysInvalid
        from sagsflow.organisation import OrganisationInvalid
        from sagsflow.present.refusals import refused_text
        from sagsflow.usecases.users import UserInvalid
        from statemachine.errors import (
            CaseNotFound,
            ConcurrencyConflict,
            EventRefused,
            RulebookInvalid,
        )

        as_json = bool(kwargs.get("as_json"))
        try:
            return function(*args, **kwargs)
        except EventRefused as error:
            t = words()
            reason = refused_text(error, t)
            event = t.event(str(error.event)) if t.lang == "da" else str(error.event)
            detail = {
                "event": error.event,
                "phase": error.phase,
                "code": error.code.value,
                "params": dict(error.params),
                "reason": reason,
                "allowed": error.allowed,
            }
            message = say(
                "cli.event_refused",
                event=event,
                phase=t.phase(str(error.phase)) if t.lang == "da" else str(error.phase),
                reason=reason,
                allowed=", ".join(error.allowed) or t("refusal.none"),
            )
            fail(message, EXIT_REFUSED, detail if as_json else None)
        except CaseNotFound as error:
            message = say("problem.case_not_found", case_id=error.case_id)
            fail(message, EXIT_NOT_FOUND, {"case_id": error.case_id} if as_json else None)
        except ConcurrencyConflict as error:
            message = say(
                "problem.version_conflict",
                case_id=error.case_id,
                expected_version=error.expected_version,
            )
            fail(message, EXIT_CONFLICT, {"case_id": error.case_id} if as_json else None)
        except RulebookInvalid as error:
            problems = "; ".join(f"{path}: {reason}" for path, reason in error.problems)
            message = say("cli.rulebook_invalid", file=error.file, problems=problems)
            fail(message, EXIT_INVALID, {} if as_json else None)
        except UnknownRulebook as error:
            t = words()
            key = "problem.no_rulebook_on" if error.on else "problem.no_rulebook"
            message = t(key, rulebook=error.reference, on=t.date(error.on) if error.on else "")
            fail(message, EXIT_INVALID, {} if as_json else None)
        except UserInvalid as error:
            fail(say(f"user.{error.code}", **error.params), EXIT_INVALID, {} if as_json else None)
        except OrganisationInvalid as error:
            message = say("cli.organisation_invalid", problem=str(error))
            fail(message, EXIT_INVALID, {} if as_json else None)
        except AuditKeysInvalid as error:
            fail(say("cli.audit_keys_invalid", problem=str(error)), EXIT_INVALID, None)
        except (OperationalError, ProgrammingError) as error:
            # Unreachable, or not migrated: one line, not a traceback.
            cause = str(error.orig or error).strip().splitlines()[0]
            fail(say("cli.database", cause=cause), EXIT_DATABASE, {} if as_json else None)

    return wrapper  # type: ignore[return-value]


def context() -> Context:
    """The process's context, as the CLI acts: channel `cli`, and the operating-system user
    recorded beside the `--actor` given in every audit record it writes."""
    import getpass
    from dataclasses import replace

    from sagsflow import bootstrap

    try:
        os_user: str | None = getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        os_user = str(os.getuid())
    return replace(bootstrap.context(), channel="cli", os_user=os_user)


def parse_instant(value: str, option: str) -> datetime:
    """ISO 8601; without an offset the time is read as Europe/Copenhagen wall-clock time."""
    from statemachine.calendar import InstantInvalid
    from statemachine.calendar import parse_instant as parse

    try:
        return parse(value)
    except InstantInvalid as error:
        fail(f"{option}: {say(f'instant.{error.kind}', text=error.text)}")


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {say('cli.not_a_date', value=value)}")


def wall_clock() -> datetime:
    """The edge reads the clock; the domain is always given `now`."""
    return context().clock()


def chosen_csv_dialect(option: str | None, as_json: bool) -> CsvDialect:
    """`--csv-dialect`, else the setting SAGSFLOW_CSV_DIALECT (validated when read)."""
    from sagsflow.present.csvfile import DIALECTS, csv_dialect
    from sagsflow.settings import settings

    name = settings().csv_dialect if option is None else option
    try:
        return csv_dialect(name)
    except ValueError:
        allowed = ", ".join(DIALECTS)
        message = say("cli.not_one_of", value=name, allowed=allowed)
        fail(f"--csv-dialect: {message}", EXIT_INVALID, {} if as_json else None)


def emit(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


# --- db -----------------------------------------------------------------------------------


@db_app.command("upgrade")
@handles_domain_errors
def db_upgrade() -> None:
    """Create or upgrade the schema (Alembic migrations)."""
    from sagsflow.settings import settings
    from sagsflow.usecases.schema import upgrade_schema

    upgrade_schema(settings().database_url)
    print(say("cli.database_up_to_date"), file=sys.stderr)


@db_app.command("backup")
@handles_domain_errors
def db_backup(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The backup file to write (new).")],
) -> None:
    """Copy a SQLite database, while it is in use, to FILE (SQLite's online backup; made 0600).
    For PostgreSQL use pg_dump -Fc (docs/operations.md)."""
    from sagsflow.settings import settings
    from sagsflow.usecases.backup import BackupRefused, backup_sqlite

    try:
        pages = backup_sqlite(settings().database_url, file)
    except BackupRefused as error:
        refused = {
            "not_sqlite": "cli.backup_not_sqlite",
            "exists": "cli.backup_exists",
            "no_database": "cli.backup_no_database",
        }
        fail(say(refused[error.reason], file=str(file)))
    print(say("cli.backup_written", file=str(file), pages=pages), file=sys.stderr)


# --- case ---------------------------------------------------------------------------------


@case_app.command("open")
@handles_domain_errors
def case_open(
    child_ref: Annotated[
        str, typer.Option("--child-ref", help="Pseudonymous child reference (never a CPR number).")
    ],
    aware_at: Annotated[
        str, typer.Option("--aware-at", help="When the municipality became aware (ISO 8601).")
    ],
    source: Annotated[str, typer.Option("--source", help="notification | application | inquiry")],
    actor: Annotated[str, typer.Option("--actor", help="Who records it.")],
    birth_date: Annotated[
        str | None, typer.Option("--birth-date", help="YYYY-MM-DD: the child's date of birth.")
    ] = None,
    expected_birth_date: Annotated[
        str | None,
        typer.Option(
            "--expected-birth-date",
            help="YYYY-MM-DD, instead of --birth-date: a child not yet born (support to "
            "expectant parents); record_birth records the birth later.",
        ),
    ] = None,
    notifier: Annotated[
        str | None, typer.Option("--notifier", help="professional | private | anonymous")
    ] = None,
    worker: Annotated[str | None, typer.Option("--worker", help="Responsible caseworker.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Team id.")] = None,
    municipality: Annotated[
        str | None, typer.Option("--municipality", help="Default: SAGSFLOW_MUNICIPALITY.")
    ] = None,
    role: Annotated[str, typer.Option("--role", help="The actor's role.")] = "caseworker",
    applied_for: Annotated[
        str | None,
        typer.Option(
            "--applied-for",
            help="With --source application: the measure type applied for (its published "
            "decision deadline runs from receipt, retssikkerhedsloven §3 stk. 2).",
        ),
    ] = None,
    new_case: Annotated[
        bool,
        typer.Option(
            "--new-case",
            help="A notification for a child with an open case in the municipality is attached "
            "to that case (receive_notification); --new-case opens a separate case instead.",
        ),
    ] = False,
    operator: OperatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Open a case in phase inquiry, pinned to the rulebook in force on its awareness date.
    Exactly one of --birth-date and --expected-birth-date. A notification about a child with an
    open case is attached to it (Barnets Lov §136, §137 stk. 1) unless --new-case."""
    from sagsflow.settings import settings
    from sagsflow.usecases.cases import open_case
    from statemachine.phases import Notifier, Role, Source

    acting = acting_as(actor, _choice(Role, role, "--role"), operator=operator)
    if (birth_date is None) == (expected_birth_date is None):
        fail(say("cli.birth_date_or_expected"), EXIT_INVALID, {} if as_json else None)
    if expected_birth_date is not None:
        born = parse_date(expected_birth_date, "--expected-birth-date")
    else:
        assert birth_date is not None
        born = parse_date(birth_date, "--birth-date")
    accepted = open_case(
        acting.context,
        child_ref=child_ref,
        birth_date=born,
        birth_expected=expected_birth_date is not None,
        aware_at=parse_instant(aware_at, "--aware-at"),
        source=_choice(Source, source, "--source"),
        notifier=_choice(Notifier, notifier, "--notifier") if notifier else None,
        worker=worker,
        team=team,
        municipality=municipality or settings().municipality,
        actor=actor,
        role=acting.role,
        now=wall_clock(),
        applied_for=applied_for,
        new_case=new_case,
    )
    _print_accepted(accepted, as_json)


E = TypeVar("E")


def _choice(enum: Callable[[str], E], value: str, option: str) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)  # type: ignore[attr-defined]
        fail(f"{option}: {say('cli.not_one_of', value=value, allowed=allowed)}")


@dataclass(frozen=True)
class Acting:
    """Who records an event from the CLI: the context to record it with and `--role`."""

    context: Context
    role: Role


def acting_as(actor: str, role: Role, *, operator: bool) -> Acting:
    """`--actor` acting in `--role`: a role the organisation file gives the actor (its
    caseworkers, team leaders, department head and committee), else exit 2 and nothing is
    written — unless `--operator`: an operator recording on the actor's behalf, which the
    context carries into the audit record (`Context.as_operator`). An organisation file that
    cannot be read is exit 2 either way: a new case's worker and team are checked against it."""
    from dataclasses import replace

    people = _organisation()
    if not operator:
        given = people.roles_of(actor)
        t = words()
        if not given:
            fail(say("cli.actor_unknown", actor=actor))
        if role not in given:
            named = [t.role(r.value) if t.lang == "da" else r.value for r in sorted(given)]
            fail(
                say(
                    "cli.role_not_given",
                    actor=actor,
                    role=t.role(role.value) if t.lang == "da" else role.value,
                    roles=t.join(named) if t.lang == "da" else ", ".join(named),
                )
            )
    return Acting(replace(context(), as_operator=operator), role)


def _print_accepted(accepted: Any, as_json: bool) -> None:
    if as_json:
        emit(
            {
                "id": accepted.case_id,
                "event": accepted.event,
                "from_phase": accepted.from_phase,
                "phase": accepted.to_phase,
                "version": accepted.version,
                "audit_seq": accepted.audit_seq,
            }
        )
        return
    t = words()
    danish = t.lang == "da"
    values = {
        "case_id": accepted.case_id,
        "event": t.event(accepted.event) if danish else accepted.event,
        "from_phase": t.phase(accepted.from_phase) if danish else accepted.from_phase,
        "to_phase": t.phase(accepted.to_phase) if danish else accepted.to_phase,
        "version": accepted.version,
    }
    kept = accepted.from_phase == accepted.to_phase
    print(t("cli.recorded_kept" if kept else "cli.recorded_moved", **values))


@case_app.command("fire")
@handles_domain_errors
def case_fire(
    case_id: Annotated[int, typer.Argument(help="The case id.")],
    event: Annotated[str, typer.Argument(help="The event, e.g. accept, grant, record_follow_up.")],
    at: Annotated[str, typer.Option("--at", help="When it happened (ISO 8601).")],
    actor: Annotated[str, typer.Option("--actor", help="Who records it.")],
    role: Annotated[str, typer.Option("--role", help="The actor's role.")],
    data: Annotated[
        str | None, typer.Option("--data", help="The event's data as a JSON object.")
    ] = None,
    expected_version: Annotated[
        int | None, typer.Option("--expected-version", help="Refuse if the case has changed since.")
    ] = None,
    operator: OperatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Record an event on a case; a refused event writes nothing and says why."""
    from sagsflow.usecases.cases import fire_event
    from statemachine.payloads import MAX_DEPTH, MAX_VALUES, shape_problem
    from statemachine.phases import Role

    acting = acting_as(actor, _choice(Role, role, "--role"), operator=operator)
    payload: Any = {}
    if data is not None:
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as error:
            fail(say("cli.data_not_json", error=error.msg))
        except RecursionError:  # nested too deep for the parser
            fail(say("case.data_shape.too_deep", depth=MAX_DEPTH, values=MAX_VALUES))
        shape = shape_problem(payload)
        if shape is not None:
            fail(say(f"case.data_shape.{shape.value}", depth=MAX_DEPTH, values=MAX_VALUES))
        if not isinstance(payload, dict):
            fail(say("cli.data_not_object"))
    accepted = fire_event(
        acting.context,
        case_id,
        event,
        at=parse_instant(at, "--at"),
        data=payload,
        actor=actor,
        role=acting.role,
        now=wall_clock(),
        expected_version=expected_version,
    )
    _print_accepted(accepted, as_json)


@case_app.command("show")
@handles_domain_errors
def case_show(
    case_id: Annotated[int, typer.Argument(help="The case id.")], as_json: JsonOption = False
) -> None:
    """A case with measures, deadlines (and why they fall when they do) and history."""
    from sagsflow.present.case import worded_case
    from sagsflow.read.cases import show_case

    view = worded_case(show_case(context(), case_id), words())
    if as_json:
        emit(view)
        return
    from sagsflow.cli import tables as console

    console.print_case(view, words())


@case_app.command("list")
@handles_domain_errors
def case_list(
    phase: Annotated[str | None, typer.Option("--phase")] = None,
    worker: Annotated[str | None, typer.Option("--worker")] = None,
    team: Annotated[str | None, typer.Option("--team")] = None,
    municipality: Annotated[str | None, typer.Option("--municipality")] = None,
    limit: Annotated[int | None, typer.Option("--limit")] = None,
    as_json: JsonOption = False,
) -> None:
    """Cases matching every filter given."""
    from sagsflow.read.cases import list_cases
    from statemachine.phases import Phase

    if phase is not None:
        _choice(Phase, phase, "--phase")
    rows = list_cases(
        context(), phase=phase, worker=worker, team=team, municipality=municipality, limit=limit
    )
    if as_json:
        emit(rows)
        return
    from sagsflow.cli import tables as console

    console.print_case_list(rows, words(), names=context().organisation)


# --- sweep, reports, audit ------------------------------------------------------------------


@app.command("sweep")
@handles_domain_errors
def sweep_command(
    now: Annotated[
        str | None, typer.Option("--now", help="The sweep's clock (ISO 8601); default: now.")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Deadlines per partition, each its own commit."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Mark breached deadlines and create each due notification once."""
    from sagsflow.usecases.sweep import BATCH, sweep

    clock = parse_instant(now, "--now") if now else wall_clock()
    result = sweep(context(), clock, batch_size=batch_size or BATCH)
    if as_json:
        emit(result.as_dict())
        return
    print(
        say(
            "cli.swept",
            breached=result.breached,
            created=result.notifications_created,
            examined=result.deadlines_examined,
        )
    )


# --- notify ---------------------------------------------------------------------------------


@notify_app.command("deliver")
@handles_domain_errors
def notify_deliver(
    now: Annotated[
        str | None, typer.Option("--now", help="The delivery's clock (ISO 8601); default: now.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send the due notifications by e-mail; retry failures later, park what cannot go."""
    from sagsflow.organisation import OrganisationInvalid, organisation
    from sagsflow.settings import settings
    from sagsflow.usecases.delivery import deliver_notifications

    config = settings()
    try:
        people = organisation(config.org_file)
    except OrganisationInvalid as error:
        fail(str(error), EXIT_INVALID, {} if as_json else None)
    result = deliver_notifications(
        context(),
        now=parse_instant(now, "--now") if now else wall_clock(),
        organisation=people,
        settings=config,
    )
    if as_json:
        emit(result)
        return
    print(say("cli.delivered", **result))


@notify_app.command("list")
@handles_domain_errors
def notify_list(
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending | sending | sent | parked | dropped"),
    ] = None,
    case_id: Annotated[int | None, typer.Option("--case", help="Only this case.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, oldest first.")] = 200,
    as_json: JsonOption = False,
) -> None:
    """The outbox: each notification's recipient, status, attempts and, when parked, why."""
    from sagsflow.read.notifications import list_notifications
    from statemachine.phases import NotificationStatus

    chosen = _choice(NotificationStatus, status, "--status") if status else None
    rows = list_notifications(context(), status=chosen, case_id=case_id, limit=limit)
    if as_json:
        emit(rows)
        return
    from sagsflow.cli import tables

    tables.print_notifications(rows, words())


@notify_app.command("retry")
@handles_domain_errors
def notify_retry(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Notification ids; none: every parked one.")
    ] = None,
    case_id: Annotated[int | None, typer.Option("--case", help="Only this case's.")] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="When they become due again; default: now.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Put parked notifications back in the queue (after fixing an address or the relay)."""
    from sagsflow.usecases.delivery import retry_parked

    count = retry_parked(
        context(),
        now=parse_instant(now, "--now") if now else wall_clock(),
        ids=ids or (),
        case_id=case_id,
    )
    if as_json:
        emit({"requeued": count})
        return
    print(say("cli.requeued", count=count))


@report_app.command("stuck")
@handles_domain_errors
def report_stuck(
    now: Annotated[
        str | None, typer.Option("--now", help="The report's clock (ISO 8601); default: now.")
    ] = None,
    team: Annotated[str | None, typer.Option("--team")] = None,
    as_json: JsonOption = False,
) -> None:
    """Stuck cases: over the phase norm, breached deadlines, inactive, waiting for consent."""
    from sagsflow.read.stuck import stuck_cases

    rows = stuck_cases(context(), parse_instant(now, "--now") if now else wall_clock(), team=team)
    if as_json:
        emit(rows)
        return
    from sagsflow.cli import tables as console

    console.print_stuck(rows, words(), names=context().organisation)


# Mail could not go out for at least one team leader (the others were sent).
EXIT_MAIL = 7


@report_app.command("digest")
@handles_domain_errors
def report_digest(
    now: Annotated[
        str | None, typer.Option("--now", help="The digest's clock (ISO 8601); default: now.")
    ] = None,
    team: Annotated[
        str | None, typer.Option("--team", help="Only this team (an id in the organisation file).")
    ] = None,
    send: Annotated[
        bool, typer.Option("--send", help="E-mail each digest to its team leader.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Each team leader's digest: stuck cases, deadlines due soon, caseload per caseworker."""
    from sagsflow.organisation import OrganisationInvalid, organisation
    from sagsflow.present.digest import render_digest
    from sagsflow.read.digest import UnknownTeam, supervisor_digest
    from sagsflow.settings import settings
    from sagsflow.usecases.digest import send_digests

    config = settings()
    clock = parse_instant(now, "--now") if now else wall_clock()
    try:
        people = organisation(config.org_file)
        digests = supervisor_digest(
            context(), now=clock, organisation=people, team=team, municipality=config.municipality
        )
    except OrganisationInvalid as error:
        fail(str(error), EXIT_INVALID, {} if as_json else None)
    except UnknownTeam as error:
        fail(str(error), EXIT_NOT_FOUND, {"team": error.team} if as_json else None)
    mail = [m.as_dict() for m in send_digests(digests, config)] if send else []
    if as_json:
        emit({"digests": [d.as_dict() for d in digests], "mail": mail})
    else:
        for index, digest in enumerate(digests):
            subject, text, _ = render_digest(digest, t=words())
            rule = "\n" + "─" * 72 + "\n\n" if index else ""
            print(f"{rule}{say('mail.subject')}: {subject}\n\n{text}", end="")
    if not send:
        return
    unsent = [f"{o['team']} ({o['detail']})" for o in mail if o["status"] != "sent"]
    if unsent:
        # One line, as for every failure; --json callers have each team's outcome in "mail".
        print(
            f"{say('cli.error')}: {say('cli.digest_not_sent', teams='; '.join(unsent))}",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_MAIL)
    print(say("cli.digests_sent", count=len(mail)), file=sys.stderr)


@report_app.command("compliance")
@handles_domain_errors
def report_compliance(
    period: Annotated[
        str,
        typer.Option("--period", help="2026-Q3, 2026-10, 2026 or 2026-07-01..2026-09-30."),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Directory for compliance-<period>.csv and .html.")
    ] = Path("reports"),
    now: Annotated[
        str | None, typer.Option("--now", help="The report's clock (ISO 8601); default: now.")
    ] = None,
    csv_dialect: CsvDialectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Management supervision: shares on time and median days per phase, per team and municipality."""
    from sagsflow.organisation import OrganisationInvalid, organisation
    from sagsflow.present.compliance import report_as_data, report_markdown
    from sagsflow.read.compliance import compliance_report
    from sagsflow.settings import settings
    from sagsflow.usecases.compliance import write_csv, write_html
    from statemachine.periods import PeriodInvalid, parse_period

    dialect = chosen_csv_dialect(csv_dialect, as_json)
    try:
        start, end = parse_period(period)
        people = organisation(settings().org_file)
    except (PeriodInvalid, OrganisationInvalid) as error:
        fail(str(error), EXIT_INVALID, {} if as_json else None)
    report = compliance_report(
        context(),
        period_start=start,
        period_end=end,
        now=parse_instant(now, "--now") if now else wall_clock(),
        organisation=people,
    )
    label = period.strip()
    try:
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "csv": str(write_csv(report, out / f"compliance-{label}.csv", words(), dialect)),
            "html": str(write_html(report, out / f"compliance-{label}.html", words())),
        }
    except OSError as error:
        fail(
            say("cli.cannot_write", path=str(out), error=error.strerror or str(error)),
            EXIT_INVALID,
            {} if as_json else None,
        )
    if as_json:
        emit({**report_as_data(report, words()), "files": files})
        return
    print(report_markdown(report, words()), end="")
    print(say("cli.wrote", csv=files["csv"], html=files["html"]), file=sys.stderr)


@audit_app.command("verify")
@handles_domain_errors
def audit_verify(
    as_json: JsonOption = False,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay",
            help="Rebuild every case from its audit records through the domain and compare it "
            "with the stored rows instead; exit 1 and name each difference.",
        ),
    ] = False,
    case_id: Annotated[
        int | None,
        typer.Option("--case", min=1, max=2**31 - 1, help="With --replay: only this case."),
    ] = None,
) -> None:
    """Check the whole trail: every case's MAC chain from record 1, every record's case, the
    access log's chain, and the latest signed checkpoint (deleted cases, cut-off tails, a
    rolled-back database); exit 1 and name each finding. With --replay: the state the records
    prove (docs/decisions/020-replay-verify.md)."""
    if replay or case_id is not None:
        if not replay:
            fail(say("cli.case_needs_replay"))
        _audit_replay(case_id, as_json)
        return
    from sagsflow.read.audit import verify_audit

    result = verify_audit(context())
    if as_json:
        emit(result)
    elif result["ok"]:
        print(
            say(
                "cli.audit_intact",
                cases=result["cases_checked"],
                records=result["records_checked"],
            )
        )
    t = words()
    if not as_json:
        keys = result.get("keys")
        if keys and keys["unkeyed"]:
            since = t.instant(keys["keyed_from"]) if keys["keyed_from"] else "-"
            print(say("cli.audit_unkeyed", unkeyed=keys["unkeyed"], since=since))
        signed = result.get("checkpoint")
        if signed:
            at = t.instant(signed["at"])
            print(say("cli.audit_checkpoint_checked", number=signed["number"], at=at))
    if not result["ok"]:
        # The findings go to stderr for --json callers too (the CLI contract): one line each.
        from sagsflow.present.findings import finding_line

        breaks = result.get("breaks", [])
        for brk in breaks:
            print(finding_line(brk, t), file=sys.stderr)
        if result.get("breaks_total", 0) > len(breaks):
            more = result.get("breaks_total", 0) - len(breaks)
            print(say("cli.audit_more", more=more), file=sys.stderr)
        raise typer.Exit(1)


def _audit_replay(case_id: int | None, as_json: bool) -> None:
    """`audit verify --replay`: every difference on stdout (or the JSON answer), one line on
    stderr and exit 1 when the stored state is not what the trail proves."""
    from sagsflow.cli.progress import progress_bar
    from sagsflow.read.replay import replay_verify

    with progress_bar(say("cli.progress_replay"), as_json=as_json) as progress:
        result = replay_verify(context(), now=wall_clock(), case_id=case_id, progress=progress)
    t = words()
    if as_json:
        emit(result)
    else:
        for found in result["differences"]:
            print(
                say(
                    "cli.replay_difference" if found["seq"] is None else "cli.replay_record",
                    case_id=found["case_id"],
                    seq=found["seq"],
                    field=found["field"],
                    stored=_replayed_value(found["stored"], t),
                    replayed=_replayed_value(found["replayed"], t),
                )
            )
        if result["ok"]:
            print(
                say(
                    "cli.replay_agrees",
                    cases=result["cases_checked"],
                    events=result["events_replayed"],
                )
            )
        for unproven in result["not_provable"]:
            print(say("cli.replay_unproven", field=unproven["field"], cases=unproven["cases"]))
    if not result["ok"]:
        first = result["differences"][0]
        print(
            say(
                "cli.replay_differs",
                total=result["differences_total"],
                case_id=first["case_id"],
                field=first["field"],
            ),
            file=sys.stderr,
        )
        raise typer.Exit(1)


def _replayed_value(value: Any, t: Translator) -> str:
    """A stored or replayed value as the difference's line shows it (absent: the catalogue's
    word for none)."""
    if value is None:
        return t("cli.replay_absent")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@audit_app.command("checkpoint")
@handles_domain_errors
def audit_checkpoint(as_json: JsonOption = False) -> None:
    """Sign what the trail holds now (cases, records, every chain's head, the access log's
    head) into the database and the append-only checkpoint file outside it."""
    from sagsflow.usecases.audit import write_checkpoint

    written = write_checkpoint(context(), now=wall_clock())
    if as_json:
        emit(written)
        return
    print(
        say(
            "cli.checkpoint_written",
            number=written["number"],
            cases=written["cases"],
            records=written["records"],
            file=written["file"] or "-",
        )
    )


@audit_app.command("rotate-key")
@handles_domain_errors
def audit_rotate_key() -> None:
    """Add a new audit key to the key file; it MACs every record from now on, and the old keys
    stay to verify what they MACed. Not for keys given in SAGSFLOW_AUDIT_KEY (rotate them
    where they are kept)."""
    from sagsflow.audit_keys import rotate
    from sagsflow.settings import settings

    config = settings()
    if config.audit_key.strip():
        fail(say("cli.rotate_key_env"), EXIT_INVALID, None)
    key_id = rotate(Path(config.audit_key_file), now=wall_clock())
    print(say("cli.key_rotated", key_id=key_id, file=config.audit_key_file))


# --- rulebooks -------------------------------------------------------------------------------


@rulebook_app.command("check")
@handles_domain_errors
def rulebook_check(
    file: Annotated[Path, typer.Argument(help="A rulebook YAML file.")], as_json: JsonOption = False
) -> None:
    """Validate a rulebook file; names file, path and reason when it is broken."""
    from rulebooks import load
    from statemachine.errors import RulebookInvalid

    try:
        rulebook = load(file)
    except RulebookInvalid as error:
        if as_json:
            emit(
                {
                    "ok": False,
                    "file": error.file,
                    "problems": [{"path": p, "reason": r} for p, r in error.problems],
                }
            )
        problems = "; ".join(f"{path}: {reason}" for path, reason in error.problems)
        print(
            f"{say('cli.error')}: {say('cli.rulebook_invalid', file=error.file, problems=problems)}",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_INVALID) from None
    summary = {
        "ok": True,
        "id": rulebook.id,
        "version": rulebook.version,
        "effective_from": rulebook.effective_from.isoformat(),
        "measures": len(rulebook.measures),
        "deadline_rules": sorted([*rulebook.deadlines, *rulebook.measure_deadlines]),
    }
    if as_json:
        emit(summary)
    else:
        print(
            say(
                "cli.rulebook_valid",
                file=str(file),
                rulebook=rulebook.key,
                measures=summary["measures"],
                effective=words().date(rulebook.effective_from),
            )
        )


@rulebook_app.command("show")
@handles_domain_errors
def rulebook_show(
    rulebook: Annotated[
        str | None,
        typer.Option(
            "--rulebook", help="id@version; default: the municipality's rulebook in force today."
        ),
    ] = None,
    municipality: Annotated[str | None, typer.Option("--municipality")] = None,
    as_json: JsonOption = False,
) -> None:
    """The rules a rulebook version sets: deadlines, cadences, packages, competences."""
    chosen = _chosen_rulebook(rulebook, municipality)
    if as_json:
        emit(chosen.model_dump(mode="json", exclude={"ladders", "cadences"}))
        return
    from sagsflow.cli import tables as console

    console.print_rulebook(chosen, words())


def _chosen_rulebook(reference: str | None, municipality: str | None) -> Any:
    from rulebooks import shipped_catalogue
    from sagsflow.settings import settings

    config = settings()
    catalogue = shipped_catalogue(config.rulebook_directories())
    rulebook_id = catalogue.rulebook_id_for(municipality or config.municipality)
    if reference is None:
        return catalogue.in_force(rulebook_id, wall_clock().date())
    return catalogue.resolve(reference, rulebook_id)


@rulebook_app.command("migrate")
@handles_domain_errors
def rulebook_migrate(
    to: Annotated[
        str | None,
        typer.Option("--to", help="id@version, or a version of the municipality's rulebook."),
    ] = None,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help="Instead of --to: every open case that a version in force today takes over "
            "(applies_to_open_cases: a change of law), over all rulebooks.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list which open deadlines would move.")
    ] = False,
    actor: Annotated[str, typer.Option("--actor", help="Who orders the migration.")] = "admin",
    municipality: Annotated[
        str | None,
        typer.Option(
            "--municipality",
            help="With --to: whose rulebook the version is of; with --due: only its cases.",
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="The migration's clock (ISO 8601); default: now."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Move open cases to another rulebook version, re-arming their deadlines (audited)."""
    from sagsflow.cli.progress import progress_bar
    from sagsflow.usecases.migration import migrate, migrate_due

    if due == (to is not None):  # one of them, not both
        fail(say("cli.migrate_to_or_due"), EXIT_INVALID, {} if as_json else None)
    clock = parse_instant(now, "--now") if now else wall_clock()
    target = None if to is None else _chosen_rulebook(to, municipality)
    with progress_bar(say("cli.progress_migrate"), as_json=as_json) as progress:
        if target is None:
            result = migrate_due(
                context(),
                dry_run=dry_run,
                actor=actor,
                now=clock,
                municipality=municipality,
                progress=progress,
            )
        else:
            result = migrate(
                context(), target, dry_run=dry_run, actor=actor, now=clock, progress=progress
            )
    if as_json:
        emit(result)
        return
    from sagsflow.cli import tables as console

    console.print_migration(result, words())


@app.command("diagram")
def diagram(
    format: Annotated[str, typer.Option("--format", help="mermaid | svg")] = "mermaid",
    rulebook: Annotated[str | None, typer.Option("--rulebook", help="id@version")] = None,
) -> None:
    """The phase graph, drawn from the machine itself."""
    from sagsflow.present import diagram as drawing

    chosen = _chosen_rulebook(rulebook, None)
    if format == "mermaid":
        print(drawing.mermaid(chosen))
    elif format == "svg":
        print(drawing.svg(chosen, words()))
    else:
        fail(f"--format: {say('cli.not_one_of', value=format, allowed='mermaid, svg')}")


@app.command("demo")
@handles_domain_errors
def demo(
    cases: Annotated[int, typer.Option("--cases", help="How many demo cases.")] = 300,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Load only into an empty database.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load realistic demo cases (all phases, dated around today) through the service layer."""
    from sagsflow.cli.progress import progress_bar
    from sagsflow.read.cases import list_cases
    from sagsflow.usecases.demo import load_demo
    from sagsflow.usecases.demo_users import DEMO_PASSWORD, add_demo_users

    ctx = context()
    if if_empty and list_cases(ctx, limit=1):
        counts = None
    else:
        with progress_bar(say("cli.progress_demo"), as_json=as_json) as progress:
            counts = load_demo(ctx, cases=cases, now=wall_clock(), progress=progress)
    users = add_demo_users(ctx, _organisation(), now=wall_clock())
    if users:
        print(
            say("cli.demo_users", users=", ".join(users), password=DEMO_PASSWORD), file=sys.stderr
        )
    if as_json:
        emit({"loaded": counts is not None, "phases": counts, "users": users})
    elif counts is None:
        print(say("cli.demo_skipped"))
    else:
        t = words()
        loaded = ", ".join(f"{t.phase(phase)} {n}" for phase, n in counts.items())
        print(say("cli.demo_loaded", phases=loaded))


# --- flows ----------------------------------------------------------------------------------


@flows_app.command("serve")
def flows_serve(
    port: Annotated[int, typer.Option("--port", help="The local Prefect server's port.")] = 4200,
    state_dir: Annotated[
        Path,
        typer.Option(
            "--state-dir",
            file_okay=False,
            help="The Prefect server's home, SQLite database and log go in <dir>/prefect.",
        ),
    ] = Path("state"),
    prefect_file: Annotated[
        Path | None,
        typer.Option(
            "--prefect-file",
            exists=True,
            dir_okay=False,
            help="The deployments to serve; default: deployments/prefect.yaml.",
        ),
    ] = None,
) -> None:
    """Start a local Prefect server (state/prefect) and serve the five deployments; Ctrl-C stops both."""
    import signal

    # Prefect is imported only here, after the server is up and PREFECT_API_URL is set.
    from deployments import PREFECT_YAML, DeploymentsInvalid, deployment_specs
    from deployments.local_server import ServerFailed, running_server

    path = (prefect_file or PREFECT_YAML).resolve()
    try:
        names = [spec["name"] for spec in deployment_specs(path)]  # before a 15 s server start
    except DeploymentsInvalid as error:
        fail(f"--prefect-file: {error}")

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # the runner installs its own once it serves
    try:
        with running_server(state_dir / "prefect", port) as api_url:
            print(
                say(
                    "cli.flows_serving",
                    url=api_url.removesuffix("/api"),
                    state=str(state_dir / "prefect"),
                    count=len(names),
                    file=str(path),
                ),
                file=sys.stderr,
            )
            from deployments.serve import serve_all

            serve_all(path)
    except ServerFailed as error:
        fail(str(error))
    except KeyboardInterrupt:
        pass
    print(say("cli.flows_stopped"), file=sys.stderr)


# --- users -----------------------------------------------------------------------------------


def _organisation() -> Any:
    from sagsflow.organisation import organisation
    from sagsflow.settings import settings

    return organisation(settings().org_file)


@user_app.command("add")
@handles_domain_errors
def user_add(
    name: Annotated[
        str, typer.Argument(help="The user name (a caseworker's is the cases' --worker).")
    ],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="caseworker | team_leader | department_head | committee | auditor | admin",
        ),
    ],
    team: Annotated[
        str | None,
        typer.Option(
            "--team", help="The team (organisation file id); caseworkers and team leaders need one."
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a dashboard password from stdin.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a user of the API and dashboard."""
    from sagsflow.usecases.users import add_user
    from statemachine.phases import Role

    chosen = _choice(Role, role, "--role")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    user = add_user(
        context(),
        name,
        role=chosen,
        team=team,
        now=wall_clock(),
        organisation=_organisation(),
        password=password,
    )
    if as_json:
        emit({"name": user.name, "role": user.role.value, "team": user.team})
        return
    t = words()
    role = t.role(user.role.value) if t.lang == "da" else user.role.value
    key = "cli.user_added_in_team" if user.team else "cli.user_added"
    print(t(key, name=user.name, role=role, team=user.team or ""))


@user_app.command("token")
@handles_domain_errors
def user_token(
    name: Annotated[str, typer.Argument()],
    as_json: JsonOption = False,
) -> None:
    """Print a new bearer token for the API, once (only its hash is stored)."""
    from sagsflow.usecases.users import issue_token

    token = issue_token(context(), name, now=wall_clock())
    if as_json:
        emit({"name": name, "token": token})
        return
    print(token)


@user_app.command("link")
@handles_domain_errors
def user_link(
    name: Annotated[str, typer.Argument()],
    minutes: Annotated[int, typer.Option("--minutes", min=1, max=24 * 60)] = 15,
    as_json: JsonOption = False,
) -> None:
    """Print a one-time dashboard sign-in link (valid for --minutes, usable once)."""
    from datetime import timedelta

    from sagsflow.settings import settings
    from sagsflow.usecases.users import issue_sign_in_link

    token = issue_sign_in_link(context(), name, now=wall_clock(), ttl=timedelta(minutes=minutes))
    link = f"{settings().base_url.rstrip('/')}/sign-in/{token}"
    if as_json:
        emit({"name": name, "link": link})
        return
    print(link)


@user_app.command("password")
@handles_domain_errors
def user_password(name: Annotated[str, typer.Argument()]) -> None:
    """Set a user's dashboard password, read from stdin; their dashboard sessions end."""
    from sagsflow.usecases.users import set_password

    set_password(context(), name, sys.stdin.readline().rstrip("\n"), now=wall_clock())
    print(say("cli.password_set", name=name))


@user_app.command("revoke")
@handles_domain_errors
def user_revoke(name: Annotated[str, typer.Argument()], as_json: JsonOption = False) -> None:
    """Revoke every token and sign-in link of a user, and end their dashboard sessions."""
    from sagsflow.usecases.users import revoke_tokens

    count = revoke_tokens(context(), name, now=wall_clock())
    if as_json:
        emit({"name": name, "revoked": count})
        return
    print(say("cli.revoked", count=count, name=name))


@user_app.command("disable")
@handles_domain_errors
def user_disable(name: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: no sign-in, every token revoked, every dashboard session ended."""
    from sagsflow.usecases.users import disable_user

    disable_user(context(), name, now=wall_clock())
    print(say("cli.user_disabled", name=name))


@user_app.command("list")
@handles_domain_errors
def user_list(as_json: JsonOption = False) -> None:
    """The users, their roles and teams."""
    from sagsflow.usecases.users import list_users

    rows = list_users(context())
    if as_json:
        emit(rows)
        return
    from sagsflow.cli import tables

    tables.print_users(rows, words())


# --- the API and dashboard -------------------------------------------------------------------


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    log_level: Annotated[
        LogLevel,
        typer.Option(
            "--log-level",
            help="info: one line per request; warning: uvicorn's warnings and errors only.",
        ),
    ] = LogLevel.INFO,
) -> None:
    """Serve the REST API (/api/v1) and the dashboard (/) until Ctrl-C; /healthz, /readyz and
    /metrics for the operator, and one JSON line per request on stderr (docs/operations.md)."""
    import uvicorn

    from sagsflow.ops.logs import logging_config

    print(say("cli.serving", url=f"http://{host}:{port}"), file=sys.stderr)
    uvicorn.run(
        "sagsflow.server:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=logging_config(log_level.value),
        log_level=log_level.value,
        # The request line (sagsflow/ops) replaces uvicorn's: it names the route, not the path.
        access_log=False,
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
