"""What a report notebook calls to show things: sentences, tables, headline numbers, skipped sections.

Report notebooks stay thin: they compute with :mod:`adoption`, plot with :mod:`adoption.plotting` and show
everything else through these functions, so that no object repr, ``dtype:`` line or raw float reaches
a reader:

- :func:`say` shows one paragraph of text (escaped: data never becomes markup);
- :func:`show_table` shows a DataFrame or Series through one formatter (thousands separators, three
  significant digits, percentages for shares, "<0.001" for small p-values, words for booleans);
- :func:`show_metrics` shows and records the run's numbers, with the :class:`Headline` entries the
  report index shows first;
- :func:`section` runs a section's computation and says why it is skipped when the log cannot answer;
- :func:`live_frontend` tells a live JupyterLab kernel (interactive controls) from batch execution.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from adoption.errors import InputError

__all__ = ["BATCH_ENV", "HEADLINE_MIME", "METRICS_MIME", "Headline", "format_headline", "format_named",
           "format_table", "format_value", "live_frontend", "say", "section", "show_metrics", "show_table"]

#: The MIME type under which a notebook reports its numbers (read back into ``metrics.json``).
METRICS_MIME = "application/vnd.adoption.metrics+json"
#: The MIME type of the headline entries the report index shows first.
HEADLINE_MIME = "application/vnd.adoption.headline+json"
#: Set by the report runner in the kernel's environment: the notebook runs in batch, with nobody to interact.
BATCH_ENV = "ADOPTION_BATCH"

#: Columns read as shares and shown as percentages.
_SHARE = re.compile(r"(^|_)(cumulative_incidence|share|rate|activation|leaving|returned|saturation|left_first|"
                    r"observed|predicted|activated|active|accepting)(_|$)")
#: Columns read as p-values.
_P_VALUE = re.compile(r"(^|_)p(_value|_adjusted)?$")


class Headline(NamedTuple):
    """One headline number of a report: a label, the metric's key, optional interval keys, and its format.

    Examples
    --------
    >>> Headline("share active within 90 days", "cumulative_incidence", "ci_low", "ci_high", percent=True)
    Headline(label='share active within 90 days', key='cumulative_incidence', low='ci_low', high='ci_high', percent=True)
    """

    label: str
    key: str
    low: str | None = None
    high: str | None = None
    percent: bool = False


def format_value(value: Any, *, percent: bool = False, p_value: bool = False) -> str:
    """One value as a reader should see it.

    Examples
    --------
    >>> format_value(16000000.0), format_value(0.80551, percent=True), format_value(3e-7, p_value=True)
    ('16,000,000', '80.6%', '<0.001')
    >>> format_value(True), format_value(None), format_value(22.403), format_value(0.0393), format_value(np.int64(16554))
    ('yes', '–', '22.4', '0.0393', '16,554')
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isinf(value):
            return "never" if value > 0 else "−∞"
        if p_value:
            return "<0.001" if value < 0.001 else f"{value:.3f}"
        if percent:
            return f"{value * 100:.1f}%"
        if value == 0:
            return "0"
        if abs(value) >= 1000 or (abs(value) >= 100 and value.is_integer()):
            return f"{value:,.0f}"
        if value.is_integer():
            return f"{value:.0f}"
        return f"{value:.3g}" if abs(value) >= 0.001 else f"{value:.2g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    return str(value)


def _label(name: Any) -> str:
    return str(name).replace("_", " ") if name is not None else ""


def format_table(data: pd.DataFrame | pd.Series, *, percent: Sequence[str] | bool | None = None,
                 labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The table as strings a reader should see: every cell through :func:`format_value`, headers in words.

    ``percent`` lists the columns shown as percentages; by default, columns named like shares
    (``cumulative_incidence``, ``share``, ``rate`` ...) and, when there is one, the ``ci_low``/``ci_high``
    beside them. ``False`` turns percentages off. A Series becomes a two-column table.

    Examples
    --------
    >>> t = pd.DataFrame({"cumulative_incidence": [0.805], "ci_low": [0.799], "ci_high": [0.811], "n": [16554]},
    ...                  index=pd.Index(["first_action"], name="definition"))
    >>> table = format_table(t)
    >>> list(table.columns), table.loc["first_action"].tolist()
    (['cumulative incidence', 'ci low', 'ci high', 'n'], ['80.5%', '79.9%', '81.1%', '16,554'])
    """
    frame = data.to_frame("value") if isinstance(data, pd.Series) else data.copy()
    columns = [str(c) for c in frame.columns]
    if percent is None:
        shares = {c for c in columns if _SHARE.search(c)}
        if isinstance(data, pd.Series) and _SHARE.search(str(data.name or "")):
            shares.add("value")
        if shares:
            shares |= {c for c in columns if c in ("ci_low", "ci_high")}
    elif percent is False:
        shares = set()
    else:
        shares = set(percent) if not isinstance(percent, bool) else set(columns)
    out = pd.DataFrame(index=frame.index)
    for column, name in zip(frame.columns, columns, strict=True):
        values = frame[column]
        if isinstance(data, pd.Series) and percent is None and not shares:
            out[name] = [format_named(str(i), v) for i, v in zip(frame.index, values, strict=True)]
            continue
        is_p = bool(_P_VALUE.search(name))
        out[name] = [format_value(v, percent=name in shares and _is_share(v), p_value=is_p) for v in values]
    names = dict(labels or {})
    out.columns = [names.get(c, _label(c)) for c in out.columns]
    out.index = pd.Index([i if isinstance(i, str) else format_value(i) for i in out.index],
                         name=_label(out.index.name) if out.index.name is not None else None)
    return out


def format_named(name: str, value: Any) -> str:
    """A value formatted as its name says: a percentage for a share-named one, "<0.001" for a p-value.

    Examples
    --------
    >>> format_named("leaving_at_horizon", 0.0093), format_named("ph_p", 0.0001), format_named("receivers", 16554)
    ('0.9%', '<0.001', '16,554')
    """
    return format_value(value, percent=_SHARE.search(name) is not None and _is_share(value),
                        p_value=_P_VALUE.search(name) is not None)


def _is_share(value: Any) -> bool:
    return isinstance(value, float | np.floating) and (math.isnan(value) or -1.0 <= value <= 1.0)


def show_table(data: pd.DataFrame | pd.Series, *, percent: Sequence[str] | bool | None = None,
               labels: Mapping[str, str] | None = None, caption: str | None = None) -> None:
    """Show a table formatted by :func:`format_table` (HTML in a notebook, aligned text elsewhere).

    A RangeIndex (row numbers) is not shown.

    Examples
    --------
    >>> show_table(pd.Series({"activation": 0.8055, "receivers": 16554}))
           value
    activation 80.5%
     receivers 16,554
    """
    table = format_table(data, percent=percent, labels=labels)
    hide_index = isinstance(data.index, pd.RangeIndex)
    if not _in_kernel():
        print(table.to_string(index=not hide_index, index_names=False))
        return
    from IPython.display import display

    styler = table.style.set_table_attributes('class="adoption-table"')
    if hide_index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    styler = styler.set_table_styles([{"selector": "td", "props": "text-align: right; padding: 0.2em 0.8em"},
                                      {"selector": "th", "props": "text-align: left; padding: 0.2em 0.8em"}])
    display({"text/html": styler.to_html(), "text/plain": table.to_string(index=not hide_index)}, raw=True)


def say(text: str) -> None:
    """Show one paragraph of text under a section (escaped, so values from the data stay text).

    Examples
    --------
    >>> say("This model predicts no better than chance.")
    This model predicts no better than chance.
    """
    if not _in_kernel():
        print(text)
        return
    from IPython.display import display

    display({"text/html": f"<p class='adoption-reading'>{html.escape(text)}</p>", "text/plain": text}, raw=True)


def show_metrics(*, headline: Sequence[Headline] = (), **metrics: Any) -> None:
    """Show the run's numbers as a table and record them for ``metrics.json``.

    Call it once in a report notebook; the runner reads the numbers back from the executed notebook.
    ``headline`` names the few numbers the report index shows first (with their intervals).

    Examples
    --------
    Outside a notebook the display falls back to printing the bundle:

    >>> show_metrics(cumulative_incidence_90d=0.8)
    {'application/vnd.adoption.metrics+json': {'cumulative_incidence_90d': 0.8}, ...}
    """
    from IPython.display import display

    clean = {k: _jsonable(v) for k, v in metrics.items()}
    missing = [h.key for h in headline if h.key not in clean]
    if missing:
        raise KeyError(f"headline: {missing[0]} is not among the metrics")
    bundle: dict[str, Any] = {METRICS_MIME: clean}
    if headline:
        bundle[HEADLINE_MIME] = [h._asdict() for h in headline]
    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(_label(k))}</th>"
                   f"<td style='text-align:right'>{html.escape(format_named(k, v))}</td></tr>"
                   for k, v in clean.items() if not isinstance(v, dict | list))
    bundle["text/html"] = f"<table class='metrics'>{rows}</table>"
    bundle["text/plain"] = json.dumps(clean, indent=1)
    display(bundle, raw=True)


def format_headline(headline: Iterable[Mapping[str, Any]], metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headline entries as (label, text) pairs, e.g. ``("share active within 90 days", "80.5% [79.9%, 81.1%]")``.

    Entries whose metric is missing or empty are left out.

    Examples
    --------
    >>> format_headline([{"label": "share", "key": "s", "low": "lo", "high": "hi", "percent": True},
    ...                  {"label": "receivers", "key": "n"}], {"s": 0.805, "lo": 0.799, "hi": 0.811, "n": 16554})
    [('share', '80.5% [79.9%, 81.1%]'), ('receivers', '16,554')]
    """
    out = []
    for entry in headline:
        value = metrics.get(str(entry.get("key")))
        if value is None or isinstance(value, dict | list):
            continue
        percent = bool(entry.get("percent"))
        text = format_value(value, percent=percent)
        low, high = metrics.get(str(entry.get("low"))), metrics.get(str(entry.get("high")))
        if isinstance(low, int | float) and isinstance(high, int | float):
            text += f" [{format_value(low, percent=percent)}, {format_value(high, percent=percent)}]"
        out.append((str(entry.get("label", entry.get("key"))), text))
    return out


def section(compute: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one report section's computation; on a log that cannot answer it, say why in one sentence.

    Returns the result, or None after showing "This section is skipped: <reason>." when the log lacks what
    the section needs (an :class:`~adoption.errors.InputError`: no claims, too few receivers ...). Any other
    error is a bug and propagates.

    Examples
    --------
    >>> def needs_claims():
    ...     raise InputError("this log has no red_packet_claims")
    >>> section(needs_claims) is None
    This section is skipped: this log has no red_packet_claims.
    True
    """
    try:
        return compute(*args, **kwargs)
    except InputError as why:
        say(f"This section is skipped: {str(why).rstrip('.')}.")
        return None


def live_frontend() -> bool:
    """True in a kernel that a person drives (JupyterLab, Notebook, VS Code); False in batch or a script.

    The report runner marks its kernels with ``ADOPTION_BATCH``; a Jupyter server names the session of
    every kernel it starts (``JPY_SESSION_NAME``), and VS Code marks its own. Anything else is read as
    batch, where interactive controls would stay blank, so figures are drawn static.

    Examples
    --------
    >>> live_frontend()
    False
    """
    if os.environ.get(BATCH_ENV) or not _in_kernel():
        return False
    return bool(os.environ.get("JPY_SESSION_NAME") or os.environ.get("VSCODE_PID")
                or os.environ.get("VSCODE_IPC_HOOK_CLI"))


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity: "never reached" is null
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
