"""Doctests that read the bundled example log or run a simulation take seconds each: the fast lane
(``make test-fast``, ``-m "not slow"``) leaves them to the whole suite."""

from __future__ import annotations

import pytest

#: Doctests (by their name in the module) that take more than about two seconds.
SLOW_DOCTESTS = {
    "adoption.analysis.headline.activation_headline", "adoption.analysis.headline.headline_by_definition",
    "adoption.analysis.headline.ActivationHeadline.to_dict", "adoption.analysis.headline.ActivationHeadline.table",
    "adoption.sweep.read_results", "adoption.calibrate.read_calibration", "adoption.analysis.survival.ActivationCox",
    "adoption.analysis.causal.ReceiptUplift", "adoption.analysis.causal.ActivationPredictor",
    "adoption.analysis.causal.effects_against_truth", "adoption.tipping.mean_field_critical_push",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)
