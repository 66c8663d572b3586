"""The API's words: Danish unless `Accept-Language` asks for English; the machine fields (codes,
event names, rule ids, keys) the same in both."""

from __future__ import annotations

from dataclasses import replace

from statemachine.phases import Phase, Role


def _refused_investigation(staff, cases, language: str | None):
    case = cases.at_phase(Phase.CLARIFICATION, worker=staff.name(Role.CASEWORKER), team=staff.team)
    caller = replace(staff.as_(Role.CASEWORKER), language=language or "")  # "": none asked for
    return caller.post(
        f"/api/v1/cases/{case.id}/events",
        json={"event": "decide_compulsory_examination", "at": case.later(days=1).isoformat()},
    )


def test_a_refusal_is_danish_by_default_with_its_code_and_parameters(staff, cases, problem):
    # Given a case in clarification
    # When a caseworker's client that names no language records the committee's compulsory
    # examination (Barnets Lov §23: the committee's competence)
    body = problem(_refused_investigation(staff, cases, None), 409, "event-refused")

    # Then the words are Danish, and the code and parameters are the contract's
    assert body["title"] == "Hændelsen blev afvist"
    assert body["reason"].startswith(
        "en afgørelse om undersøgelse uden samtykke kræver kompetence som Børne- og ungeudvalget "
        "(Kompetenceplan: "
    )
    assert body["reason"].endswith("; Rådgiver har den ikke")
    assert body["code"] == "no_competence"
    assert (body["params"]["needed"], body["params"]["role"]) == ("committee", "caseworker")
    assert "Kompetenceplan" in body["params"]["source"]
    assert body["event"] == "decide_compulsory_examination"
    assert "record_consent" in body["allowed"]


def test_accept_language_english_gives_the_english_sentence_and_the_same_code(
    staff, cases, problem
):
    danish = problem(_refused_investigation(staff, cases, "da"), 409, "event-refused")
    english = problem(_refused_investigation(staff, cases, "en-GB,en;q=0.9"), 409, "event-refused")
    assert english["title"] == "The event was refused"
    assert english["reason"].startswith(
        "a decision to investigate without consent needs the competence of committee"
    )
    assert (english["code"], english["params"]) == (danish["code"], danish["params"])
    assert english["allowed"] == danish["allowed"]


def test_a_case_explains_its_deadlines_in_the_language_asked_for(staff, cases):
    case = cases.at_phase(Phase.INVESTIGATION, worker=staff.name(Role.CASEWORKER), team=staff.team)
    caller = staff.as_(Role.CASEWORKER)
    url = f"/api/v1/cases/{case.id}"
    danish = {d["rule"]: d for d in replace(caller, language="da").get(url).json()["deadlines"]}
    english = {d["rule"]: d for d in replace(caller, language="en").get(url).json()["deadlines"]}

    # 4 calendar months from awareness (Barnets Lov §20 stk. 3), in each language
    assert "4 kalendermåneder" in danish["investigation"]["explanation"]
    assert "Regnet fra kendskab" in danish["investigation"]["explanation"]
    assert "4 calendar months" in english["investigation"]["explanation"]
    # and the arithmetic itself as data, the same in both
    arithmetic = danish["investigation"]["arithmetic"]
    assert arithmetic == english["investigation"]["arithmetic"]
    assert (arithmetic["kind"], arithmetic["amount"], arithmetic["unit"]) == ("days", 4, "months")


def test_an_unknown_case_is_worded_in_danish_by_default(staff, problem):
    caller = replace(staff.as_(Role.CASEWORKER), language="")
    body = problem(caller.get("/api/v1/cases/999999"), 404, "case-not-found")
    assert body["title"] == "Sagen findes ikke"
    assert body["detail"] == "sag 999999 findes ikke"
