"""benchmarks.faces_detect's video measure: what it counts as found, inside and false."""
import numpy as np
import pytest

pytest.importorskip("cv2")

from benchmarks import faces_detect  # noqa: E402

pytestmark = pytest.mark.core


class _Stub:
    """A video detector that returns ``fn(frame index)`` and counts its resets."""

    def __init__(self, fn):
        self.fn, self.k, self.resets = fn, 0, 0

    def reset(self):
        self.resets += 1

    def __call__(self, grey):
        self.k += 1
        return self.fn(self.k - 1)


def test_drifting_clip_moves_the_image_and_its_boxes_together():
    grey = np.full((60, 80), 128, np.uint8)
    grey[10:20, 5:15] = 255
    truth = np.array([[5, 10, 10, 10]], np.int32)
    frames, boxes = faces_detect.drifting_clip(grey, truth, 4)
    for k, (f, b) in enumerate(zip(frames, boxes)):
        x, y = 5 + 2 * k, 10 + k
        np.testing.assert_array_equal(b, [[x, y, 10, 10]])
        assert (f[y:y + 10, x:x + 10] == 255).all() and f.sum() == grey.sum()


def test_measure_video_counts_found_inside_and_false_boxes():
    """Per frame of a 3-frame clip of one 2-face photo: the true boxes are found; a small box
    inside a face's square is 'inside', not false; a box on the background is false; faceless
    photos' boxes are false and the detector is reset per clip."""
    grey = np.full((100, 200), 128, np.uint8)
    truth = np.array([[10, 10, 40, 40], [120, 10, 40, 40]], np.int32)
    clip_boxes = faces_detect.drifting_clip(grey, truth, 3)[1]
    det = _Stub(lambda k: np.vstack([clip_boxes[k][:1], clip_boxes[k][0] + [20, 20, -30, -30],
                                     [[60, 60, 20, 20]]]))
    r = faces_detect.measure_video(det, [(grey, truth)], n_frames=3)
    assert (r["found"], r["faces"], r["inside"], r["false"]) == (3, 6, 3, 3)
    blank = _Stub(lambda k: np.array([[5, 5, 20, 20]] * (k % 2)).reshape(-1, 4))
    r = faces_detect.measure_video(blank, [(grey, truth)], [("blank", grey, 0)], n_frames=4)
    assert (r["real_found"], r["real_faces"], r["real_false"]) == (0, 0, 2)
    assert blank.resets == 2
