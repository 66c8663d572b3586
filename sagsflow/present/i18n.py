"""The dashboard's words, in Danish (the default) and English.

Danish terms follow DOMAIN.md's glossary (fase, frist, opfølgning, foranstaltning, børnefaglig
undersøgelse, handleplan, …). Domain values (phases, events, deadline rules and statuses, roles)
are translated here by their contract names; what comes from the rulebook (measure titles, legal
sources) and the guards' reasons is shown as written there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal

from statemachine.calendar import Unit, to_local
from statemachine.rulebook import Span

Lang = Literal["da", "en"]
LANGUAGES: tuple[Lang, ...] = ("da", "en")
DEFAULT: Lang = "da"


def language(value: str | None) -> Lang | None:
    """`value` as a supported language, or None."""
    return "en" if value == "en" else "da" if value == "da" else None


# --- the domain's vocabulary -----------------------------------------------------------------

PHASES: Mapping[str, tuple[str, str]] = {
    "inquiry": ("Henvendelse", "Inquiry"),
    "clarification": ("Afklaring", "Clarification"),
    "investigation": ("Børnefaglig undersøgelse", "Investigation"),
    "action_plan": ("Handleplan", "Action plan"),
    "decision": ("Afgørelse", "Decision"),
    "implementation": ("Iværksættelse", "Implementation"),
    "follow_up": ("Opfølgning", "Follow-up"),
    "closure": ("Afslutning", "Closure"),
}
EVENTS: Mapping[str, tuple[str, str]] = {
    "open_case": ("Sag oprettet", "Case opened"),
    "assess_urgency": ("Vurdering inden for 24 timer", "Assess urgency (24 hours)"),
    "acknowledge": ("Kvittering for modtagelse", "Acknowledge receipt"),
    "accept": ("Overgå til afklaring", "Accept for clarification"),
    "record_consent": ("Registrér samtykke", "Record consent"),
    "decide_without_consent": ("Afgørelse uden samtykke", "Decide without consent"),
    "open_investigation": ("Start børnefaglig undersøgelse", "Open investigation"),
    "propose_preventive": ("Foreslå forebyggende indsats", "Propose preventive measures"),
    "record_provisional_assessment": (
        "Registrér foreløbig vurdering",
        "Record provisional assessment",
    ),
    "conclude": ("Afslut undersøgelsen", "Conclude investigation"),
    "submit_plan": ("Registrér handleplan", "Submit action plan"),
    "defer_plan": ("Handleplan efter afgørelsen (§91)", "Plan after the decision (§91)"),
    "record_party_hearing": ("Registrér partshøring", "Record party hearing"),
    "grant": ("Bevilg foranstaltning", "Grant measures"),
    "refuse": ("Giv afslag", "Refuse"),
    "start_measures": ("Iværksæt foranstaltning", "Start measures"),
    "record_follow_up": ("Registrér opfølgning", "Record follow-up"),
    "revise_plan": ("Revidér handleplan", "Revise action plan"),
    "end_measure": ("Ophør af foranstaltning", "End measure"),
    "close": ("Afslut sagen", "Close case"),
    "migrate_rulebook": ("Regelsæt skiftet", "Rulebook migrated"),
}
RULES: Mapping[str, tuple[str, str]] = {
    "urgent_assessment": ("24-timersvurdering", "24-hour assessment"),
    "acknowledgement": ("Kvittering for modtagelse", "Acknowledgement of receipt"),
    "investigation": ("Børnefaglig undersøgelse", "Investigation"),
    "decision": ("Afgørelse", "Decision"),
    "action_plan": ("Handleplan", "Action plan"),
    "follow_up": ("Opfølgning", "Follow-up"),
    "package_review": ("Revurdering af pakke", "Package review"),
}
STATUSES: Mapping[str, tuple[str, str]] = {
    "open": ("Åben", "Open"),
    "met": ("Overholdt", "Met"),
    "met_late": ("Overholdt for sent", "Met late"),
    "breached": ("Overskredet", "Breached"),
    "cancelled": ("Bortfaldet", "Cancelled"),
}
REASONS: Mapping[str, tuple[str, str]] = {
    "over_phase_norm": ("Over fasens normtid", "Over the phase norm"),
    "inactive": ("Ingen aktivitet", "Inactive"),
    "breached_deadline": ("Overskredet frist", "Breached deadline"),
    "waiting_for_consent": ("Venter på samtykke", "Waiting for consent"),
}
ROLES: Mapping[str, tuple[str, str]] = {
    "caseworker": ("Rådgiver", "Caseworker"),
    "team_leader": ("Teamleder", "Team leader"),
    "department_head": ("Afdelingsleder", "Department head"),
    "committee": ("Børn og unge-udvalget", "Committee"),
    "auditor": ("Revision", "Auditor"),
    "admin": ("Administrator", "Administrator"),
}
SOURCES: Mapping[str, tuple[str, str]] = {
    "notification": ("Underretning", "Notification"),
    "application": ("Ansøgning", "Application"),
    "inquiry": ("Henvendelse", "Inquiry"),
}
_UNITS: Mapping[Unit, tuple[tuple[str, str], tuple[str, str]]] = {
    Unit.HOURS: (("time", "timer"), ("hour", "hours")),
    Unit.DAYS: (("dag", "dage"), ("day", "days")),
    Unit.WEEKS: (("uge", "uger"), ("week", "weeks")),
    Unit.MONTHS: (("måned", "måneder"), ("month", "months")),
    Unit.WORKING_DAYS: (("hverdag", "hverdage"), ("working day", "working days")),
}
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# --- the pages' own words ----------------------------------------------------------------------

MESSAGES: Mapping[str, tuple[str, str]] = {
    # layout
    "app.tagline": ("Sagsforløb for børne- og ungeområdet", "Case process for child welfare"),
    "nav.overview": ("Overblik", "Overview"),
    "nav.stuck": ("Fastlåste sager", "Stuck cases"),
    "nav.cases": ("Sager", "Cases"),
    "nav.caseload": ("Sagstal", "Caseload"),
    "nav.diagram": ("Fasediagram", "Phase diagram"),
    "nav.sign_out": ("Log ud", "Sign out"),
    "nav.language": ("Sprog", "Language"),
    "nav.skip": ("Spring til indhold", "Skip to content"),
    "footer.note": (
        "Sager vises kun med sagsnummer og pseudonym barnereference. Hver visning af en sag "
        "logges.",
        "Cases are shown by case number and pseudonymous child reference only. Every view of a "
        "case is logged.",
    ),
    # sign-in
    "signin.title": ("Log ind", "Sign in"),
    "signin.intro": (
        "Log ind med dit brugernavn og din adgangskode, eller brug et engangslink fra "
        "`sagsflow user link NAVN`.",
        "Sign in with your user name and password, or use a one-time link from "
        "`sagsflow user link NAME`.",
    ),
    "signin.name": ("Brugernavn", "User name"),
    "signin.password": ("Adgangskode", "Password"),
    "signin.submit": ("Log ind", "Sign in"),
    "signin.failed": (
        "Forkert brugernavn eller adgangskode.",
        "Wrong user name or password.",
    ),
    "signin.link_title": ("Log ind med engangslink", "Sign in with a one-time link"),
    "signin.link_intro": (
        "Linket kan bruges én gang og udløber efter kort tid. Tryk på knappen for at logge ind.",
        "The link works once and expires soon. Press the button to sign in.",
    ),
    "signin.link_failed": (
        "Linket er brugt, udløbet eller ugyldigt. Bed om et nyt.",
        "The link has been used, has expired or is not valid. Ask for a new one.",
    ),
    "signin.signed_out": ("Du er logget ud.", "You are signed out."),
    "signin.expired": (
        "Din session er udløbet, eller din bruger er spærret. Log ind igen.",
        "Your session has expired or your user is disabled. Sign in again.",
    ),
    # overview
    "figures.as_of": ("tal opgjort {at}", "figures as of {at}"),
    "figures.as_of_line": ("Tal opgjort {at}.", "Figures as of {at}."),
    "figures.computing": (
        "Tallene beregnes (første gang efter en genstart). Genindlæs siden om lidt.",
        "The figures are being computed (the first time after a restart). Reload in a moment.",
    ),
    "overview.title": ("Overblik", "Overview"),
    "overview.scope_all": ("Hele afdelingen", "The whole department"),
    "overview.scope_team": ("Team {team}", "Team {team}"),
    "overview.scope_own": ("Dine sager og dit teams sager", "Your cases and your team's"),
    "overview.open_cases": ("Åbne sager", "Open cases"),
    "overview.stuck": ("Fastlåste sager", "Stuck cases"),
    "overview.breached": ("Overskredne frister", "Breached deadlines"),
    "overview.due_soon": ("Frister de næste {days} dage", "Deadlines in the next {days} days"),
    "overview.closed": ("afsluttede", "closed"),
    "overview.per_phase": ("Åbne sager pr. fase", "Open cases per phase"),
    "overview.stuck_in_phase": ("heraf fastlåste", "of which stuck"),
    "overview.compliance": ("Rettidighed i {quarter}", "On time in {quarter}"),
    "overview.compliance_note": (
        "Frister med forfald i kvartalet: andel overholdt inden fristen. Åbne frister, der endnu "
        "ikke er forfaldne, tælles ikke med.",
        "Deadlines falling due in the quarter: the share met on time. Open deadlines not yet "
        "due are not counted.",
    ),
    "overview.trend": (
        "Frister pr. uge, de seneste {weeks} uger",
        "Deadlines per week, the last {weeks} weeks",
    ),
    "overview.trend_note": (
        "Frister efter forfaldsuge: overholdt rettidigt og for sent/overskredet.",
        "Deadlines by the week they fell due: met on time, and late or breached.",
    ),
    "overview.most_overdue": ("Mest overskredne", "Most overdue"),
    "overview.soonest": ("Forfalder først", "Falling due first"),
    "overview.all_stuck": ("Se alle fastlåste sager", "See all stuck cases"),
    "overview.none": ("Ingen.", "None."),
    "overview.more": ("… og {n} flere", "… and {n} more"),
    "share.investigation": ("Børnefaglige undersøgelser", "Investigations"),
    "share.follow_up": ("Opfølgninger", "Follow-ups"),
    "share.acknowledgement": ("Kvitteringer til fagpersoner", "Acknowledgements"),
    "share.urgent_assessment": ("24-timersvurderinger", "24-hour assessments"),
    "share.counts": ("{on_time} af {counted} rettidigt", "{on_time} of {counted} on time"),
    "share.pending": ("{n} endnu ikke forfaldne", "{n} not yet due"),
    "chart.on_time": ("Rettidigt", "On time"),
    "chart.late": ("For sent / overskredet", "Late / breached"),
    "chart.week": ("uge", "week"),
    "chart.target": ("Mål: {n}", "Target: {n}"),
    "chart.no_deadlines": ("ingen frister", "no deadlines"),
    # tables
    "col.case": ("Sag", "Case"),
    "col.child": ("Barn", "Child"),
    "col.phase": ("Fase", "Phase"),
    "col.worker": ("Rådgiver", "Caseworker"),
    "col.team": ("Team", "Team"),
    "col.deadline": ("Frist", "Deadline"),
    "col.due": ("Forfald", "Due"),
    "col.status": ("Status", "Status"),
    "col.overdue": ("Dage over", "Days over"),
    "col.days_left": ("Dage tilbage", "Days left"),
    "col.in_phase": ("I fasen", "In phase"),
    "col.norm": ("Normtid", "Norm"),
    "col.over_norm": ("Over normen", "Over norm"),
    "col.last_event": ("Sidste hændelse", "Last event"),
    "col.reasons": ("Årsag", "Reason"),
    "col.breaches": ("Overskredne frister", "Breached deadlines"),
    "col.aware": ("Kendskab", "Aware"),
    "col.opened": ("Oprettet", "Opened"),
    "col.measure": ("Foranstaltning", "Measure"),
    "col.source": ("Hjemmel", "Legal source"),
    "col.open_cases": ("Åbne sager", "Open cases"),
    "col.note": ("Bemærkning", "Note"),
    "days": ("{n} dage", "{n} days"),
    "ago": ("for {days} siden", "{days} ago"),
    "day": ("{n} dag", "{n} day"),
    "no_worker": ("ingen rådgiver", "no caseworker"),
    "no_team": ("uden team", "no team"),
    # stuck
    "stuck.title": ("Fastlåste sager", "Stuck cases"),
    "stuck.intro": (
        "Åbne sager over fasens normtid, med overskredne frister, uden aktivitet eller som "
        "venter på samtykke — sorteret efter dage over normen.",
        "Open cases over their phase norm, with breached deadlines, inactive, or waiting for "
        "consent — sorted by days over the norm.",
    ),
    "stuck.count": ("{n} fastlåste sager", "{n} stuck cases"),
    "stuck.none": ("Ingen fastlåste sager med disse filtre.", "No stuck cases with these filters."),
    "filter.all": ("Alle", "All"),
    "filter.apply": ("Filtrér", "Filter"),
    "filter.reset": ("Nulstil", "Reset"),
    "page.previous": ("Forrige", "Previous"),
    "page.next": ("Næste", "Next"),
    "page.showing": ("Viser {first}–{last}", "Showing {first}–{last}"),
    "page.showing_of": ("Viser {first}–{last} af {total}", "Showing {first}–{last} of {total}"),
    # cases
    "cases.title": ("Sager", "Cases"),
    "cases.none": ("Ingen sager med disse filtre.", "No cases with these filters."),
    "cases.go": ("Gå til sag", "Go to case"),
    "cases.go_placeholder": ("Sagsnr.", "Case no."),
    # caseload
    "caseload.title": ("Sagstal pr. rådgiver", "Caseload per caseworker"),
    "caseload.intro": (
        "Åbne sager pr. rådgiver mod målet i regelsættet {rulebook}: højst {target} sager.",
        "Open cases per caseworker against the target of rulebook {rulebook}: at most {target}.",
    ),
    "caseload.over": ("{n} over målet", "{n} over target"),
    "caseload.not_in_org": ("ikke i organisationsfilen", "not in the organisation file"),
    "caseload.none": ("Ingen åbne sager.", "No open cases."),
    "caseload.teams_title": ("Sagstal pr. team", "Caseload per team"),
    "caseload.teams_intro": (
        "{teams} teams: for hvert team rådgivernes gennemsnitlige og højeste antal åbne sager"
        " mod målet i regelsættet {rulebook} (højst {target}), de mest belastede først."
        " Vælg et team for at se dets rådgivere.",
        "{teams} teams: per team, its caseworkers' average and highest number of open cases"
        " against the target of rulebook {rulebook} (at most {target}), the most loaded first."
        " Choose a team to see its caseworkers.",
    ),
    "caseload.bar_note": ("gns. {avg} · højst {max}", "avg {avg} · max {max}"),
    "caseload.all_teams": ("Alle teams", "All teams"),
    "col.caseworkers": ("Rådgivere", "Caseworkers"),
    "col.average": ("Gns. pr. rådgiver", "Average per caseworker"),
    "col.maximum": ("Højst", "Maximum"),
    "col.over_target": ("Over målet", "Over target"),
    "col.unassigned": ("Uden rådgiver", "Without caseworker"),
    "filter.team_first": (
        "Vælg et team for at filtrere på rådgiver",
        "Choose a team to filter by caseworker",
    ),
    # case page
    "case.title": ("Sag {id}", "Case {id}"),
    "case.child_ref": ("Barnereference", "Child reference"),
    "case.birth_date": ("Født", "Born"),
    "case.age": ("{n} år", "{n} years"),
    "case.aware_at": ("Kommunen fik kendskab", "Municipality aware"),
    "case.source": ("Kilde", "Source"),
    "case.rulebook": ("Regelsæt", "Rulebook"),
    "case.version": ("Version", "Version"),
    "case.phase_since": ("i fasen siden {at}", "in this phase since {at}"),
    "case.consents": ("Samtykker", "Consents"),
    "case.none": ("ingen", "none"),
    "case.timeline": ("Tidslinje: faser og frister", "Timeline: phases and deadlines"),
    "case.timeline_phases": ("Faser", "Phases"),
    "case.timeline_deadlines": ("Frister", "Deadlines"),
    "case.today": ("i dag", "today"),
    "case.deadlines": ("Frister", "Deadlines"),
    "case.explanation": ("Beregning", "Arithmetic"),
    "case.measures": ("Foranstaltninger og opfølgning", "Measures and follow-up"),
    "case.no_measures": ("Ingen foranstaltninger bevilget.", "No measures granted."),
    "case.granted": ("Bevilget", "Granted"),
    "case.started": ("Iværksat", "Started"),
    "case.ended": ("Ophørt", "Ended"),
    "case.package": ("Pakke", "Package"),
    "case.external": ("ekstern leverandør", "external provider"),
    "case.follow_ups": ("Opfølgninger holdt", "Follow-ups held"),
    "case.last_follow_up": ("Seneste opfølgning", "Last follow-up"),
    "case.follow_up_deadlines": ("Opfølgningsfrister", "Follow-up deadlines"),
    "case.audit": ("Revisionsspor", "Audit trail"),
    "case.audit_note": (
        "Hver accepteret hændelse, hash-kædet. Databasen afviser ændring og sletning.",
        "Every accepted event, hash-chained. The database refuses updates and deletes.",
    ),
    "case.seq": ("Nr.", "No."),
    "case.event": ("Hændelse", "Event"),
    "case.phase_change": ("Fase", "Phase"),
    "case.event_at": ("Tidspunkt", "Time"),
    "case.recorded_at": ("Registreret", "Recorded"),
    "case.actor": ("Af", "By"),
    "case.legal_basis": ("Hjemmel", "Legal basis"),
    "case.data": ("Data", "Data"),
    "case.actions": ("Hændelser du kan registrere nu", "Events you may record now"),
    "case.actions_read_only": (
        "Din rolle ({role}) kan kun læse sager.",
        "Your role ({role}) reads cases only.",
    ),
    "case.actions_none": ("Sagen er afsluttet.", "The case is closed."),
    "case.at": ("Tidspunkt for hændelsen", "Time of the event"),
    "case.at_hint": (
        "Dansk tid. Standard: nu. Ikke før sagens seneste hændelse.",
        "Copenhagen time. Default: now. Not before the case's latest event.",
    ),
    "case.data_for": ("Data til hændelsen (JSON)", "The event's data (JSON)"),
    "case.fire": ("Registrér", "Record"),
    "case.not_possible": ("Ikke mulig nu", "Not possible now"),
    "case.done": (
        "Registreret: {event} ({from_phase} → {to_phase}), version {version}.",
        "Recorded: {event} ({from_phase} → {to_phase}), version {version}.",
    ),
    "case.done_kept": (
        "Registreret: {event} (fasen er fortsat {phase}), version {version}.",
        "Recorded: {event} (the case stays in {phase}), version {version}.",
    ),
    "case.refused": ("Hændelsen blev afvist", "The event was refused"),
    "case.allowed_now": ("Mulige hændelser i fasen", "Events of this phase"),
    "case.stale": (
        "Sagen er ændret, siden du åbnede den (du havde version {expected}, nu version "
        "{current}). Intet er registreret. Se sagen igen nedenfor og prøv på ny.",
        "The case has changed since you opened it (you had version {expected}, it is now "
        "version {current}). Nothing was recorded. Look at the case again below and retry.",
    ),
    "case.bad_data": ("Data er ikke gyldig JSON: {error}", "The data is not valid JSON: {error}"),
    "case.bad_at": (
        "Tidspunktet kunne ikke læses: {value}",
        "The time could not be read: {value}",
    ),
    # diagram
    "diagram.title": ("Fasediagram", "Phase diagram"),
    "diagram.intro": (
        "Tegnet direkte fra tilstandsmaskinen for regelsættet {rulebook}, så tegningen aldrig "
        "kan afvige fra den maskine, der registrerer hændelserne.",
        "Drawn from the state machine itself for rulebook {rulebook}, so the drawing cannot "
        "disagree with the machine that records the events.",
    ),
    "diagram.rulebook": ("Regelsæt", "Rulebook"),
    "diagram.show": ("Vis", "Show"),
    "diagram.phases": ("Faserne", "The phases"),
    "diagram.events": ("Hændelserne", "The events"),
    "diagram.name": ("Navn i maskinen", "Name in the machine"),
    # errors
    "error.not_found": ("Siden eller sagen findes ikke", "Page or case not found"),
    "error.not_found_text": (
        "Sagen findes ikke, eller du har ikke adgang til den.",
        "The case does not exist, or you have no access to it.",
    ),
    "error.forbidden": ("Ikke tilladt", "Not allowed"),
    "error.csrf": (
        "Formularen mangler et gyldigt sikkerhedstegn (CSRF). Genindlæs siden og prøv igen.",
        "The form lacks a valid security token (CSRF). Reload the page and try again.",
    ),
    "error.back": ("Til overblikket", "To the overview"),
    "admin.no_cases": (
        "Som administrator har du ikke adgang til sager.",
        "As an administrator you have no access to cases.",
    ),
}


class Translator:
    """The words of one language, for templates and handlers."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang
        self._index = LANGUAGES.index(lang)

    def __call__(self, key: str, **values: object) -> str:
        pair = MESSAGES.get(key)
        text = pair[self._index] if pair else key
        return text.format(**values) if values else text

    def _pick(self, table: Mapping[str, tuple[str, str]], key: str | None) -> str:
        if key is None:
            return "–"
        pair = table.get(key)
        return pair[self._index] if pair else key

    def phase(self, value: str | None) -> str:
        return self._pick(PHASES, value)

    def event(self, value: str | None) -> str:
        return self._pick(EVENTS, value)

    def rule(self, value: str | None) -> str:
        return self._pick(RULES, value)

    def status(self, value: str | None) -> str:
        return self._pick(STATUSES, value)

    def reason(self, value: str | None) -> str:
        return self._pick(REASONS, value)

    def role(self, value: str | None) -> str:
        return self._pick(ROLES, value)

    def source(self, value: str | None) -> str:
        return self._pick(SOURCES, value)

    def days(self, n: int) -> str:
        return self("day" if abs(n) == 1 else "days", n=n)

    def span(self, span: Span | None) -> str:
        if span is None:
            return "–"
        singular, plural = _UNITS[span.unit][self._index]
        return f"{span.amount} {singular if span.amount == 1 else plural}"

    def date(self, value: date | datetime | str | None) -> str:
        """A calendar date: 23.11.2026 / 23 Nov 2026 (an instant by its Copenhagen date)."""
        if value is None:
            return "–"
        if isinstance(value, str):  # "2026-11-23" or an ISO instant with its offset
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        if isinstance(value, datetime):
            value = to_local(value).date()
        if self.lang == "da":
            return f"{value.day:02d}.{value.month:02d}.{value.year}"
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"

    def instant(self, value: datetime | str | None) -> str:
        """An instant in Copenhagen time: 23.11.2026 kl. 14:05 / 23 Nov 2026 14:05."""
        if value is None:
            return "–"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        local = to_local(value)
        joiner = " kl. " if self.lang == "da" else " "
        return f"{self.date(local.date())}{joiner}{local:%H:%M}"

    def number(self, n: int) -> str:
        """Thousands grouped: 1.234 / 1,234."""
        return f"{n:,}".replace(",", "." if self.lang == "da" else ",")

    def percent(self, share: float | None) -> str:
        if share is None:
            return "–"
        text = f"{share * 100:.1f} %"
        return text.replace(".", ",") if self.lang == "da" else text.replace(" %", "%")
