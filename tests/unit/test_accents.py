from __future__ import annotations

import unicodedata
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from viewer.accents import fold_accents
from viewer.services.patients import PatientSummary


def _patient(name: str) -> PatientSummary:
    return PatientSummary(uuid.uuid4(), "p_1", name, 0, None, None)


@pytest.mark.parametrize(
    ("typed", "found"),
    [("zoe", True), ("NUNEZ", True), ("müller", True), ("Núñez", True), ("muller-n", True), ("zoey", False)],
)
def test_the_patient_search_is_blind_to_case_and_accents(typed: str, found: bool) -> None:
    assert _patient("Zoë Müller-Núñez").matches(typed) is found


def test_either_unicode_form_of_a_name_is_found() -> None:
    decomposed = unicodedata.normalize("NFD", "Zoë Müller")
    assert _patient(decomposed).matches("zoë") and _patient("Zoë Müller").matches(decomposed)


@given(st.text())
def test_folding_is_idempotent_and_leaves_no_combining_accent(text: str) -> None:
    folded = fold_accents(text)
    assert fold_accents(folded) == folded
    assert not any("\u0300" <= ch <= "\u036f" for ch in folded)
