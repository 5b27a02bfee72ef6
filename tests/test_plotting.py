"""Figures that a published report downscales stay readable (``fer_keras.plotting``): the LIME
panels come in rows of four, and a curve panel's legend sits below its axes, not over the
curves."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from fer_keras import plotting  # noqa: E402


@pytest.fixture
def figures(monkeypatch):
    """The figures the plotting functions save, drawn and kept open."""
    kept = []

    def keep(fig, path, dpi=110):
        fig.canvas.draw()
        kept.append(fig)
        return path

    monkeypatch.setattr(plotting, "_save", keep)
    yield kept
    import matplotlib.pyplot as plt

    for f in kept:
        plt.close(f)


def _lime(k):
    rng = np.random.default_rng(0)
    seg = np.arange(48)[:, None] // 8 * 6 + np.arange(48)[None, :] // 8
    return {"segments": seg, "weights": rng.normal(size=(k, 36)),
            "masks": rng.random((k, 48, 48)) > 0.7, "probs": rng.dirichlet(np.ones(k)),
            "score": rng.random(k)}


@pytest.mark.parametrize("k, rows", [(7, 2), (3, 1), (8, 3)])
def test_lime_panels_come_in_rows_of_four(figures, k, rows):
    plotting.lime_panels(np.zeros((48, 48)), _lime(k), "x.png",
                         class_names=[f"c{i}" for i in range(k)])
    fig = figures[-1]
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == k + 1
    assert len({round(ax.get_position().y0, 3) for ax in shown}) == rows
    assert len({round(ax.get_position().x0, 3) for ax in shown}) == min(k + 1, 4)
    # the titles are legible once a report shrinks the figure to 900 px (publish.MAX_SIDE)
    w, _ = fig.get_size_inches() * 110
    assert min(t.get_fontsize() for ax in shown for t in [ax.title]) * min(1, 900 / w) >= 8


def test_a_curve_legend_lies_below_its_axes(figures):
    sh = np.linspace(0, 0.9, 10)
    curves = {n: {"road_shares": sh, "road_morf_curve": np.exp(-sh * k),
                  "road_lerf_curve": 1 - sh * 0.1 * k, "road_morf": 0.3, "road_lerf": 0.7}
              for k, n in enumerate(["occlusion", "vanilla", "ig-blur", "random", "centre"], 1)}
    plotting.road_curves(curves, "x.png")
    fig = figures[-1]
    r = fig.canvas.get_renderer()
    for ax in fig.axes:
        leg = ax.get_legend().get_window_extent(r)
        box = ax.get_window_extent(r)
        assert leg.y1 < box.y0, (leg, box)  # the control: inside the axes, y1 > box.y0
        assert len(ax.get_legend().get_texts()) == 5
