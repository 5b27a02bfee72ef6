"""The table rows of the Ray benchmarks (``benchmarks/bench_ray.py``, used by
``bench_ray_cluster.py`` too): medians of the runs, rows equal only when every run's were."""
import pytest

from benchmarks.bench_ray import engine_row, header, with_rates


def test_a_row_is_the_median_of_its_runs_and_equal_only_when_every_run_is():
    runs = [(10.0, 8.0, True), (30.0, 9.0, True), (12.0, 20.0, True)]
    row = engine_row("2 nodes", runs, "n", start_s=3.0)
    assert (row["wall_s"], row["job_s"], row["rows_equal"], row["start_s"]) == (12.0, 9.0, True, 3.0)
    assert not engine_row("x", runs[:2] + [(1.0, 1.0, False)], "n")["rows_equal"]


def test_rates_count_photos_and_frames_per_second_of_the_job():
    rows = with_rates([{"job_s": 4.0}, {"job_s": None}, {"note": "not measured"}], 350)
    assert rows[0]["images_per_s"] == pytest.approx(87.5)
    assert rows[1]["images_per_s"] is None and rows[2]["images_per_s"] is None


def test_the_header_names_the_command_and_the_load():
    line = header("bench_ray_cluster", " (REPS=3)")
    assert line.startswith("python -m benchmarks.bench_ray_cluster (REPS=3) on ")
    assert " cores, load " in line and "Ray " in line
