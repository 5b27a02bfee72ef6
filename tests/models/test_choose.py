"""Which model answers (:mod:`fer_keras.models.choose`)."""
import shutil

import pytest

from fer_keras.models import choose, shipped

pytest.importorskip("onnxruntime")


def test_classifier_decides_which_model_answers(tmp_path):
    """The one decision (:func:`choose.classifier`): the shipped model by None or its word is
    the ONNX export, with its own session when threads are asked; a contract option, or
    ``exported=False``, reads the ``.keras`` with Keras; a path is that file; a model object is
    itself; a URL is refused. The flip side of each is checked beside it."""
    import keras

    from fer_keras.errors import FerInputError
    from fer_keras.models.runtime import ExportedClassifier

    fast, c = choose.classifier()
    assert isinstance(fast, ExportedClassifier) and c.num_classes == 7
    assert choose.classifier(shipped.PRETRAINED)[0] is fast  # the one shared session
    own = choose.classifier(threads=1)[0]
    assert isinstance(own, ExportedClassifier) and own is not fast
    for kwargs in ({"input_range": "-1,1"}, {"exported": False}):
        model, c = choose.classifier(**kwargs)
        assert isinstance(model, keras.Model), kwargs
    assert choose.classifier(input_range="-1,1")[1].input_range == (-1.0, 1.0)
    assert choose.classifier()[1].input_range != (-1.0, 1.0)  # control: the recorded range
    shutil.copy(shipped.model_path(), tmp_path / "m.keras")
    model, _ = choose.classifier(str(tmp_path / "m.keras"))
    assert isinstance(model, keras.Model)
    assert choose.classifier(model)[0] is model
    assert choose.classifier(model, classes="a,b,c,d,e,f,g")[1].classes[0] == "a"
    with pytest.raises(FerInputError, match="URLs are not supported"):
        choose.classifier("https://example.org/m.keras")
