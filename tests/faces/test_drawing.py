"""Annotated copies (:mod:`fer_keras.faces.drawing`): each label next to its own box, none on
another label or face."""
import numpy as np
import pytest

pytest.importorskip("cv2")

from fer_keras.faces import drawing  # noqa: E402


def _gap(r, box):
    """Pixels between label rectangle ``r`` (x0, y0, x1, y1) and face ``box`` (x, y, w, h)."""
    x, y, w, h = box
    dx = max(x - r[2], r[0] - (x + w), 0)
    dy = max(y - r[3], r[1] - (y + h), 0)
    return max(dx, dy)


@pytest.mark.core
@pytest.mark.parametrize("top", [0, 100])
def test_labels_of_two_adjacent_faces_touch_their_boxes_and_not_each_other(top):
    """Two faces side by side (at the top edge: no room above; and mid-image), each label wider
    than its face: the labels do not intersect, cover no face and lie next to their boxes."""
    shape = (240, 320, 3)
    boxes = np.array([[100, top, 50, 50], [152, top, 50, 50]])
    sizes = [(110, 20), (110, 20)]
    gap = 2
    rects = drawing.label_layout(shape, boxes, sizes, gap=gap)
    faces = [(x, y, x + w, y + h) for x, y, w, h in boxes]
    assert drawing._overlap(rects[0], [rects[1]]) == 0, rects
    for r, box in zip(rects, boxes):
        assert drawing._overlap(r, faces) == 0, (r, faces)
        assert _gap(r, box) <= gap, (r, box)  # touching (gap pixels off), not rows away
        assert r[2] - r[0] == 110 and r[3] - r[1] == 20  # whole


@pytest.mark.core
def test_drawn_labels_of_adjacent_faces_are_beside_their_boxes():
    """The drawn image: the green label fills of two adjacent faces at the top edge lie within a
    few pixels of their boxes (none pushed rows below)."""
    img = np.zeros((240, 320, 3), np.uint8)
    boxes = np.array([[100, 0, 50, 50], [152, 0, 50, 50]])
    drawn = drawing.draw_faces(img, boxes, ["Happy 0.91", "Sad 0.50"])
    green = (drawn[..., 1] == 255) & (drawn[..., 0] == 0) & (drawn[..., 2] == 0)
    green[:53, 98:205] = False  # the boxes and their rims
    ys = np.flatnonzero(green.any(axis=1))
    assert ys.max() < 53 + 30, ys.max()  # one label's height below the boxes at most


@pytest.mark.core
def test_text_height_sets_the_letters_height():
    img = np.zeros((600, 900, 3), np.uint8)
    small = drawing.draw_faces(img, [[100, 100, 200, 200]], ["0"], text_height=10)
    big = drawing.draw_faces(img, [[100, 100, 200, 200]], ["0"], text_height=40)

    def fill_height(a):
        g = (a[..., 1] == 255) & (a[..., 0] == 0) & (a[..., 2] == 0)
        g[97:304, 97:304] = False  # the box and its rim
        rows = np.flatnonzero(g.any(axis=1))
        return rows.max() - rows.min() + 1

    assert fill_height(small) < 25 < 40 < fill_height(big)
