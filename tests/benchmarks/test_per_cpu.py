"""BENCHMARKS.md keeps one section per CPU kind (:mod:`benchmarks.per_cpu`): a run replaces its
own kind's section and keeps every other one and the hand-written text."""
from benchmarks import per_cpu

AMD, AMX = "AMD EPYC, AVX-512 BF16, no AMX", "Intel Xeon with AMX"


def _report(figure):
    return (f"# fer_keras benchmarks\n\nWritten by `make bench`.\n\n## Targets\n\n- met\n\n"
            f"## Peak FLOP/s\n\n| fp32 | {figure} |\n\n### detail\n\n```\n# not a heading\n```\n")


def test_a_block_names_its_kind_and_nests_the_reports_headings():
    b = per_cpu.block(AMD, _report(221))
    lines = b.splitlines()
    assert lines[0] == f"<!-- make bench: {AMD} -->" and lines[1] == f"## {AMD}"
    assert lines[-1] == f"<!-- end make bench: {AMD} -->"
    assert "### Targets" in lines and "### Peak FLOP/s" in lines and "#### detail" in lines
    assert "# fer_keras benchmarks" not in b and "# not a heading" in lines  # code kept as is


def test_a_run_replaces_only_its_own_kinds_section():
    text = per_cpu.merge("", AMD, per_cpu.block(AMD, _report(221)))
    text += "\n## Notes (by hand)\n\n- the AMD run was quiet\n"
    both = per_cpu.merge(text, AMX, per_cpu.block(AMX, _report(465)))
    assert per_cpu.kinds(both) == [AMD, AMX]
    assert "| 221 |" in both and "| 465 |" in both
    assert both.index(f"## {AMX}") < both.index("## Notes (by hand)")  # notes stay after
    again = per_cpu.merge(both, AMD, per_cpu.block(AMD, _report(230)))
    assert "| 221 |" not in again and "| 230 |" in again and "| 465 |" in again
    assert per_cpu.kinds(again) == [AMD, AMX] and "the AMD run was quiet" in again
    assert again.count("# fer_keras benchmarks") == 1


def test_a_file_written_before_the_sections_is_kept_whole():
    legacy = "# fer_keras benchmarks\n\nWritten by an older run.\n\n## Targets\n\n- old\n"
    got = per_cpu.merge(legacy, AMX, per_cpu.block(AMX, _report(465)))
    assert per_cpu.kinds(got) == [AMX] and "Written by an older run." in got
    assert got.index(f"## {AMX}") < got.index("Written by an older run.")
