"""The shipped rulebooks load, carry the issue's values, and a broken rulebook is refused clearly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rulebooks import SHIPPED, UnknownRulebook, load, read_catalogue
from statemachine.errors import RulebookInvalid
from statemachine.phases import Role
from statemachine.rulebook import MeasureCategory, RuleId

SHIPPED_FILES = ["default/2014.1.yaml", "default/2024.1.yaml", "dk-national/2024.1.yaml"]
SEL_TEXT = (SHIPPED / "default" / "2014.1.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_shipped_rulebook_loads(name):
    rulebook = load(SHIPPED / name)
    assert f"{rulebook.id}/{rulebook.version}.yaml" == name


def test_catalogue_knows_every_shipped_version(catalogue):
    assert sorted(r.key for r in catalogue.rulebooks) == [
        "default@2014.1",
        "default@2024.1",
        "dk-national@2024.1",
    ]


@pytest.mark.parametrize(
    ("aware_on", "version"),
    [
        (date(2014, 1, 1), "2014.1"),
        (date(2023, 12, 31), "2014.1"),
        (date(2024, 1, 1), "2024.1"),
        (date(2025, 10, 31), "2024.1"),
    ],
)
def test_case_follows_the_version_in_force_on_its_awareness_date(catalogue, aware_on, version):
    assert catalogue.in_force("default", aware_on).version == version


def test_no_version_in_force_before_the_first(catalogue):
    with pytest.raises(UnknownRulebook):
        catalogue.in_force("default", date(2013, 12, 31))
    with pytest.raises(UnknownRulebook):
        catalogue.in_force("dk-national", date(2023, 12, 31))


@pytest.mark.parametrize(
    ("municipality", "rulebook_id"),
    [("demo", "default"), ("national", "dk-national"), ("Aarhus", "default")],
)
def test_municipality_follows_its_rulebook_or_the_default(catalogue, municipality, rulebook_id):
    assert catalogue.rulebook_id_for(municipality) == rulebook_id


def test_rulebook_is_resolved_by_reference(catalogue):
    assert catalogue.resolve("2014.1", "default").key == "default@2014.1"
    assert catalogue.resolve("dk-national@2024.1", "default").key == "dk-national@2024.1"
    with pytest.raises(UnknownRulebook):
        catalogue.resolve("default@1999.1", "default")


# --- which versions take over the cases already open (docs/decisions/015) ----------------


def test_only_the_change_of_law_takes_over_open_cases(sel, barnets_lov, national):
    # Barnets Lov (lov nr. 721 af 13/06/2023) judges every act from 1 January 2024; SEL's version
    # is the first, with nothing before it to take over
    assert sel.applies_to_open_cases is False
    assert barnets_lov.applies_to_open_cases is True
    assert national.applies_to_open_cases is True


@pytest.mark.parametrize(
    ("on", "taken_over_by"),
    [
        (date(2023, 12, 31), None),
        (date(2024, 1, 1), "default@2024.1"),
        (date(2030, 1, 1), "default@2024.1"),
    ],
)
def test_a_sel_case_is_taken_over_from_barnets_lovs_first_day(catalogue, sel, on, taken_over_by):
    successor = catalogue.taking_over(sel, on)
    assert (successor.key if successor else None) == taken_over_by
    assert {k: v.key for k, v in catalogue.taken_over(on).items()} == (
        {("default", "2014.1"): taken_over_by} if taken_over_by else {}
    )


def test_the_latest_version_takes_nothing_over(catalogue, barnets_lov, national):
    assert catalogue.taking_over(barnets_lov, date(2030, 1, 1)) is None
    assert catalogue.taking_over(national, date(2030, 1, 1)) is None


def _version(tmp_path: Path, version: str, effective_from: str, applies: str) -> None:
    path = tmp_path / "default" / f"{version}.yaml"
    path.parent.mkdir(exist_ok=True)
    text = SEL_TEXT.replace('version: "2014.1"', f'version: "{version}"')
    text = text.replace("effective_from: 2014-01-01", f"effective_from: {effective_from}")
    path.write_text(text.replace("law: SEL\n", f"law: SEL\n{applies}\n"), encoding="utf-8")


def test_a_service_level_change_takes_nothing_over_and_hides_no_change_of_law(tmp_path, sel):
    # Given a municipality's service level of 2026 (it says false) after Barnets Lov's version
    _version(tmp_path, "2026.1", "2026-01-01", "applies_to_open_cases: false")
    catalogue = read_catalogue([tmp_path])
    barnets_lov = catalogue.get("default", "2024.1")
    # Then a case under Barnets Lov keeps its version in 2026, and a SEL case still moves to
    # Barnets Lov's, not to the service level
    assert catalogue.taking_over(barnets_lov, date(2026, 6, 1)) is None
    assert catalogue.taking_over(sel, date(2026, 6, 1)) == barnets_lov


def test_a_later_change_of_law_takes_over_from_the_latest(tmp_path, sel):
    # Given another change of law in 2026 (it says true)
    _version(tmp_path, "2026.1", "2026-01-01", "applies_to_open_cases: true")
    catalogue = read_catalogue([tmp_path])
    # Then a SEL case met in 2026 moves straight to it, and in 2025 to Barnets Lov's
    assert catalogue.taking_over(sel, date(2026, 1, 1)).key == "default@2026.1"
    assert catalogue.taking_over(sel, date(2025, 12, 31)).key == "default@2024.1"


def test_applies_to_open_cases_must_be_true_or_false(tmp_path):
    # A text or a number is refused, not read as true
    _version(tmp_path, "2026.1", "2026-01-01", 'applies_to_open_cases: "ja"')
    with pytest.raises(RulebookInvalid) as invalid:
        load(tmp_path / "default" / "2026.1.yaml")
    [(where, why)] = invalid.value.problems
    assert where == "applies_to_open_cases"
    assert "valid boolean" in why


# --- the values the issue asks for --------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "packages"),
    [
        ("practical_support", ["red", "orange", "yellow", "green"]),
        ("contact_person_family", ["red", "orange", "yellow", "green"]),
        ("individual_treatment", ["red", "yellow", "green"]),
        ("safety_plan", []),
        ("support_person_parents", []),
    ],
)
def test_default_packages_are_seed_000s(sel, barnets_lov, measure, packages):
    assert sel.measures[measure].packages == packages
    assert barnets_lov.measures[measure].packages == packages


@pytest.mark.parametrize(
    ("measure", "ages"), [("contact_person_child", (14, 22)), ("trauma_treatment", (4, 22))]
)
def test_default_age_ranges_are_seed_000s(sel, barnets_lov, measure, ages):
    for rulebook in (sel, barnets_lov):
        age_range = rulebook.measures[measure].ages
        assert (age_range.min, age_range.max) == ages


def test_preventive_talks_need_neither_investigation_nor_plan(sel, barnets_lov, national):
    for rulebook in (sel, barnets_lov, national):
        talks = rulebook.measures["preventive_talks"]
        assert (talks.needs_investigation, talks.action_plan) == (False, "none")
        assert talks.follow_up is None


def test_sel_wants_the_plan_before_every_decision_on_a_measure(sel):
    for name, measure in sel.measures.items():
        expected = "none" if measure.category is MeasureCategory.PREVENTIVE else "before_decision"
        assert measure.action_plan == expected, name
    assert not sel.plan_may_follow_decision


def test_barnets_lov_lets_only_supportive_plans_follow_the_decision(barnets_lov):
    expected = {
        MeasureCategory.PREVENTIVE: "none",
        MeasureCategory.SUPPORTIVE: "after_decision",
        MeasureCategory.PLACEMENT: "before_decision",
    }
    for name, measure in barnets_lov.measures.items():
        assert measure.action_plan == expected[measure.category], name
    assert barnets_lov.deadlines[RuleId.ACTION_PLAN].duration.amount == 3


def test_service_levels_are_the_same_in_both_default_versions(sel, barnets_lov):
    assert sel.measures.keys() == barnets_lov.measures.keys()
    for name in sel.measures:
        old, new = sel.measures[name], barnets_lov.measures[name]
        assert (old.packages, old.ages.min, old.ages.max) == (
            new.packages,
            new.ages.min,
            new.ages.max,
        )
        assert (old.follow_up, old.package_review, old.competence) == (
            new.follow_up,
            new.package_review,
            new.competence,
        )
    assert sel.consent.child_from_age == barnets_lov.consent.child_from_age == 15


def test_national_minimum_follows_up_after_3_then_every_12_months(national):
    cadence = national.measures["supportive_measure"].follow_up
    assert cadence is not None
    assert (cadence.first.amount, cadence.first.unit) == (3, "months")
    assert [(s.every.amount, s.every.unit) for s in cadence.then] == [(12, "months")]


def test_default_competence_plan(sel):
    plan = sel.competence
    assert plan.decide_without_consent is Role.COMMITTEE
    assert plan.external_purchase is Role.DEPARTMENT_HEAD
    assert plan.placement_without_consent is Role.COMMITTEE
    assert sel.measures["placement"].competence is Role.TEAM_LEADER
    assert sel.measures["practical_support"].competence is Role.CASEWORKER


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_every_rule_names_source_responsible_and_escalation(name):
    rulebook = load(SHIPPED / name)
    assert set(rulebook.deadlines) <= {
        RuleId.URGENT_ASSESSMENT,
        RuleId.ACKNOWLEDGEMENT,
        RuleId.INVESTIGATION,
        RuleId.DECISION,
        RuleId.ACTION_PLAN,
        RuleId.PROVISIONAL_ASSESSMENT,
        RuleId.COMPULSORY_EXAMINATION,
        RuleId.DELAY_NOTICE,
        # Issue 11: per complaint and per further notification.
        RuleId.COMPLAINT_PERIOD,
        RuleId.REASSESSMENT,
        RuleId.FORWARD_COMPLAINT,
        RuleId.NOTIFICATION_REASSESSMENT,
        RuleId.CHILD_CONVERSATION,
    }
    for rule in [*rulebook.deadlines.values(), *rulebook.measure_deadlines.values()]:
        assert rule.source.strip()
        assert rule.responsible is Role.CASEWORKER
        assert rule.escalated_to is Role.TEAM_LEADER
    for measure in rulebook.measures.values():
        assert measure.legal_basis.strip() and measure.source.strip()
        if measure.follow_up is not None:
            assert measure.follow_up.source.strip()


# --- broken rulebooks ---------------------------------------------------------------------


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    assert SEL_TEXT.count(old) == 1, f"the shipped file no longer has {old!r} once"
    path = tmp_path / "default" / "2014.1.yaml"
    path.parent.mkdir()
    path.write_text(SEL_TEXT.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "where", "why"),
    [
        (
            "duration: {amount: 4, unit: months}",
            "duration: {amount: 4, unit: fortnights}",
            "deadlines.investigation.duration.unit",
            "Input should be 'hours', 'days', 'weeks', 'months' or 'working_days'",
        ),
        (
            "duration: {amount: 4, unit: months}",
            "duration: {amount: -4, unit: months}",
            "deadlines.investigation.duration.amount",
            "Input should be greater than or equal to 0",
        ),
        (
            "    met_by: [conclude]\n    responsible: caseworker\n    escalated_to: team_leader\n    ladder: *ladder_months\n  compulsory_examination:",
            "    met_by: [finish_investigation]\n    responsible: caseworker\n    escalated_to: team_leader\n    ladder: *ladder_months\n  compulsory_examination:",
            "deadlines.investigation.met_by.0",
            "Input should be 'open_case'",
        ),
        (
            "    notes: typisk 6-9 måneder",
            "    package_review: {amount: 6, unit: months}",
            "measures.safety_plan.package_review",
            "the measure has no packages",
        ),
        (
            'ages: {min: 14, max: 22, source: "Vejledende serviceniveau for forebyggende indsatser: 14-22 år"}',
            'ages: {min: 22, max: 14, source: "Vejledende serviceniveau for forebyggende indsatser: 14-22 år"}',
            "measures.contact_person_child.ages",
            "min 22 is above max 14",
        ),
        (
            # An expected child is 0 to the age checks (issue 10).
            "    for_expectant_parents: true\n    follow_up: *cadence_package\n    notes: inden",
            "    for_expectant_parents: true\n    ages: {min: 1}\n    follow_up: *cadence_package\n"
            "    notes: inden",
            "measures.support_expectant_parents.ages.min",
            "a measure for expectant parents admits age 0",
        ),
    ],
)
def test_broken_rulebook_is_refused_naming_file_path_and_reason(tmp_path, old, new, where, why):
    # given a copy of the SEL rulebook with one rule broken
    path = _broken(tmp_path, old, new)
    # when it is loaded
    with pytest.raises(RulebookInvalid) as invalid:
        load(path)
    # then the error names the file, the path inside it and the reason
    assert invalid.value.file == str(path)
    assert len(invalid.value.problems) == 1
    problem_path, reason = invalid.value.problems[0]
    assert problem_path == where
    assert why in reason
    assert str(path) in str(invalid.value) and where in str(invalid.value)


def test_a_ladder_of_more_rungs_than_the_sweep_keeps_is_refused(tmp_path):
    # given a copy of the SEL rulebook whose hours ladder has 17 rungs (the sweep keeps the
    # rungs notified as a bit mask of at most 16: docs/decisions/013-notified-rungs.md)
    step = "    - {level: escalation, after: {amount: 1, unit: days}, to: department_head}\n"
    path = _broken(tmp_path, step, step * 15)
    # when it is loaded
    with pytest.raises(RulebookInvalid) as invalid:
        load(path)
    # then each rule on that ladder is refused for it
    assert invalid.value.problems
    assert {where.rsplit(".", 1)[-1] for where, _ in invalid.value.problems} == {"ladder"}
    assert all("at most 16 items" in why for _, why in invalid.value.problems)


def test_rulebook_that_is_not_yaml_is_refused_with_line_and_column(tmp_path):
    path = _broken(tmp_path, "law: SEL\n", "law: [SEL\n")
    with pytest.raises(RulebookInvalid) as invalid:
        load(path)
    problem_path, reason = invalid.value.problems[0]
    assert invalid.value.file == str(path)
    assert problem_path.startswith("line ") and ", column " in problem_path
    assert reason.startswith("not valid YAML")


def test_rulebook_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(RulebookInvalid) as invalid:
        load(path)
    assert invalid.value.problems == [("(file)", "a rulebook is a mapping at the top level")]


def test_missing_rulebook_file_is_refused(tmp_path):
    with pytest.raises(RulebookInvalid) as invalid:
        load(tmp_path / "nowhere.yaml")
    assert invalid.value.problems[0][0] == "(file)"


def test_catalogue_refuses_a_broken_extra_rulebook(tmp_path):
    _broken(
        tmp_path,
        "    met_by: [conclude]\n    responsible: caseworker\n    escalated_to: team_leader\n    ladder: *ladder_months\n  compulsory_examination:",
        "    met_by: [finish_investigation]\n    responsible: caseworker\n    escalated_to: team_leader\n    ladder: *ladder_months\n  compulsory_examination:",
    )
    with pytest.raises(RulebookInvalid) as invalid:
        read_catalogue([tmp_path])
    assert invalid.value.file.endswith("2014.1.yaml")


def test_catalogue_refuses_a_rulebook_filed_under_another_version(tmp_path):
    path = tmp_path / "default" / "2015.1.yaml"
    path.parent.mkdir()
    path.write_text(SEL_TEXT, encoding="utf-8")
    with pytest.raises(RulebookInvalid) as invalid:
        read_catalogue([tmp_path])
    assert invalid.value.problems == [("id/version", "file must be default/2014.1.yaml")]


def test_catalogue_adds_a_municipalitys_own_version(tmp_path):
    # a new service level is a new rulebook version, not a code change
    path = tmp_path / "default" / "2026.1.yaml"
    path.parent.mkdir()
    path.write_text(
        SEL_TEXT.replace('version: "2014.1"', 'version: "2026.1"').replace(
            "effective_from: 2014-01-01", "effective_from: 2026-01-01"
        ),
        encoding="utf-8",
    )
    catalogue = read_catalogue([tmp_path])
    assert catalogue.in_force("default", date(2026, 1, 1)).version == "2026.1"
    assert catalogue.in_force("default", date(2025, 12, 31)).version == "2024.1"
