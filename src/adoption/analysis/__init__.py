"""Analyses of an event log: activation tables (pandas and DuckDB), survival curves and Cox models, the
causal questions about receipts, the QR-campaign funnel, adoption timelines and diffusion fits.

The analyses read event logs only; they never run the simulator. A simulated log and a user's own log
in the contract are analysed the same way.
"""

from typing import TYPE_CHECKING

from adoption.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "activation_table": "adoption.analysis.activation",
    "ActivationCurve": "adoption.analysis.survival", "ActivationCox": "adoption.analysis.survival",
    "CompetingRisks": "adoption.analysis.survival",
    "ReceiptEffect": "adoption.analysis.causal", "ActivationPredictor": "adoption.analysis.causal",
    "ReceiptUplift": "adoption.analysis.causal",
    "campaign_report": "adoption.analysis.funnel", "channel_funnel": "adoption.analysis.funnel",
    "BassModel": "adoption.analysis.diffusion",
})

if TYPE_CHECKING:  # pragma: no cover
    from adoption.analysis.activation import activation_table
    from adoption.analysis.causal import ActivationPredictor, ReceiptEffect, ReceiptUplift
    from adoption.analysis.diffusion import BassModel
    from adoption.analysis.funnel import campaign_report, channel_funnel
    from adoption.analysis.survival import ActivationCox, ActivationCurve, CompetingRisks

__all__ = ["ActivationCox", "ActivationCurve", "ActivationPredictor", "BassModel", "CompetingRisks",
           "ReceiptEffect", "ReceiptUplift", "activation_table", "campaign_report", "channel_funnel"]
