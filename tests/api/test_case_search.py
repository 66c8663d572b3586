"""`GET /api/v1/cases?q=`: find cases by number or child reference (issue 13, point 4)."""

from __future__ import annotations

import pytest

from statemachine.phases import Role


def test_q_finds_a_child_reference_exact_or_by_its_beginning_and_a_case_by_number(staff, cases):
    # Given cases of the team and one of another team, with references sharing a beginning
    mine = [
        cases.open(child_ref=f"{staff.team}-K{i}", worker=None, team=staff.team).id
        for i in (1, 2, 10)
    ]
    theirs = cases.open(child_ref=f"{staff.team}-K3", worker=None, team=staff.other_team).id
    # a reference that begins like the range's end ("…-L"), and one with a LIKE wildcard
    after = cases.open(child_ref=f"{staff.team}-L1", worker=None, team=staff.team).id
    wild = cases.open(child_ref=f"{staff.team}-K_%", worker=None, team=staff.team).id
    client = staff.as_(Role.TEAM_LEADER)

    def found(q: str, **params: object) -> list[int]:
        response = client.get("/api/v1/cases", params={"q": q, **params})
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    # Then the exact reference finds its case; its beginning finds every case it begins,
    # oldest first, within what the team leader may see (not the other team's)
    assert found(f"{staff.team}-K1") == [mine[0], mine[2]]  # K1 and K10
    assert found(f"{staff.team}-K") == [*mine, wild]
    assert found(f"{staff.team}-K_") == [wild]  # "_" is a character, not a wildcard
    assert found(f"{staff.team}-L") == [after]
    assert found(f"{staff.team}-K3") == []
    assert theirs not in found(f"{staff.team}-")
    # a number is the case with that number
    assert found(str(mine[1])) == [mine[1]]
    assert found(str(theirs)) == []
    # and pages as the list does
    first = client.get("/api/v1/cases", params={"q": f"{staff.team}-K", "limit": 2}).json()
    assert ([c["id"] for c in first["items"]], first["next_offset"]) == (mine[:2], 2)
    assert found(f"{staff.team}-K", offset=2) == [mine[2], wild]


@pytest.mark.parametrize(
    "q",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 65, id="too-long"),
        pytest.param("B\x00", id="nul"),
        pytest.param("B\x1f", id="control"),
    ],
)
def test_q_out_of_bounds_is_a_422(module_staff, problem, q):
    response = module_staff.as_(Role.CASEWORKER).get("/api/v1/cases", params={"q": q})
    problem(response, 422, "invalid-request")


def test_q_is_described_with_its_bounds_in_the_openapi_document(api):
    document = api.client().get("/openapi.json").json()
    [q] = [p for p in document["paths"]["/api/v1/cases"]["get"]["parameters"] if p["name"] == "q"]
    assert "child reference" in q["description"]
    schema = q["schema"]["anyOf"][0]
    assert (schema["minLength"], schema["maxLength"]) == (1, 64)
    assert schema["pattern"] == r"^[^\x00-\x1f\x7f]*$"
