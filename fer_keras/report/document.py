"""The report document: number formatting, :class:`Section` (one answered question) and the
Markdown and HTML renderings of the whole report."""
from __future__ import annotations

import base64
import dataclasses
import html
import os
import re
from pathlib import Path

import numpy as np


def pct(x, digits=1):
    """``0.8734 -> "87.3%"``; the form every accuracy takes in the text (tests rely on it)."""
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f}%"


def points(x, digits=1):
    """A difference of two shares in percentage points: ``0.052 -> "+5.2 points"``."""
    return f"{100 * x:+.{digits}f} points"


def fnum(x, digits=2):
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def join_names(items):
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclasses.dataclass
class Section:
    """One answered question: text, tables and figures in order, and the numbers behind them.

    ``blocks``: ``{"kind": "text", "text"}``, ``{"kind": "list", "items"}``, ``{"kind": "table",
    "header", "rows", "caption"}``, ``{"kind": "figure", "path" (relative to OUT), "caption"}``,
    ``{"kind": "code", "text"}``. Text may use ``**bold**`` and ```code```.
    """

    id: str
    title: str = ""
    question: str = ""
    blocks: list = dataclasses.field(default_factory=list)
    numbers: dict = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    def __post_init__(self):
        # the catalogue reads the question modules, which import this one: looked up when used
        from fer_keras.report.catalogue import QUESTION_TEXT, QUESTION_TITLES

        self.title = self.title or QUESTION_TITLES.get(self.id, self.id)
        self.question = self.question or QUESTION_TEXT.get(self.id, "")

    def text(self, s):
        self.blocks.append({"kind": "text", "text": s})

    def bullets(self, items):
        self.blocks.append({"kind": "list", "items": list(items)})

    def table(self, header, rows, caption=""):
        self.blocks.append({"kind": "table", "header": list(header),
                            "rows": [[str(c) for c in r] for r in rows], "caption": caption})

    def figure(self, path, caption, out):
        rel = os.path.relpath(Path(path), Path(out)).replace(os.sep, "/")
        self.blocks.append({"kind": "figure", "path": rel, "caption": caption})

    def code(self, s):
        self.blocks.append({"kind": "code", "text": s})

    @property
    def answer_text(self):
        """The prose of the answer (text and list blocks), for printing."""
        parts = []
        for b in self.blocks:
            if b["kind"] == "text":
                parts.append(b["text"])
            elif b["kind"] == "list":
                parts += [f"- {i}" for i in b["items"]]
        return "\n".join(parts)

    def to_dict(self):
        return dataclasses.asdict(self)

    def markdown(self, level=2, fig_prefix=""):
        lines = [f"{'#' * level} {self.title}", "", f"> {self.question}", ""]
        if self.error:
            lines += [f"**This question failed:** `{self.error}`", ""]
        for b in self.blocks:
            k = b["kind"]
            if k == "text":
                lines += [b["text"], ""]
            elif k == "list":
                lines += [f"- {i}" for i in b["items"]] + [""]
            elif k == "table":
                if b["caption"]:
                    lines += [f"*{b['caption']}*", ""]
                lines.append("| " + " | ".join(b["header"]) + " |")
                lines.append("|" + "|".join("---" for _ in b["header"]) + "|")
                lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |"
                          for r in b["rows"]]
                lines.append("")
            elif k == "figure":
                lines += [f"![{b['caption']}]({fig_prefix}{b['path']})", "",
                          f"*{b['caption']}*", ""]
            elif k == "code":
                lines += ["```", b["text"].rstrip("\n"), "```", ""]
        lines.append(f"<sub>Computed in {self.seconds:.1f} s.</sub>")
        return "\n".join(lines) + "\n"


def _inline_html(s):
    s = html.escape(s, quote=False)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])", r"<em>\1</em>", s)
    return s


def _section_html(sec, out):
    parts = [f'<section id="{sec.id}">', f"<h2>{html.escape(sec.title)}</h2>",
             f'<blockquote class="question">{_inline_html(sec.question)}</blockquote>']
    if sec.error:
        parts.append(f'<p class="error"><strong>This question failed:</strong> '
                     f"<code>{html.escape(sec.error)}</code></p>")
    for b in sec.blocks:
        k = b["kind"]
        if k == "text":
            parts.append(f"<p>{_inline_html(b['text'])}</p>")
        elif k == "list":
            parts.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b["items"])
                         + "</ul>")
        elif k == "table":
            cap = f"<caption>{_inline_html(b['caption'])}</caption>" if b["caption"] else ""
            head = "".join(f"<th>{_inline_html(h)}</th>" for h in b["header"])
            rows = "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in r) + "</tr>"
                           for r in b["rows"])
            parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif k == "figure":
            data = base64.b64encode((Path(out) / b["path"]).read_bytes()).decode("ascii")
            mime = "image/svg+xml" if b["path"].endswith(".svg") else "image/png"
            parts.append(f'<figure><img alt="{html.escape(b["caption"])}" '
                         f'src="data:{mime};base64,{data}"><figcaption>'
                         f"{_inline_html(b['caption'])}</figcaption></figure>")
        elif k == "code":
            parts.append(f"<pre><code>{html.escape(b['text'])}</code></pre>")
    parts.append(f'<p class="time">Computed in {sec.seconds:.1f} s.</p></section>')
    return "\n".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;line-height:1.5;color:#222}
h1{border-bottom:2px solid #444}h2{margin-top:2.2em;border-bottom:1px solid #bbb}
blockquote.question{margin:0 0 1em 0;padding:.4em 1em;background:#f3f5f9;border-left:4px solid #5778a4}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}caption{caption-side:top;font-style:italic;
text-align:left}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#eef}
figure{margin:1.2em 0;text-align:center}figure img{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#555}code{background:#f4f4f4;padding:0 .2em}
pre{background:#f4f4f4;padding:.6em;overflow-x:auto}.error{color:#a00}.time{color:#888;font-size:.8em}
.meta td:first-child{font-weight:bold}.notice{background:#fff6d5;border:1px solid #e0c060;padding:.5em 1em}
"""


#: What each split does in a report run (:attr:`fer_keras.report.context.Context.splits`).
SPLIT_ROLES = {"val": " (chooses the kept epochs)", "test": " (scores; chose nothing)"}


def _meta_rows(meta):
    v = meta["versions"]
    return [("Data", meta["data"]),
            ("Splits", ", ".join(
                (f"{k} {n:,}" + SPLIT_ROLES.get(k, "")) if n else f"{k}: none in these data"
                for k, n in meta["splits"].items())),
            ("Model", f"`{meta['model']}`, "
                      + (f"{meta['epochs']} epochs" if meta.get("epochs") is not None
                         else "given (nothing trained)") + f", profile `{meta['profile']}`"),
            ("Date", meta["date"]),
            ("Command", f"`{meta['command']}`"),
            ("Versions", f"fer_keras {v['fer_keras']}, Keras {v['keras']} ({v['backend']} "
                         f"{v['backend_version']}), numpy {v['numpy']}, Python {v['python']}"),
            ("Machine", f"{v['platform']}, {meta['cpu_count']} CPUs"),
            ("Time", f"{meta['seconds']:.0f} s for the whole report"
                     + (f" (reused from earlier runs in this folder, so not counted: "
                        f"{join_names(meta['reused'])})" if meta.get("reused") else ""))]


def _notice(meta):
    if meta["synthetic"]:
        return ("These answers were measured on the built-in **synthetic faces**, not on "
                "FER2013: the numbers show the method, not the reports' accuracies. For the real "
                "data: `fer-keras report --data PATH` or `make report DATA=PATH` (PATH: "
                "fer2013.csv, a course train.csv or an image folder).")
    return None


def render_markdown(meta, sections):
    lines = ["# FER2013 course reports, regenerated by fer_keras", ""]
    note = _notice(meta)
    if note:
        lines += [f"> **Note.** {note}", ""]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in _meta_rows(meta)] + [""]
    lines += ["## Contents", ""] + [f"- [{s.title}](#{s.id})" for s in sections] + [""]
    for s in sections:
        lines += [f'<a id="{s.id}"></a>', "", s.markdown(level=2)]
    return "\n".join(lines)


def render_html(meta, sections, out):
    note = _notice(meta)
    head = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>FER2013 reports regenerated - {html.escape(meta['date'])}</title>"
            f"<style>{_CSS}</style></head><body>")
    body = ["<h1>FER2013 course reports, regenerated by fer_keras</h1>"]
    if note:
        body.append(f'<p class="notice"><strong>Note.</strong> {_inline_html(note)}</p>')
    body.append('<table class="meta">' + "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_inline_html(v)}</td></tr>"
        for k, v in _meta_rows(meta)) + "</table>")
    body.append("<h2>Contents</h2><ul>" + "".join(
        f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in sections) + "</ul>")
    body += [_section_html(s, out) for s in sections]
    return head + "\n".join(body) + "</body></html>\n"
