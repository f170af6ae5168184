"""The one-file HTML report, and the notebook display of reports and runs.

Everything is inline: CSS in one ``<style>``, each run's curves as SVG drawn by
``_svg`` (no plotting library needed), sweep plots as base64 PNG ``<img>`` data URIs
when matplotlib is installed. No script, no font or image fetched: the file opens from disk, survives
being mailed or kept as a CI artifact, and reads with JavaScript off. CSS
selectors are scoped under ``.dgn`` so the same markup can sit in a notebook
cell without restyling the notebook.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from .._version import __version__
from ..findings import SEVERITIES, Finding, Report, severity_rank
from ..run import Run
from ..sweeps import CARD_FIELDS, SweepResult
from ._svg import run_svg
from .plot import INSTALL_HINT, PlotUnavailable, figure_data_uri, require_matplotlib, sweep_figure
from .plot.run import key_params
from .sweep import display_table, title
from .text import findings_by_owner, plural, sorted_findings, steps_label, summary_line, unchecked_phrase

__all__ = ["MAX_PLOTS", "render", "run_html", "sweep_html"]

#: Runs plotted in one report by default; the rest (clean runs first) are listed without a plot.
MAX_PLOTS = 60
#: Sweep plots drawn per report (one per swept param).
MAX_SWEEP_PLOTS = 4

_e = html.escape

_CSS = """
.dgn{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d1d1f;
line-height:1.45;max-width:1400px;margin:0 auto;padding:0 16px 32px}
.dgn h1{font-size:1.6em;margin:.6em 0 .2em}.dgn h2{font-size:1.25em;margin:1.6em 0 .5em;
border-bottom:2px solid #e6e6e6;padding-bottom:.2em}.dgn h3{font-size:1.08em;margin:0 0 .2em;
word-break:break-all}
.dgn .meta{color:#5f6368;font-size:.9em;margin:.1em 0 .6em;word-break:break-all}
.dgn .scroll{overflow-x:auto;max-width:100%}.dgn .scroll table{font-size:.8em}
.dgn td a{overflow-wrap:anywhere}
.dgn table{border-collapse:collapse;margin:.4em 0 1em;font-size:.9em}
.dgn th,.dgn td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
.dgn th{background:#f4f5f7}.dgn td.num{text-align:right;font-variant-numeric:tabular-nums}
.dgn tr.selected td{background:#fff8db;font-weight:600}
.dgn .badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:.85em;
font-weight:600;margin-right:6px;color:#fff;background:#777}
.dgn .sev-error .badge,.dgn .badge.sev-error{background:#c92a2a}
.dgn .sev-warning .badge,.dgn .badge.sev-warning{background:#d98b00}
.dgn .sev-info .badge,.dgn .badge.sev-info{background:#7048e8}
.dgn .badge.ok{background:#2b8a3e;color:#fff}
.dgn .counts{display:flex;gap:12px;flex-wrap:wrap;margin:.6em 0}
.dgn .count{border:1px solid #ddd;border-radius:8px;padding:8px 16px;min-width:110px}
.dgn .count b{display:block;font-size:1.7em;line-height:1.1}
.dgn .count.sev-error b{color:#c92a2a}.dgn .count.sev-warning b{color:#d98b00}
.dgn .count.sev-info b{color:#7048e8}
.dgn .run{border:1px solid #e0e0e0;border-radius:8px;padding:12px 14px;margin:14px 0}
.dgn .cols{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.dgn .cols figure{margin:0;flex:1 1 560px;max-width:780px}
.dgn .cols figure img,.dgn .sweep img{width:100%;height:auto;border:1px solid #eee}
.dgn .findings{flex:1 1 340px;min-width:280px}
.dgn .finding{border-left:5px solid #999;background:#fafafa;padding:6px 10px;margin:0 0 10px}
.dgn .finding.sev-error{border-color:#c92a2a;background:#fff5f5}
.dgn .finding.sev-warning{border-color:#f0a202;background:#fffaf0}
.dgn .finding.sev-info{border-color:#8c7ac9;background:#f8f6ff}
.dgn .finding p{margin:.25em 0}.dgn .finding .next{font-weight:500}
.dgn .okmsg{color:#2b8a3e;font-weight:600}.dgn .note{color:#5f6368;font-size:.88em}
.dgn code{background:#f1f3f5;padding:0 4px;border-radius:3px}
.dgn .card th{width:170px}.dgn .decision{background:#f1f8ff;border-left:5px solid #1c7ed6;
padding:8px 12px;white-space:pre-line}
"""


# ---------------------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------------------
def _anchor(i: int) -> str:
    return f"run-{i + 1}"


def _verdict(found: Sequence[Finding]) -> str:
    """Badges for a run's findings by severity, or a green ``ok``."""
    if not found:
        return '<span class="badge ok">ok</span>'
    out = []
    for sev in SEVERITIES:
        n = sum(1 for f in found if f.severity == sev)
        if n:
            out.append(f'<span class="badge sev-{sev}">{_e(plural(n, sev))}</span>')
    return "".join(out)


def _finding_block(f: Finding, with_members: bool = False) -> str:
    where = steps_label(f.steps)
    head = (f'<span class="badge">{_e(f.severity)}</span><code>{_e(f.rule)}</code> '
            f"<b>{_e(f.name)}</b>" + (f' <span class="note">{_e(where)}</span>' if where else ""))
    body = [f"<div>{head}</div>", f"<p>{_e(f.message)}</p>"]
    if with_members and f.runs:
        body.append(f'<p class="note">runs: {_e(", ".join(f.runs))}</p>')
    if f.cause:
        body.append(f"<p><b>Likely cause:</b> {_e(f.cause)}</p>")
    if f.next_experiment:
        body.append(f'<p class="next"><b>Next experiment:</b> {_e(f.next_experiment)}</p>')
    return f'<div class="finding sev-{_e(f.severity)}">' + "".join(body) + "</div>"


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{_e(alt)}">'


def _params_text(run: Run) -> str:
    return key_params(run, limit=8)


def _run_meta(run: Run) -> str:
    bits = [run.format, plural(run.n_steps, "step")]
    if run.in_progress:
        bits.append("in progress")
    if run.path and run.path != run.id:
        bits.insert(0, run.path)
    params = _params_text(run)
    if params:
        bits.append(params)
    return f'<p class="meta">{_e(" · ".join(bits))}</p>'


def _run_section(i: int, run: Run, found: Sequence[Finding], plot: bool | str, dpi: int,
                 lacking: dict[str, list[str]] | None = None) -> str:
    parts = [f'<section class="run" id="{_anchor(i)}">',
             f"<h3>{_e(run.id)} {_verdict(found)}</h3>", _run_meta(run), '<div class="cols">']
    if plot is True:
        svg = run_svg(run, found)
        parts.append(f"<figure>{svg}</figure>" if svg else '<p class="note">No metrics to plot.</p>')
    elif plot:
        parts.append(f'<p class="note">{_e(str(plot))}</p>')
    ok = (f"No findings; not checked: {unchecked_phrase(lacking)}." if lacking
          else "No findings: every rule passed.")
    side = [_finding_block(f) for f in found] or [f'<p class="okmsg">{_e(ok)}</p>']
    side += [f'<p class="note">note: {_e(w)}</p>' for w in run.warnings]
    parts += ['<div class="findings">', *side, "</div></div></section>"]
    return "".join(parts)


def _plot_choice(runs: Sequence[Run], per_run: dict[str, list[Finding]], plots: bool,
                 max_plots: int | None) -> dict[str, bool | str]:
    """Which runs get a plot: the most severe first when there are more than ``max_plots``."""
    if not plots:
        return {r.id: False for r in runs}
    if max_plots is None or len(runs) <= max_plots:
        return {r.id: True for r in runs}
    rank = sorted(range(len(runs)), key=lambda i: (
        -max((severity_rank(f.severity) for f in per_run.get(runs[i].id, [])), default=0), i))
    chosen = {runs[i].id for i in rank[:max_plots]}
    skipped = f"Not plotted: this report holds more than {max_plots} runs (max_plots)."
    return {r.id: True if r.id in chosen else skipped for r in runs}


def _summary(report: Report) -> str:
    counts = report.counts()
    boxes = "".join(
        f'<div class="count sev-{s}"><b>{counts.get(s, 0)}</b>'
        f'{_e(plural(counts.get(s, 0), s).split(" ", 1)[1])}</div>'
        for s in SEVERITIES)
    n = len(report.runs)
    boxes += f'<div class="count"><b>{n}</b>run{"s" * (n != 1)}</div>'
    out = [f'<div class="counts">{boxes}</div>', f"<p><b>{_e(summary_line(report))}</b></p>"]
    by_rule: dict[tuple[str, str, str], list[Finding]] = {}
    for f in sorted_findings(report.findings):
        by_rule.setdefault((f.severity, f.rule, f.name), []).append(f)
    if by_rule:
        anchors = {r.id: _anchor(i) for i, r in enumerate(report.runs)}
        rows = []
        for (sev, rule, name), fs in by_rule.items():
            who = [f'<a href="#{anchors[f.run]}">{_e(f.run)}</a>' if f.run in anchors
                   else _e(f.run or f.group or "") for f in fs]
            rows.append(f'<tr class="sev-{_e(sev)}"><td><span class="badge">{_e(sev)}</span></td>'
                        f"<td><code>{_e(rule)}</code></td><td>{_e(name)}</td>"
                        f'<td class="num">{len(fs)}</td><td>{", ".join(who)}</td></tr>')
        out.append("<table><thead><tr><th>severity</th><th>rule</th><th>name</th><th>count</th>"
                   "<th>where</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return "".join(out)


def _sweep_section(report: Report, plots: bool, have_mpl: bool, dpi: int) -> str:
    """The sweep table, decision and card (and the sweep plots) when runs form groups."""
    if not report.groups or len(report.runs) < 2:
        return ""

    res = report.sweep_result()
    if res is None:
        return ""
    out = ['<section class="sweep" id="sweep">', f"<h2>{_e(title(res))}</h2>"]
    if plots and have_mpl:
        out += _sweep_plots(report, res, dpi)
    elif plots:
        out.append(f'<p class="note">The sweep plot needs matplotlib: {_e(INSTALL_HINT)}</p>')
    head, body = display_table(res)
    selected = {r["run"] for r in res.rows if r.get("decision")}
    anchors = {r.id: _anchor(i) for i, r in enumerate(report.runs)}
    rows = []
    for row, cells in zip(res.rows, body):
        tds = []
        for j, c in enumerate(cells):
            if j == 0 and row["run"] in anchors:
                tds.append(f'<td><a href="#{anchors[row["run"]]}">{_e(c)}</a></td>')
            else:
                tds.append(f'<td class="num">{_e(c)}</td>' if j else f"<td>{_e(c)}</td>")
        cls = ' class="selected"' if row["run"] in selected else ""
        rows.append(f"<tr{cls}>" + "".join(tds) + "</tr>")
    out.append('<div class="scroll"><table class="table"><thead><tr>'
               + "".join(f"<th>{_e(h)}</th>" for h in head)
               + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")
    if selected:
        out.append('<p class="note">Highlighted: the selected setting (* in the table).</p>')
    for note in res.notes:
        out.append(f'<p class="note">{_e(note)}</p>')
    out.append(f'<p class="decision"><b>Decision:</b> {_e(res.decision)}</p>')
    out.append('<table class="card"><caption style="text-align:left"><b>Decision card</b></caption>'
               + "".join(f"<tr><th>{_e(k)}</th><td>{_e(res.card.get(k, ''))}</td></tr>"
                         for k in CARD_FIELDS) + "</table>")
    out.append("</section>")
    return "".join(out)


def _sweep_plots(report: Report, res: Any, dpi: int) -> list[str]:
    by_id = {r.id: r for r in report.runs}
    sweeps = [g for g in report.groups if g.kind == "sweep" and g.param]
    in_sweeps = {i for g in sweeps for i in g.runs}
    # seed groups that no sweep shows get their own plot of the spread
    seeds = [g for g in report.groups if g.kind == "seeds" and not set(g.runs) <= in_sweeps]
    shown = (sweeps + seeds)[:MAX_SWEEP_PLOTS]
    targets = [([by_id[i] for i in g.runs if i in by_id], g.param if g.kind == "sweep" else None,
                g.id) for g in shown]
    out = []
    for runs, param, gid in targets:
        try:
            fig = sweep_figure(runs, param, res.val_metric or res.by, findings=report.findings)
        except ValueError as err:
            out.append(f'<p class="note">{_e(str(err))}</p>')
            continue
        out.append(f"<figure>{_img(figure_data_uri(fig, dpi=dpi), f'sweep plot: {gid}')}</figure>")
    if len(sweeps) + len(seeds) > len(shown):
        out.append(f'<p class="note">{len(sweeps) + len(seeds) - len(shown)} more groups '
                   "not plotted.</p>")
    return out


def _has_matplotlib() -> bool:
    try:
        require_matplotlib()
    except PlotUnavailable:
        return False
    return True


def _document(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>{body}</body></html>\n")


# ---------------------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------------------
def render(
    report: Report,
    *,
    title: str = "diagnose report",
    plots: bool = True,
    max_plots: int | None = MAX_PLOTS,
    dpi: int = 80,
    **_: Any,
) -> str:
    """The report as one self-contained HTML file.

    Summary of findings by severity; the sweep table, decision card and sweep
    plots when runs form groups; then each run's plot beside its findings, their
    causes and next experiments. The sweep is the report's own (``Report.sweep_result``,
    worked out with the options the check ran with): a Report in, HTML out.
    """
    have_mpl = plots and _has_matplotlib()  # sweep plots; run curves are the project's SVG
    per_run, per_group = findings_by_owner(report)
    choice = _plot_choice(report.runs, per_run, plots, max_plots)
    body = [f'<div class="dgn"><h1>{_e(title)}</h1>',
            (f'<p class="meta">diagnose {_e(__version__)} · {_e(plural(len(report.runs), "run"))}'
            f" · {_e(plural(len(report.findings), 'finding'))}</p>"),
            '<section id="summary"><h2>Summary</h2>', _summary(report), "</section>"]
    body.append(_sweep_section(report, plots, have_mpl, dpi))
    if per_group:
        body.append('<section id="across"><h2>Across runs</h2>')
        for gid in sorted(per_group):
            body += [_finding_block(f, with_members=True) for f in per_group[gid]]
        body.append("</section>")
    if report.runs:
        body.append(f'<section id="runs"><h2>Runs ({len(report.runs)})</h2>')
        body.append(_run_index(report.runs, per_run))
        for i, run in enumerate(report.runs):
            body.append(_run_section(i, run, per_run.get(run.id, []), choice[run.id], dpi,
                                     report.unchecked.get(run.id)))
        body.append("</section>")
    if report.errors:
        body.append('<section id="errors"><h2>Unreadable inputs</h2><ul>'
                    + "".join(f"<li>{_e(e)}</li>" for e in report.errors) + "</ul></section>")
    body.append("</div>")
    return _document(title, "\n".join(b for b in body if b))


def _run_index(runs: Sequence[Run], per_run: dict[str, list[Finding]]) -> str:
    rows = "".join(
        f'<tr><td><a href="#{_anchor(i)}">{_e(r.id)}</a></td><td>{_verdict(per_run.get(r.id, []))}'
        f"</td><td>{_e(', '.join(f.rule for f in per_run.get(r.id, [])))}</td></tr>"
        for i, r in enumerate(runs))
    return ("<table><thead><tr><th>run</th><th>verdict</th><th>rules</th></tr></thead><tbody>"
            + rows + "</tbody></table>")


def sweep_html(res: SweepResult, *, dpi: int = 80) -> str:
    """A sweep for a notebook cell: the report's own sweep section (table with mean ± std
    per setting, decision, card, and the sweep plots when matplotlib is installed)."""
    report = Report(runs=list(res.runs), findings=list(res.findings), groups=list(res.groups))
    report._sweep = res
    section = _sweep_section(report, True, _has_matplotlib(), dpi) or f"<p>{_e(res.decision)}</p>"
    return f'<div class="dgn"><style>{_CSS}</style>{section}</div>'


def run_html(run: Run, findings: Iterable[Finding], *, dpi: int = 80) -> str:
    """One run for a notebook cell: its plot beside its findings."""
    found = sorted_findings(f for f in findings if f.run == run.id)
    section = _run_section(0, run, found, True, dpi)
    return f'<div class="dgn"><style>{_CSS}</style>{section}</div>'
