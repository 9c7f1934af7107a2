"""The validation report: one self-contained HTML page (inline styles, no script, nothing fetched from the
web), so it reads the same offline, in a CI artifact or attached to an alert.

Failed expectations come first with their unexpected counts, sample values and row numbers; the passed
ones follow, grouped by column.
"""

from __future__ import annotations

import html
from importlib import metadata

from mlops.core.datasets import DataValidationResult, ExpectationOutcome

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600;margin-right:8px}
.pass{background:#1a7f37} .fail{background:#cf222e}
.meta{color:#59636e;font-size:13px;margin:2px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #d1d9e0;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa} tr.failed td:first-child{border-left:4px solid #cf222e}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.ok{color:#1a7f37} .bad{color:#cf222e}
"""


def _sample(o: ExpectationOutcome) -> str:
    text = ", ".join(o.UnexpectedValues[:10])
    if o.UnexpectedRows:
        text += f" at rows {', '.join(str(r) for r in o.UnexpectedRows[:10])}"
    if not text and o.ObservedValue:
        text = f"observed {o.ObservedValue[:300]}"
    if o.Error:
        text += f" (error: {o.Error[:300]})"
    return text


def _count(o: ExpectationOutcome) -> str:
    if not o.UnexpectedCount:
        return ""
    return f"{o.UnexpectedCount} ({o.UnexpectedPercent or 0:.2g}%)"


def _row(o: ExpectationOutcome) -> str:
    esc = html.escape
    mark = "<span class='ok'>passed</span>" if o.Success else "<span class='bad'>failed</span>"
    return (
        f"<tr class='{'passed' if o.Success else 'failed'}'><td>{mark}</td><td>{esc(o.Column or '(table)')}</td>"
        f"<td>{esc(o.Description)}<br><code>{esc(o.ExpectationType)}</code></td>"
        f"<td>{esc(_count(o))}</td><td>{esc(_sample(o))}</td></tr>"
    )


def _ge_version() -> str:
    try:
        return metadata.version("great_expectations")
    except metadata.PackageNotFoundError:
        return "(version unknown)"


def validation_page(result: DataValidationResult) -> str:
    esc = html.escape
    verdict = "PASSED" if result.Success else "FAILED"
    title = f"{verdict}: {result.DatasetName} version {result.VersionNumber} ({result.DatasetVersion[:12]})"
    head = "<tr><th>verdict</th><th>column</th><th>expectation</th><th>unexpected rows</th><th>sample</th></tr>"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1><span class='verdict {'pass' if result.Success else 'fail'}'>{verdict}</span>"
        f"{esc(result.DatasetName)} version {result.VersionNumber}</h1>",
        f"<p class='meta'>dataset version {esc(result.DatasetVersion)}</p>",
        f"<p class='meta'>suite <b>{esc(result.SuiteName)}</b> (sha256 {esc(result.SuiteSha256[:12])}): "
        f"{result.SuccessfulExpectations} of {result.EvaluatedExpectations} expectations met"
        f"{'' if not result.SchemaChanges else '; the schema changed since the suite was made'}</p>",
        f"<p class='meta'>validation {esc(result.ValidationId)} at {result.CreationTime:%Y-%m-%d %H:%M:%S %Z}, "
        f"with Great Expectations {esc(_ge_version())}</p>",
    ]
    if result.SchemaChanges:
        parts.append("<h2>Schema changes since the suite's baseline</h2><ul>")
        parts += [f"<li>{esc(change)}</li>" for change in result.SchemaChanges]
        parts.append("</ul>")
    failed = result.failed
    parts.append(f"<h2>Failed expectations ({len(failed)})</h2>")
    if failed:
        parts.append("<table>" + head + "".join(_row(o) for o in failed) + "</table>")
    else:
        parts.append("<p>None.</p>")
    passed = sorted((o for o in result.Results if o.Success), key=lambda o: (o.Column or "", o.ExpectationType))
    parts.append(f"<h2>Passed expectations ({len(passed)})</h2>")
    if passed:
        parts.append("<table>" + head + "".join(_row(o) for o in passed) + "</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
