"""BENCHMARKS.md holds one section per CPU kind: ``make bench`` replaces the section of the CPU
it runs on and keeps every other one, and the text outside the sections (hand-written notes).

Training speed differs threefold between the CPUs a sitting gets (AMD EPYC with AVX-512 BF16,
Intel Xeons with or without AMX; :func:`fer_keras.train.throughput.cpu_kind` names them), so a
run on one kind must not erase the figures of another. A section is delimited by two HTML
comments that name its kind (:func:`block`); :func:`merge` swaps one in.
"""
from __future__ import annotations

import re

TITLE = "# fer_keras benchmarks"
INTRO = ("One section per CPU kind, each written by `make bench` (`python -m benchmarks.run "
         "--out BENCHMARKS.md`) on a machine of that kind: a run replaces only its own CPU's "
         "section. The notes after the sections are written by hand.")


def _begin(kind):
    return f"<!-- make bench: {kind} -->"


def _end(kind):
    return f"<!-- end make bench: {kind} -->"


def block(kind, report):
    """The section of ``kind`` for a generated ``report`` (Markdown whose own title is a ``#``
    line and whose parts are ``##`` sections): the title becomes ``## <kind>``, every other
    heading one level deeper, between the two comments that name ``kind``."""
    lines = report.strip("\n").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    body, fenced = [], False
    for ln in lines:
        fenced ^= ln.lstrip().startswith("```")
        body.append("#" + ln if not fenced and re.match(r"#{1,5} ", ln) else ln)
    return "\n".join([_begin(kind), f"## {kind}", *body, _end(kind)])


def kinds(text):
    """The CPU kinds whose sections ``text`` holds, in order."""
    return re.findall(r"^<!-- make bench: (.+?) -->$", text, flags=re.M)


def merge(old, kind, new_block):
    """``old`` (the file's text, or "" for none) with the section of ``kind`` replaced by
    ``new_block`` (:func:`block`), or added after the last section when it has none. A file
    written before the sections existed is kept whole below the new one."""
    if not old.strip():
        return "\n\n".join([TITLE, INTRO, new_block]) + "\n"
    begin, end = _begin(kind), _end(kind)
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        return head + new_block + rest.split(end, 1)[1]
    have = kinds(old)
    if have:
        last = _end(have[-1])
        head, tail = old.rsplit(last, 1)
        return head + last + "\n\n" + new_block + tail
    return "\n\n".join([TITLE, INTRO, new_block, old.strip("\n")]) + "\n"
