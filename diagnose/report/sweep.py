"""A :class:`~diagnose.sweeps.SweepResult` as text, markdown, CSV, JSON or HTML."""

from __future__ import annotations

import csv
import html
import io
import json
import math
from typing import Any, Sequence

from .._escape import csv_safe
from ..advice import sweep_next
from ..findings import json_number, jsonable
from ..grouping import fmt, num
from ..run import finite
from ..sweeps import CARD_FIELDS, SweepResult
from .markdown import cell

__all__ = ["display_table", "render", "short_ids", "title"]

def short_ids(ids: Sequence[str]) -> list[str]:
    """Run ids without the leading path pieces they all share (for tables)."""
    parts = [i.split("/") for i in ids]
    n = 0
    while (len(parts) > 1 and all(len(p) > n + 1 for p in parts)
           and len({p[n] for p in parts}) == 1):
        n += 1
    return ["/".join(p[n:]) for p in parts]

def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else json_number(v)
    return csv_safe(v)  # no spreadsheet formula from a run name or param


def _numeric_column(body: Sequence[Sequence[str]], i: int) -> bool:
    cells = [row[i].rstrip("s") for row in body if row[i]]
    try:
        return bool(cells) and all(float(c) == float(c) for c in cells)
    except ValueError:
        return False


def render(res: SweepResult, fmt_: str = "text") -> str:
    try:
        fn = {"text": to_text, "markdown": to_markdown, "md": to_markdown,
              "csv": to_csv, "json": to_json, "html": to_html}[fmt_]
    except KeyError:
        raise ValueError(f"unknown format {fmt_!r}; choose text, markdown, csv, json") from None
    return fn(res)

def to_json(res: SweepResult) -> str:
    d: dict[str, Any] = {}
    for k, v in res.to_dict().items():  # the next runs as data, after the words
        d[k] = v
        if k == "next_experiment":
            d["next"] = jsonable(sweep_next(res))
    return json.dumps(d, indent=2, allow_nan=False) + "\n"

def to_csv(res: SweepResult) -> str:
    """The chapter's reusable experiment log: one row per run, every log field."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=res.columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in res.rows:
        w.writerow({k: _csv_cell(r.get(k)) for k in res.columns})
    return buf.getvalue()

def display_table(res: SweepResult) -> tuple[list[str], list[list[str]]]:
    """Header and cells for the human formats: what differs between runs, and results."""
    vm = res.val_metric or res.by
    head = ["run", *res.varying]
    if any(r.get("seed") is not None for r in res.rows):
        head.append("seed")
    head += [f"best {vm}", "step", f"final {vm}"]
    if res.val_metric != res.by:
        head += [f"best {res.by}"]
    head += ["train_time", "findings"]
    notes = any(r.get("note") for r in res.rows)
    if notes:
        head.append("note")
    body = []
    names = short_ids([r["run"] for r in res.rows])
    for r, name in zip(res.rows, names):
        cells = [name, *[fmt(r.get(k)) if r.get(k) is not None else "" for k in res.varying]]
        if "seed" in head:
            cells.append(fmt(r.get("seed")) if r.get("seed") is not None else "")
        cells += [num(r.get("best_val_metric")), num(r.get("best_step")),
                  num(r.get("final_val_metric"))]
        if res.val_metric != res.by:
            cells.append(num(r.get("best_by")))
        tt = r.get("train_time")
        cells += [f"{tt:.3g}s" if finite(tt) else "", r.get("findings") or ""]
        if notes:
            cells.append(r.get("note") or "")
        if r.get("decision"):
            cells[0] += " *"
        body.append(cells)
    return head, body

def to_text(res: SweepResult) -> str:
    head, body = display_table(res)
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h)
              for i, h in enumerate(head)]
    lines = [title(res), ""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for row in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    if res.best:
        lines.append("(* = the selected setting)")
    if any(s.n > 1 for s in res.settings):
        lines += ["", f"Settings, {res.by} {_at_words(res.at)}, mean ± std over seeds:"]
        for s in res.settings:
            rng = (f"  range {num(min(s.best))}..{num(max(s.best))}" if len(s.best) > 1
                   else "")
            other = s.final if s.at == "best" else s.best_over_steps
            both = (f"; {'final' if s.at == 'best' else 'best over steps'} "
                    f"{num(sum(other) / len(other))}" if other else "")
            flag = "; diverged: never selected" if s.diverged else ""
            lines.append(f"  {s.label}: {s.mean_std()} ({s.n} run{'s' * (s.n != 1)}){rng}"
                         f"{both}{flag}")
    group_findings = [f for f in res.findings if f.group]
    if group_findings:
        lines += ["", "Across runs:"]
        for f in group_findings:
            lines.append(f"  {f.severity:<7} {f.rule} {f.name} [{f.group}]: {f.message}")
            lines.append(f"          next: {f.next_experiment}")
    for note in res.notes:
        lines += ["", note]
    lines += ["", "Decision:", *("  " + ln for ln in res.decision.splitlines())]
    lines += ["", "Decision card:"]
    w = max(len(k) for k in CARD_FIELDS)
    for k in CARD_FIELDS:
        lines.append(f"  {k.ljust(w)}  {res.card.get(k, '')}")
    for e in res.errors:
        lines.append(f"unreadable: {e}")
    return "\n".join(lines) + "\n"

def to_markdown(res: SweepResult) -> str:
    head, body = display_table(res)
    esc = cell
    lines = [f"### {title(res)}", "",
             "| " + " | ".join(esc(h) for h in head) + " |",
             "|" + "|".join("---:" if _numeric_column(body, i) else "---"
                            for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
    if any(s.n > 1 for s in res.settings):
        lines += ["", f"| setting | runs | {esc(res.by)} mean ± std | min | max |",
                  "|---|---:|---:|---:|---:|"]
        for s in res.settings:
            lines.append(f"| {esc(s.label)} | {s.n} | {s.mean_std()} | "
                         f"{num(min(s.best)) if s.best else ''} | "
                         f"{num(max(s.best)) if s.best else ''} |")
    group_findings = [f for f in res.findings if f.group]
    if group_findings:
        lines += ["", "**Across runs**", ""]
        lines += [f"- **{f.severity}** `{f.rule}` {esc(f.message)} — next: "
                  f"{esc(f.next_experiment)}" for f in group_findings]
    lines += ["", "**Decision:** " + res.decision.replace("\n", "  \n"), "",
              "| Decision card | |", "|---|---|"]
    lines += [f"| **{k}** | {esc(res.card.get(k, ''))} |" for k in CARD_FIELDS]
    return "\n".join(lines) + "\n"

def to_html(res: SweepResult) -> str:
    head, body = display_table(res)
    e = html.escape
    rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in body)
    card = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(res.card.get(k, ''))}"
                   "</td></tr>" for k in CARD_FIELDS)
    return (f"<div><h4>{e(title(res))}</h4><table><thead><tr>"
            + "".join(f"<th>{e(h)}</th>" for h in head) + f"</tr></thead><tbody>{rows}"
            f"</tbody></table><p><b>Decision:</b> {e(res.decision)}</p>"
            f"<table>{card}</table></div>")

def _at_words(at: str) -> str:
    return "final value (last evaluation)" if at == "final" else "best over steps"


def title(res: SweepResult) -> str:
    what = f"over {', '.join(res.varying)}" if res.varying else "of runs"
    n = len(res.rows)
    return (f"Sweep {what}: {n} run{'s' * (n != 1)}, selected by {res.by} ({res.mode}) "
            f"at its {_at_words(res.at)}")
