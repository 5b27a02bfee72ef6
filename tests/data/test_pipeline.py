"""The three training inputs: numpy (EpochBatches), ImageDataGenerator (idg) and tf.data.

Balanced oversampling, the seeded per-epoch order, shapes/dtypes/ranges, class balance over an
epoch, reproducibility and resume. The numpy-path tests are backend-neutral (``core``); the idg
and tf.data ones need TensorFlow.
"""
import numpy as np
import pytest
from conftest import has_tensorflow, requires_tf

from fer_keras.config import TrainConfig
from fer_keras.data.pipeline import EpochBatches, balanced_indices, epoch_order

PRIORS = np.array([3995, 436, 4097, 7215, 4830, 3171, 4965], float)


def make_data(n=500, seed=0):
    """Random uint8 faces with FER2013's class imbalance (every class present)."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(7, n, p=PRIORS / PRIORS.sum())
    labels[:7] = np.arange(7)
    images = rng.integers(0, 256, (n, 48, 48), dtype=np.uint8)
    return images, labels


def collect(batches, steps):
    xs, ys = zip(*(batches[i] if hasattr(batches, "__getitem__") else next(batches)
                   for i in range(steps)))
    return xs, np.concatenate([np.asarray(y) for y in ys])


# --------------------------------------------------------------------------- numpy path (core)
@pytest.mark.core
def test_balanced_indices_equal_counts_and_every_original_kept():
    _, labels = make_data()
    counts = np.bincount(labels, minlength=7)
    idx = balanced_indices(labels, np.random.default_rng(1))
    assert idx.dtype.kind == "i"
    np.testing.assert_array_equal(np.bincount(labels[idx], minlength=7),
                                  np.full(7, counts.max()))
    assert set(idx.tolist()) == set(range(len(labels))), "every original row appears"
    # the largest class appears exactly once per row; the others at most ceil(target / n) times
    per_row = np.bincount(idx, minlength=len(labels))
    for c in range(7):
        reps = per_row[labels == c]
        assert reps.max() - reps.min() <= 1
    # an explicit target
    idx = balanced_indices(labels, np.random.default_rng(1), target=10)
    np.testing.assert_array_equal(np.bincount(labels[idx], minlength=7), np.full(7, 10))


@pytest.mark.core
def test_epoch_order_depends_only_on_seed_and_epoch():
    _, labels = make_data()
    n = len(labels)
    for oversample in (False, True):
        a = epoch_order(n, labels, 3, 5, oversample)
        np.testing.assert_array_equal(a, epoch_order(n, labels, 3, 5, oversample))
        assert not np.array_equal(a, epoch_order(n, labels, 3, 6, oversample))
        assert not np.array_equal(a, epoch_order(n, labels, 4, 5, oversample))
    assert sorted(epoch_order(n, labels, 0, 0)) == list(range(n))


@pytest.mark.core
def test_epoch_batches_order_is_a_function_of_seed_and_epoch():
    images, labels = make_data()
    a = EpochBatches(images, labels, 64, seed=7, oversample=True)
    b = EpochBatches(images, labels, 64, seed=7, oversample=True, initial_epoch=2)
    for _ in range(3):  # a: epochs 0, 1, 2
        a.on_epoch_begin()
    b.on_epoch_begin()  # b starts at epoch 2
    assert a.epoch == b.epoch == 2
    for i in (0, 3, len(a) - 1):
        xa, ya = a[i]
        xb, yb = b[i]
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    x, y = a[0]
    assert x.shape == (64, 48, 48, 1) and x.dtype == np.float32 and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0
    _, ys = collect(a, len(a))
    assert len(set(np.bincount(ys, minlength=7).tolist())) == 1, "balanced epoch"


@pytest.mark.core
@pytest.mark.skipif(has_tensorflow(), reason="checks the error raised without TensorFlow")
def test_tf_pipelines_say_they_need_tensorflow():
    from fer_keras.data.oversample import idg_training_sequence, oversample_with_idg
    from fer_keras.errors import FerInputError
    from fer_keras.train.tfdata import training_dataset

    images, labels = make_data(50)
    cfg = TrainConfig()
    for call in (lambda: oversample_with_idg(images, labels, cfg),
                 lambda: idg_training_sequence(images, labels, cfg),
                 lambda: training_dataset(images, labels, cfg)):
        with pytest.raises(FerInputError, match="needs TensorFlow"):
            call()


# --------------------------------------------------------------------------- ImageDataGenerator
@requires_tf
def test_generator_is_the_tf_keras_image_data_generator():
    import tensorflow as tf

    from fer_keras.data.oversample import image_data_generator_class, make_generator

    assert image_data_generator_class() is tf.keras.preprocessing.image.ImageDataGenerator
    gen = make_generator(TrainConfig(rotation=15, shift=0.2, zoom=0.1, flip=True))
    assert gen.rotation_range == 15 and gen.width_shift_range == gen.height_shift_range == 0.2
    assert list(gen.zoom_range) == pytest.approx([0.9, 1.1]) and gen.horizontal_flip
    assert gen.fill_mode == "nearest"


@requires_tf
def test_oversample_with_idg_balances_and_keeps_the_originals():
    from fer_keras.data.oversample import oversample_with_idg

    images, labels = make_data(300)
    counts = np.bincount(labels, minlength=7)
    x, y = oversample_with_idg(images, labels, TrainConfig(seed=3))
    assert x.dtype == np.uint8 and x.shape == (7 * counts.max(), 48, 48) and y.shape == (len(x),)
    np.testing.assert_array_equal(np.bincount(y, minlength=7), np.full(7, counts.max()))
    np.testing.assert_array_equal(x[:len(images)], images)
    np.testing.assert_array_equal(y[:len(labels)], labels)
    extra = x[len(images):]
    # the copies are augmented, not plain repeats
    originals = {im.tobytes() for im in images}
    assert sum(im.tobytes() in originals for im in extra) < 0.05 * len(extra)
    # reproducible from the seed, different with another seed
    x2, y2 = oversample_with_idg(images, labels, TrainConfig(seed=3))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = oversample_with_idg(images, labels, seed=4)
    assert not np.array_equal(x, x3)
    # knobs by keyword: with no augmentation, every copy is one of its class's originals
    x0, y0 = oversample_with_idg(images, labels, rotation=0, shift=0, zoom=0, flip=False)
    flat = {im.tobytes(): lab for im, lab in zip(images, labels)}
    assert all(flat.get(im.tobytes()) == lab for im, lab in zip(x0[len(images):], y0[len(images):]))


@requires_tf
def test_oversample_with_idg_leaves_a_balanced_set_alone():
    from fer_keras.data.oversample import oversample_with_idg

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (70, 48, 48), dtype=np.uint8)
    labels = np.repeat(np.arange(7), 10)
    x, y = oversample_with_idg(images, labels)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


@requires_tf
def test_idg_sequence_shapes_balance_and_reproducibility():
    import keras

    from fer_keras.data.oversample import idg_training_sequence

    images, labels = make_data(400)
    cfg = TrainConfig(batch_size=64, oversample=True, seed=5)
    seq = idg_training_sequence(images, labels, cfg)
    assert isinstance(seq, keras.utils.PyDataset)
    counts = np.bincount(labels, minlength=7)
    assert len(seq) == -(-7 * counts.max() // 64)
    seq.on_epoch_begin()  # epoch 0
    xs, ys = collect(seq, len(seq))
    x = xs[0]
    assert x.shape == (64, 48, 48, 1) and x.dtype == np.float32 and ys.dtype == np.int32
    assert 0.0 <= min(b.min() for b in xs) and max(b.max() for b in xs) <= 1.0
    np.testing.assert_array_equal(np.bincount(ys, minlength=7), np.full(7, counts.max()))
    # same labels and order as the default path; augmented images
    plain = EpochBatches(images, labels, 64, seed=5, oversample=True)
    plain.on_epoch_begin()
    px, py = plain[0]
    np.testing.assert_array_equal(py, seq[0][1])
    assert not np.allclose(px, x)
    # a batch depends only on (seed, epoch, batch): asked twice, or from a resumed sequence
    np.testing.assert_array_equal(seq[1][0], seq[1][0])
    seq.on_epoch_begin()  # epoch 1
    resumed = idg_training_sequence(images, labels, cfg, initial_epoch=1)
    resumed.on_epoch_begin()
    np.testing.assert_array_equal(seq[2][0], resumed[2][0])
    assert not np.array_equal(seq[2][0], xs[2])


@requires_tf
def test_idg_sequence_without_augment_or_oversampling():
    from fer_keras.data.oversample import idg_training_sequence

    images, labels = make_data(130)
    seq = idg_training_sequence(images, labels, TrainConfig(batch_size=50, augment=False))
    seq.on_epoch_begin()
    assert len(seq) == 3
    xs, ys = collect(seq, 3)
    assert len(ys) == 130 and sorted(np.bincount(ys, minlength=7)) == sorted(
        np.bincount(labels, minlength=7))
    x, _ = seq[0]
    plain = EpochBatches(images, labels, 50, seed=0)
    plain.on_epoch_begin()
    np.testing.assert_array_equal(x, plain[0][0])


# --------------------------------------------------------------------------- tf.data
@requires_tf
def test_tfdata_shapes_balance_and_order():
    import tensorflow as tf

    from fer_keras.train.tfdata import training_dataset

    images, labels = make_data(400)
    cfg = TrainConfig(batch_size=64, oversample=True, seed=2)
    ds, steps = training_dataset(images, labels, cfg)
    assert isinstance(ds, tf.data.Dataset)
    counts = np.bincount(labels, minlength=7)
    assert steps == -(-7 * counts.max() // 64)
    it = iter(ds)
    xs, ys = collect(it, steps)
    assert xs[0].shape == (64, 48, 48, 1) and xs[0].dtype == tf.float32
    assert ys.dtype == np.int32
    assert len(ys) == 7 * counts.max(), "an epoch is exactly steps_per_epoch batches"
    np.testing.assert_array_equal(np.bincount(ys, minlength=7), np.full(7, counts.max()))
    lo = min(float(tf.reduce_min(x)) for x in xs)
    hi = max(float(tf.reduce_max(x)) for x in xs)
    assert 0.0 <= lo and hi <= 1.0
    # the same per-batch classes as the default path (which sorts rows within a batch)
    plain = EpochBatches(images, labels, 64, seed=2, oversample=True)
    plain.on_epoch_begin()
    for i in (0, steps - 1):
        np.testing.assert_array_equal(np.sort(plain[i][1]), np.sort(ys[i * 64:(i + 1) * 64]))
    # the next epoch follows, with a new order
    _, ys1 = collect(it, steps)
    np.testing.assert_array_equal(np.bincount(ys1, minlength=7), np.full(7, counts.max()))
    assert not np.array_equal(ys, ys1)


@requires_tf
def test_tfdata_is_reproducible_and_resumes_exactly():
    from fer_keras.train.tfdata import training_dataset

    images, labels = make_data(300)
    cfg = TrainConfig(batch_size=32, oversample=False, seed=9, erasing=0.5)
    ds, steps = training_dataset(images, labels, cfg)
    it = iter(ds)
    first = [next(it) for _ in range(steps + 2)]  # epoch 0 and two batches of epoch 1
    again = iter(training_dataset(images, labels, cfg)[0])
    x0, y0 = next(again)
    np.testing.assert_array_equal(x0.numpy(), first[0][0].numpy())
    np.testing.assert_array_equal(y0.numpy(), first[0][1].numpy())
    resumed = iter(training_dataset(images, labels, cfg, initial_epoch=1)[0])
    for k in (0, 1):
        xr, yr = next(resumed)
        np.testing.assert_array_equal(xr.numpy(), first[steps + k][0].numpy())
        np.testing.assert_array_equal(yr.numpy(), first[steps + k][1].numpy())
    # augmented: differs from the plain rows
    plain = images[np.sort(epoch_order(300, labels, 9, 0)[:32])]
    assert not np.allclose(np.sort(first[0][0].numpy().ravel()),
                           np.sort(plain.ravel() / 255.0), atol=1e-3)


@requires_tf
def test_tfdata_without_augmentation_is_the_plain_rows():
    from fer_keras.train.tfdata import training_dataset

    images, labels = make_data(100)
    ds, steps = training_dataset(images, labels, TrainConfig(batch_size=40, augment=False))
    assert steps == 3
    x, y = next(iter(ds))
    idx = epoch_order(100, labels, 0, 0)[:40]
    np.testing.assert_allclose(x.numpy()[..., 0], images[idx] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(y.numpy(), labels[idx])


@requires_tf
@pytest.mark.parametrize("pipeline", ["tfdata", "idg"])
def test_training_runs_on_each_pipeline(tmp_path, pipeline):
    from fer_keras import data
    from fer_keras.train import train

    cfg = TrainConfig(epochs=1, batch_size=32, oversample=True, input_pipeline=pipeline,
                      n_synthetic=240, out=str(tmp_path / pipeline), verbose=0)
    splits = data.load_splits("synthetic", val_fraction=0.2, seed=0, n_synthetic=240)
    net, history = train(cfg, splits=splits)
    assert len(history) == 1 and np.isfinite(history[0]["loss"])
    assert (tmp_path / pipeline / "model.keras").is_file()
