"""The architectures: the reports' CNNs and DNNs, the parameter-matched DNN, and our CPU-efficient
recipe net, and their registry (``name -> builder``: each builder under its function name).

Every builder has the signature
``builder(input_shape=(48, 48, 1), num_classes=7, **kw) -> keras.Model`` and returns an
*uncompiled* model with every layer named, ending in a ``Dense(num_classes, name="logits")``
followed by ``Activation("softmax", name="predictions")``, so explanations can read the
pre-softmax score by layer name. Models use ``keras.layers`` only and run on any Keras 3 backend.

"""
from __future__ import annotations

import keras
from keras import layers

from fer_keras.errors import FerInputError
from fer_keras.models.layers import BatchNorm

_REGISTRY = {}



def register(fn):
    """Add a builder to the registry under its function name."""
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models():
    """Sorted names of the registered builders."""
    return sorted(_REGISTRY)


def get(name):
    """The builder registered as ``name``; a clear error listing the valid names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise FerInputError(f"unknown model {name!r}; valid names: {', '.join(list_models())}",
                            entry="--model") from None


def build(name, input_shape=(48, 48, 1), num_classes=7, **kw):
    """Build the registered model ``name``."""
    return get(name)(input_shape=input_shape, num_classes=num_classes, **kw)


def _head(num_classes):
    return [layers.Dense(num_classes, name="logits"),
            # float32 output keeps the softmax stable under mixed precision
            layers.Activation("softmax", name="predictions", dtype="float32")]


def _seq(input_shape, body, num_classes, name):
    return keras.Sequential([keras.Input(shape=input_shape, name="image"), *body, *_head(num_classes)],
                            name=name)


def _standardize(name="standardize"):
    """Per-image standardisation of a flat vector (zero mean, unit variance; no parameters).

    A Dense layer on raw [0, 1] pixels sees thousands of positive, strongly correlated inputs:
    Adam moves every weight by about ``lr`` per step in the direction of the mean image, a
    pre-activation moves by about ``lr * sum(x)`` (1.2 per step at 1e-3 on 2,304 pixels) and
    the ReLUs die. Centred inputs make those steps cancel (LeCun et al. 1998, "Efficient
    BackProp", section 4.3).
    """
    return layers.LayerNormalization(axis=-1, center=False, scale=False, name=name)


def _conv_block(prefix, filters, kernel, activation="relu", bn=True, bn_after_act=False,
                leak=0.2):
    """Conv -> [BN] -> activation (or Conv -> activation -> BN, as report 003 writes it)."""
    conv = layers.Conv2D(filters, kernel, padding="same", use_bias=not bn or bn_after_act,
                         name=f"{prefix}_conv")
    act = (layers.LeakyReLU(negative_slope=leak, name=f"{prefix}_act") if activation == "leaky"
           else layers.Activation(activation, name=f"{prefix}_act"))
    if not bn:
        return [conv, act]
    norm = BatchNorm(name=f"{prefix}_bn")
    return [conv, act, norm] if bn_after_act else [conv, norm, act]


# --------------------------------------------------------------------------- report 001
@register
def small_cnn(input_shape=(48, 48, 1), num_classes=7, dense=256):
    """Report 001's small CNN: Conv(32)-Conv(32)-ReLU-Pool-Drop-Conv(64)-ReLU-Pool-Drop-Dense-Dense(7).

    The report gives no hidden Dense width; 256 is used (1,668,519 parameters). Trained there with
    batch 80 for 10 epochs and class-balanced oversampling (58% validation accuracy).
    """
    return _seq(input_shape, _small_cnn_body(dense), num_classes, "small_cnn")


def _small_cnn_body(dense, more_conv=False):
    """The layers of :func:`small_cnn` (names kept: saved files read them), with
    ``more_conv``: Conv(64)-ReLU after conv3 and Conv(128)-ReLU-Pool-Drop after pool3."""
    body = [
        layers.Conv2D(32, 3, name="conv1"),
        layers.Conv2D(32, 3, name="conv2"),
        layers.Activation("relu", name="relu2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Dropout(0.25, name="drop2"),
        layers.Conv2D(64, 3, name="conv3"),
        layers.Activation("relu", name="relu3"),
    ]
    if more_conv:
        body += [layers.Conv2D(64, 3, name="conv3b"), layers.Activation("relu", name="relu3b")]
    body += [layers.MaxPooling2D(2, name="pool3"), layers.Dropout(0.25, name="drop3")]
    if more_conv:
        body += [layers.Conv2D(128, 3, name="conv4"), layers.Activation("relu", name="relu4"),
                 layers.MaxPooling2D(2, name="pool4"), layers.Dropout(0.25, name="drop4")]
    return body + [
        layers.Flatten(name="flatten"),
        layers.Dense(dense, name="fc1"),
        layers.Activation("relu", name="fc1_relu"),
        layers.Dropout(0.5, name="fc1_drop"),
    ]


@register
def small_cnn_more_conv(input_shape=(48, 48, 1), num_classes=7, dense=256):
    """Report 001's small CNN with two more convolutional layers, as report 001 tried ("adding
    more convolutional layers ... [did not] improve my accuracy"; it names neither their number
    nor their width): :func:`small_cnn` with Conv(64)-ReLU after conv3 and a block
    Conv(128)-ReLU-Pool-Drop(0.25) before the Dense layers; 435,815 parameters (the smaller
    flattened map, 1,152 against 6,400, more than pays for the extra filters)."""
    return _seq(input_shape, _small_cnn_body(dense, more_conv=True), num_classes,
                "small_cnn_more_conv")


@register
def dnn_001(input_shape=(48, 48, 1), num_classes=7, input_dropout=0.0):
    """Report 001's DNN: Pool-Drop-ReLU-Pool-Drop-Flatten(144)-Dense(1028)-ReLU-Drop-Dense(7).

    156,263 parameters, exactly the report's count. The report gives no dropout rates; on the
    pixels (the first two) any rate stopped it learning (FER2013, 12,000 training images, 4
    epochs of Adam 1e-3: rate 0.25 stays at the class prior's loss with 27% on PublicTest, 0.05
    reaches 31%, 0 reaches 33%), so ``input_dropout`` defaults to 0 and the layers stay in
    place; 0.5 before the classifier. The flattened pixels are standardised per image (no
    parameters, :func:`_standardize`) so that the Dense layer learns under Adam.
    """
    body = [
        layers.MaxPooling2D(2, name="pool1"),
        layers.Dropout(input_dropout, name="drop1"),
        layers.Activation("relu", name="relu1"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Dropout(input_dropout, name="drop2"),
        layers.Flatten(name="flatten"),
        _standardize(),
        layers.Dense(1028, name="fc1"),
        layers.Activation("relu", name="fc1_relu"),
        layers.Dropout(0.5, name="fc1_drop"),
    ]
    return _seq(input_shape, body, num_classes, "dnn_001")


# --------------------------------------------------------------------------- report 000
@register
def hw3_cnn(input_shape=(48, 48, 1), num_classes=7):
    """Report 000's CNN in three parts: conv 64-64 / 128-128 / 256-256 (BN, ReLU, pool, dropout),
    then Dense(200)-Dense(7).

    The report prints only the count, 2,130,311; this layout has 2,134,347 (0.19% more) with
    the same three-part shape (its Kaggle public score: :mod:`fer_keras.report.claims`).
    """
    body = []
    for i, f in enumerate((64, 128, 256), start=1):
        body += _conv_block(f"b{i}c1", f, 3)
        body += _conv_block(f"b{i}c2", f, 3)
        body += [layers.MaxPooling2D(2, name=f"b{i}_pool"), layers.Dropout(0.25, name=f"b{i}_drop")]
    body += [layers.Flatten(name="flatten"),
             layers.Dense(_HW3_DENSE, name="fc1"),
             BatchNorm(name="fc1_bn"),
             layers.Activation("relu", name="fc1_relu"),
             layers.Dropout(0.5, name="fc1_drop")]
    return _seq(input_shape, body, num_classes, "hw3_cnn")


_HW3_DENSE = 107


#: The two hidden widths of report 000's DNN (:func:`dnn_000`).
DNN_000_WIDTHS = (940, 117)


@register
def dnn_000(input_shape=(48, 48, 1), num_classes=7):
    """Report 000's DNN, known only by its parameter count (claim ``000-q2-params``):
    :func:`matched_dnn`'s shape with the widths :func:`matched_widths` gives for that count on
    48x48 grey faces, 940 and 117 (2,280,794 parameters, 0.05% off; tests/report/test_claims.py
    ties the two)."""
    return matched_dnn(None, input_shape, num_classes, widths=DNN_000_WIDTHS, name="dnn_000")


#: Hidden widths of :func:`dnn_000_narrow_first`: report 000's parameter count with the first
#: hidden layer narrower than the second (2,280,533 parameters, 0.01% under ``dnn_000``).
DNN_000_NARROW_WIDTHS = (600, 1466)


@register
def dnn_000_narrow_first(input_shape=(48, 48, 1), num_classes=7):
    """:func:`dnn_000` with its parameters spent the other way: a first hidden layer of 600
    units and a second of 1,466 (``dnn_000``: 940 then 117), the same count within 0.02%. The
    control of report 000's "at equal parameters, make the first hidden layer as wide as
    possible" (claim ``000-q2-wide-first``)."""
    return matched_dnn(None, input_shape, num_classes, widths=DNN_000_NARROW_WIDTHS,
                       name="dnn_000_narrow_first")


#: Widths of :func:`hw3_cnn_narrow_head`'s two dense layers: ``hw3_cnn``'s dense head size with
#: the first layer narrower (``hw3_cnn``: one Dense of 107 units).
HW3_NARROW_HEAD = (64, 5227)


@register
def hw3_cnn_narrow_head(input_shape=(48, 48, 1), num_classes=7):
    """:func:`hw3_cnn` whose dense head spends its parameters on a narrow first layer: Dense(64)
    then Dense(5,227), each with BN, ReLU and dropout (``hw3_cnn``: one Dense(107)); the same
    count, 2,134,347. The control of report 000's "the same holds for the dense layers at the
    end of the CNN" (claim ``000-q2-wide-dense``)."""
    body = []
    for i, f in enumerate((64, 128, 256), start=1):
        body += _conv_block(f"b{i}c1", f, 3)
        body += _conv_block(f"b{i}c2", f, 3)
        body += [layers.MaxPooling2D(2, name=f"b{i}_pool"), layers.Dropout(0.25, name=f"b{i}_drop")]
    body.append(layers.Flatten(name="flatten"))
    for i, units in enumerate(HW3_NARROW_HEAD, start=1):
        body += [layers.Dense(units, name=f"fc{i}"), BatchNorm(name=f"fc{i}_bn"),
                 layers.Activation("relu", name=f"fc{i}_relu"),
                 layers.Dropout(0.5, name=f"fc{i}_drop")]
    return _seq(input_shape, body, num_classes, "hw3_cnn_narrow_head")


# --------------------------------------------------------------------------- report 003
@register
def deep_cnn(input_shape=(48, 48, 1), num_classes=7, leak=0.05):
    """Report 003's nine-conv network, ported from its PyTorch table.

    3 x [Conv(32, 5x5)-LeakyReLU(0.05)-BN] - Pool - Drop(0.1) - 3 x [Conv(128, 3x3)-...] - Pool -
    Drop(0.1) - 3 x [Conv(512, 3x3)-...] - Pool - Flatten(18432) - Dense(512)-ReLU-BN - Dense(7).
    Same layer order and widths as the report's table (which prints no total): 15,145,607
    parameters.
    """
    body = []
    for s, (f, k) in enumerate(((32, 5), (128, 3), (512, 3)), start=1):
        for j in range(1, 4):
            body += _conv_block(f"s{s}c{j}", f, k, activation="leaky", bn_after_act=True, leak=leak)
        body.append(layers.MaxPooling2D(2, name=f"s{s}_pool"))
        if s < 3:
            body.append(layers.Dropout(0.1, name=f"s{s}_drop"))
    body += [layers.Flatten(name="flatten"),
             layers.Dense(512, name="fc1"),
             layers.Activation("relu", name="fc1_relu"),
             BatchNorm(name="fc1_bn")]
    return _seq(input_shape, body, num_classes, "deep_cnn")


@register
def simple_cnn3(input_shape=(48, 48, 1), num_classes=7):
    """Report 003's simple 3-layer CNN with [64, 128, 512] filters, suggested for saliency and
    filter visualisation: 3 x [Conv(3x3)-ReLU-Pool] - Dropout - Flatten - Dense(7); 793,863
    parameters."""
    body = []
    for i, f in enumerate((64, 128, 512), start=1):
        body += [layers.Conv2D(f, 3, padding="same", name=f"conv{i}"),
                 layers.Activation("relu", name=f"relu{i}"),
                 layers.MaxPooling2D(2, name=f"pool{i}")]
    body += [layers.Dropout(0.3, name="drop"), layers.Flatten(name="flatten")]
    return _seq(input_shape, body, num_classes, "simple_cnn3")


# --------------------------------------------------------------------------- report 004
_VGG16 = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


@register
def vgg_leaky(input_shape=(48, 48, 1), num_classes=7, leak=0.2, dropout=0.5):
    """Report 004's VGG-style net: the VGG16 conv stack with BN and LeakyReLU after every conv,
    then FC 4096-4096-2048-1024 (each Dense-BN-LeakyReLU-Dropout) and Dense(7, softmax).

    44,149,831 parameters against the report's 44,305,991 (0.35% fewer; the report's summary
    does not show its whole conv stack).
    """
    body = []
    for s, block in enumerate(_VGG16, start=1):
        for j, f in enumerate(block, start=1):
            body += _conv_block(f"block{s}_conv{j}", f, 3, activation="leaky", leak=leak)
        body.append(layers.MaxPooling2D(2, name=f"block{s}_pool"))
    body.append(layers.Flatten(name="flatten"))
    for i, units in enumerate((4096, 4096, 2048, 1024), start=1):
        body += [layers.Dense(units, name=f"fc{i}"),
                 BatchNorm(name=f"fc{i}_bn"),
                 layers.LeakyReLU(negative_slope=leak, name=f"fc{i}_act"),
                 layers.Dropout(dropout, name=f"fc{i}_drop")]
    return _seq(input_shape, body, num_classes, "vgg_leaky")


@register
def dnn_deep51(input_shape=(48, 48, 1), num_classes=7, units=900, depth=51, leak=0.2,
               dropout=0.05, bn_momentum=0.9):
    """Report 004's DNN: 51 x [Dense(900)-BN-LeakyReLU-Dropout] - Dense(7, softmax).

    42,809,407 parameters, exactly the report's count. Two choices the report does not fix,
    measured with the report preset on 1,050 real faces for 4 epochs (``test_dnn_learns``):
    ``bn_momentum`` 0.9 (PyTorch's default, not Keras's 0.99), because the 51 chained batch
    norms' moving statistics, which inference uses, must catch up with training: at 0.99 the
    model learned in training mode but its clean training loss in inference mode was about 10;
    ``dropout`` 0.05, because 0.2 on each of 51 layers kept the training loss above ln 7 (2.07
    after 4 epochs; 1.79 at 0.05, 1.62 without dropout).
    """
    body = [layers.Flatten(name="flatten")]
    for i in range(1, depth + 1):
        body += [layers.Dense(units, name=f"fc{i}"),
                 BatchNorm(momentum=bn_momentum, name=f"fc{i}_bn"),
                 layers.LeakyReLU(negative_slope=leak, name=f"fc{i}_act"),
                 layers.Dropout(dropout, name=f"fc{i}_drop")]
    return _seq(input_shape, body, num_classes, "dnn_deep51")


# --------------------------------------------------------------------------- ours
@register
def fer_net(input_shape=(48, 48, 1), num_classes=7, width=32, dropout=0.3, name="fer_net"):
    """``fer_keras``'s recipe net, chosen for accuracy per CPU FLOP.

    Four VGG stages of two 3x3 Conv-BN-ReLU each, widths ``width * (1, 2, 4, 8)``, max-pool
    between stages, global average pooling and dropout before the classifier. With the default
    width: about 1.2 M parameters and 0.24 GFLOP (multiply-adds x 2) per 48x48 image, a tenth of
    report 003's deep CNN, so a 2-core CPU trains an epoch of FER2013 in minutes.
    """
    body = []
    for s in range(4):
        f = width * 2 ** s
        body += _conv_block(f"s{s + 1}c1", f, 3)
        body += _conv_block(f"s{s + 1}c2", f, 3)
        if s < 3:
            body.append(layers.MaxPooling2D(2, name=f"s{s + 1}_pool"))
    body += [layers.GlobalAveragePooling2D(name="gap"),
             layers.Dropout(dropout, name="drop")]
    return _seq(input_shape, body, num_classes, name)


@register
def fer_net_large(input_shape=(48, 48, 1), num_classes=7, width=48, dropout=0.3):
    """:func:`fer_net` at 1.5x the width (48-96-192-384): about 2.6 M parameters and 0.53 GFLOP
    per image, for budgets of a few CPU-hours (on this 2-core CPU an epoch of FER2013 takes about
    twice as long as fer_net's; at width 64, the VGG widths of Khaireddin & Chen 2021, 3.6x)."""
    return fer_net(input_shape, num_classes, width=width, dropout=dropout, name="fer_net_large")


@register
def fer_net_10mb(input_shape=(48, 48, 1), num_classes=7, width=46, dropout=0.3):
    """:func:`fer_net` at width 46 (46-92-184-368): the widest whose float32 ``.keras`` file fits
    the 10 MB the shipped model may take (2,427,105 parameters, 9.8 MB; ``fer_net_large``'s file
    is 10.7 MB), at 0.92x ``fer_net_large``'s FLOPs."""
    return fer_net(input_shape, num_classes, width=width, dropout=dropout, name="fer_net_10mb")


# --------------------------------------------------------------------------- matched DNN
def dnn_params(input_dim, widths, num_classes=7, batch_norm=False):
    """Parameter count of Dense layers ``input_dim -> widths... -> num_classes`` (with biases;
    with ``batch_norm`` each hidden Dense has no bias and a batch norm of 4 values per unit)."""
    dims = [input_dim, *widths, num_classes]
    extra = 3 * sum(widths) if batch_norm else 0
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:])) + extra


def matched_widths(target, input_dim=48 * 48, num_classes=7, ratio=8, min_second=16,
                   batch_norm=False):
    """Hidden widths ``(w, max(min_second, w // ratio))`` whose DNN has about ``target`` params.

    Report 000 found that, at equal parameters, making the first hidden layer as wide as
    possible worked best, so the first layer takes nearly all the budget and the second is
    ``ratio`` times narrower. Solved by bisection on ``w`` (the count is monotone in ``w``).
    """
    count = lambda w: dnn_params(input_dim, (w, max(min_second, w // ratio)), num_classes,  # noqa: E731
                                 batch_norm)
    if target < count(1):
        raise FerInputError(f"target parameter count {target} is too small for a DNN on "
                            f"{input_dim} inputs")
    lo, hi = 1, 1
    while count(hi) < target:
        hi *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if count(mid) <= target else (lo, mid)
    w = min((lo, hi), key=lambda v: abs(count(v) - target))
    return w, max(min_second, w // ratio)


def _dense_block(prefix, units, batch_norm, dropout, activation="relu", leak=0.2):
    """Dense -> [BN] -> activation -> [Dropout]: the hidden layer of every DNN here."""
    block = [layers.Dense(units, use_bias=not batch_norm, name=prefix)]
    if batch_norm:
        block.append(BatchNorm(name=f"{prefix}_bn"))
    block.append(layers.LeakyReLU(negative_slope=leak, name=f"{prefix}_act") if activation == "leaky"
                 else layers.Activation(activation, name=f"{prefix}_relu"))
    if dropout:
        block.append(layers.Dropout(dropout, name=f"{prefix}_drop"))
    return block


def matched_dnn(target, input_shape=(48, 48, 1), num_classes=7, dropout=0.5, batch_norm=True,
                name=None, widths=None):
    """A DNN whose parameter count matches ``target`` (a number or a ``keras.Model``) within 2%.

    Flatten - Standardise - Dense(w)-BN-ReLU-Dropout - Dense(w/8)-BN-ReLU-Dropout - Dense(7);
    see :func:`matched_widths` for the sizing rule (report 000). The per-image standardisation
    (:func:`_standardize`) and the batch norm are what let it learn under Adam at 1e-3: on raw
    [0, 1] pixels 79% of the first layer's ReLUs and all of the second's died in the first
    epoch on FER2013 and the loss stayed at ln 7 (RESULTS.md). ``batch_norm=False`` gives
    Dense-ReLU-Dropout layers (the widths are re-solved for the count). ``widths``: the two
    hidden widths as given instead of solved for ``target`` (then None).
    """
    if isinstance(target, keras.Model):
        name = name or f"dnn_matched_{target.name}"
        target = target.count_params()
    input_dim = 1
    for d in input_shape:
        input_dim *= d
    w1, w2 = widths or matched_widths(int(target), input_dim, num_classes, batch_norm=batch_norm)
    body = [layers.Flatten(name="flatten"), _standardize()]
    for i, w in enumerate((w1, w2), start=1):
        body += _dense_block(f"fc{i}", w, batch_norm, dropout)
    return _seq(input_shape, body, num_classes, name or f"dnn_matched_{int(target)}")


#: ``dnn_matched_<cnn>``: the name of the parameter-matched DNN of a registry CNN (HW3 Q2).
MATCHED_PREFIX = "dnn_matched_"


def register_matched_dnn(cnn):
    """Register ``dnn_matched_<cnn>`` (:func:`matched_dnn` of the registry CNN ``cnn``) in the
    model registry, so that it trains and resumes like any registry model; returns the name."""
    name = f"{MATCHED_PREFIX}{cnn}"
    if name in list_models():
        return name
    get(cnn)

    def builder(input_shape=(48, 48, 1), num_classes=7):
        target = build(cnn, input_shape, num_classes)
        return matched_dnn(target, input_shape, num_classes, name=name)

    builder.__name__ = name
    builder.__doc__ = (f"A DNN with about the parameter count of ``{cnn}`` "
                       "(:func:`matched_dnn`, HW3 Q2).")
    register(builder)
    return name


