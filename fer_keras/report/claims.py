"""Every claim of the five reports (``shared/seeds/00*.txt``, REPORTS.md), once, with its source.

Each :class:`Claim` names the report(s) that make it, with the words of each (``original``: a
phrase found verbatim, whitespace aside, in that report's text; a test checks it), an English
``quote``, its ``kind`` (which verdict of :mod:`fer_keras.report.rules` judges it), the model
and settings the report used, and the reported ``value``. The reproduction table and the
questions read the reports' figures from here and nowhere else.
"""
from __future__ import annotations

import dataclasses
import types

#: The kinds of claim; each has its verdict in :mod:`fer_keras.report.rules` (``observation``
#: and ``untestable`` excepted: an observation is measured by its question, an untestable one
#: is listed with the reason).
KINDS = ("accuracy", "params", "confusion_pair", "confusion_row", "rarely_predicted",
         "most_predicted", "recall_best", "recall_worst", "recall_fair", "recall_above",
         "recall_top", "region", "separation", "visual_similarity", "data_count",
         "data_rarest", "shape", "comparison", "observation", "unmeasured", "untestable")


@dataclasses.dataclass(frozen=True)
class Claim:
    id: str
    question: str  # the report's question, e.g. "HW3 Q3"
    kind: str
    quote: str  # in English, close to the original
    original: dict  # {report: words of that report, verbatim (whitespace aside)}
    section: str = ""  # our question that measures it ("" : the registry, nothing trained)
    model: str = ""  # registry name of the model the claim is about ("": the report's CNN)
    settings: dict = dataclasses.field(default_factory=dict)  # the report's, as our run config
    value: object = None  # the reported value (accuracy, count, region, pair, class, ...)
    why: str = ""  # untestable / unmeasured: why not; params: why a match proves nothing
    run: str = ""  # accuracy: the run under OUT/runs that measures it ("": the report's CNN)
    #: comparison and observations on runs: ``(run, model, settings)`` of each run under
    #: OUT/runs the claim compares, the report's settings as our run config
    runs: tuple = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r}")
        object.__setattr__(self, "original", types.MappingProxyType(dict(self.original)))
        object.__setattr__(self, "settings", types.MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "runs", tuple(
            (r, m, types.MappingProxyType(dict(s))) for r, m, s in self.runs))

    @property
    def reports(self):
        return tuple(self.original)


C = Claim
#: The reports' training settings as our run config: report 001's (batch 80, 10 epochs, Adam,
#: oversampling with flipped copies; :data:`fer_keras.config.PRESETS`), which the other reports
#: do not contradict; report 000 trained 20 epochs.
REPORT = dict(preset="report")
R001 = dict(preset="report", epochs=10)
R000 = dict(preset="report", epochs=20)
SIZED = ("the report gives this architecture only in pictures that its text does not contain; "
         "our model was sized to this count, so a match shows the arithmetic, not the report's "
         "architecture")
CLAIMS = (
    # ---------------------------------------------------------------- report 000
    C("000-q1-accuracy", "HW3 Q1", "accuracy", "the CNN scores 0.64921 on the Kaggle public "
      "leaderboard (PublicTest)", {"000": "Kaggle Public Score 0.64921"}, "q1-train",
      "hw3_cnn", R000, 0.64921, run="hw3_cnn"),
    C("000-q1-params", "HW3 Q1", "params", "the CNN has 2,130,311 parameters",
      {"000": "CNN: 2, 130, 311"}, "", "hw3_cnn", {}, 2_130_311, why=SIZED),
    C("000-q2-params", "HW3 Q2", "params", "the DNN has 2,281,931 parameters",
      {"000": "DNN: 2, 281, 931"}, "", "dnn_000", {}, 2_281_931, why=SIZED),
    C("000-q2-accuracy", "HW3 Q2", "accuracy", "the DNN scores 0.45471",
      {"000": "準確率 0.45471"}, "q2-dnn", "dnn_000", R000, 0.45471, run="dnn_000"),
    C("000-q2-wide-first", "HW3 Q2", "comparison", "of the DNNs tried with the same number of "
      "parameters, making the first hidden layer as wide as possible worked best",
      {"000": "把第一層的 neural 開的盡量大一點"}, "", value="better",
      runs=(("dnn_000", "dnn_000", R000),
            ("dnn_000_narrow_first", "dnn_000_narrow_first", R000))),
    C("000-q2-wide-dense", "HW3 Q2", "comparison", "the same holds for the dense layers at the "
      "end of the CNN", {"000": "CNN 中後面那幾層的 DNN 也適用這樣的結果"}, "", value="better",
      runs=(("hw3_cnn", "hw3_cnn", R000),
            ("hw3_cnn_narrow_head", "hw3_cnn_narrow_head", R000))),
    C("000-q2-overfit", "HW3 Q2", "observation", "the DNN's gap between training and "
      "validation accuracy is far larger than the CNN's (it overfits much more)",
      {"000": "DNN 的 training accuracy 跟 validation accuracy 的差距遠比 CNN 的大"}, "",
      runs=(("hw3_cnn", "hw3_cnn", R000), ("dnn_000", "dnn_000", R000))),
    C("000-cnn-beats-dnn", "HW3 Q2", "comparison", "the CNN (0.64921) is clearly more accurate "
      "than the DNN of about as many parameters (0.45471)", {"000": "準確率 0.45471"}, "",
      value="better", runs=(("hw3_cnn", "hw3_cnn", R000), ("dnn_000", "dnn_000", R000))),
    C("000-q3-disgust-rare", "HW3 Q3", "rarely_predicted", "very few images of other classes "
      "are wrongly predicted as Disgust", {"000": "很不容易把 Disgust 以外的圖片誤判成 Disgust"},
      "q3-confusion", value="Disgust"),
    C("000-q3-disgust-angry", "HW3 Q3", "confusion_pair", "Disgust is often predicted as Angry",
      {"000": "把 Disgust 誤判成 Angry"}, "q3-confusion", value=("Disgust", "Angry")),
    C("000-q3-angry-sad", "HW3 Q3", "confusion_pair", "Angry is often predicted as Sad",
      {"000": "把 Angry 誤判成 Sad"}, "q3-confusion", value=("Angry", "Sad")),
    C("000-q5-alike", "HW3 Q5", "visual_similarity", "gradient ascent from the real image gave "
      "results very similar to ascent from white noise (no face contours)",
      {"000": "跟從白噪音開始 gradient ascent 很類似的結果"}, "q5-filters", "hw3_cnn", R000,
      value=True, run="hw3_cnn"),
    # ---------------------------------------------------------------- report 001
    C("001-q1-oversampled", "HW3 Q1", "accuracy", "small CNN, batch 80, 10 epochs, with "
      "oversampling: 58% on Kaggle", {"001": "With it, my Kaggle accuracy went up to 58%"},
      "q1-train", "small_cnn", R001, 0.58, run="small_cnn"),
    C("001-q1-plain", "HW3 Q1", "accuracy", "the same without oversampling: 55%",
      {"001": "Without over-sampling, my Kaggle accuracy was 55%"}, "q1-train", "small_cnn",
      dict(R001, oversample=False), 0.55, run="small_cnn-no-oversample"),
    C("001-q1-oversample-gain", "HW3 Q1", "comparison", "oversampling improved the accuracy by "
      "about 3 points", {"001": "my accuracy did improve for about 3%"}, "", value=0.03,
      runs=(("small_cnn", "small_cnn", R001),
            ("small_cnn-no-oversample", "small_cnn", dict(R001, oversample=False)))),
    C("001-q1-batch-80", "HW3 Q1", "comparison", "batch 80 seemed to perform best: a smaller "
      "batch (40) did no better", {"001": "My batch size was 80 because it seemed to perform "
      "the best"}, "", value="no better",
      runs=(("small_cnn-batch40", "small_cnn", dict(R001, batch_size=40)),
            ("small_cnn", "small_cnn", R001))),
    C("001-q1-batch-160", "HW3 Q1", "comparison", "a batch greater than 160 (here 320) "
      "decreased the performance", {"001": "Batch size greater than 160 on my model decreased "
      "my performance"}, "", value="better",
      runs=(("small_cnn", "small_cnn", R001),
            ("small_cnn-batch320", "small_cnn", dict(R001, batch_size=320)))),
    C("001-q1-more-conv", "HW3 Q1", "comparison", "adding more convolutional layers did not "
      "improve the accuracy", {"001": "adding more convolutional layers"}, "",
      value="no better",
      runs=(("small_cnn_more_conv", "small_cnn_more_conv", R001),
            ("small_cnn", "small_cnn", R001))),
    C("001-q1-generator", "HW3 Q1", "comparison", "pre-processing the images with an image "
      "generator (random rotations, shifts and zooms) did not improve the accuracy",
      {"001": "using an image generator to pro-process my images"}, "", value="no better",
      runs=(("small_cnn-generator", "small_cnn", dict(R001, rotation=10.0, shift=0.1,
                                                        zoom=0.1)),
            ("small_cnn", "small_cnn", R001))),
    C("001-q1-epoch-time", "HW3 Q1", "untestable", "an epoch took about 200-300 seconds on "
      "the report's CPU", {"001": "It took about 200-300 seconds per epoch"},
      why="a time on a machine the report does not name; ours are in the training summaries"),
    C("001-q1-overfit", "HW3 Q1", "observation", "validation accuracy stopped growing and fell "
      "below the training accuracy (overfitting)",
      {"001": "stopped growing and went under training accuracy"}, "q1-train"),
    C("001-q2-params", "HW3 Q2", "params", "the DNN has 156,263 parameters",
      {"001": "Total params: 156,263"}, "", "dnn_001", {}, 156_263),
    C("001-q2-val-drop", "HW3 Q2", "observation", "the DNN's validation accuracy started to "
      "decrease near the end (overfitting)",
      {"001": "the validation accuracy started to decrease near the end of epochs"}, "",
      runs=(("dnn_001", "dnn_001", R001),)),
    C("001-cnn-beats-dnn", "HW3 Q2", "comparison", "the DNN (the CNN without its convolutional "
      "layers, 156,263 parameters) is significantly less accurate",
      {"001": "the accuracy is significantly lower"}, "", value="better",
      runs=(("small_cnn", "small_cnn", R001), ("dnn_001", "dnn_001", R001))),
    C("001-data-happy", "HW3 Q3", "data_count", "there are 7,215 images of Happy",
      {"001": "there are 7215 samples of"}, "", value=("Happy", 7215)),
    C("001-data-disgust-rarest", "HW3 Q3", "data_rarest", "Disgust is the class with the "
      "fewest images", {"001": "\"Disgust\" is the class with least samples"}, "",
      value="Disgust"),
    C("001-q3-surprise-best", "HW3 Q3", "recall_best", "Surprise is recognised best (92%)",
      {"001": "\"Surprise\" is predicted correctly 92% (highest)"}, "q3-confusion",
      value=("Surprise", 0.92)),
    C("001-q3-sad-worst", "HW3 Q3", "recall_worst", "Sad is recognised worst (42%)",
      {"001": "\"Sad\" is predicted correctly 42%(lowest)"}, "q3-confusion",
      value=("Sad", 0.42)),
    C("001-q3-fear-often", "HW3 Q3", "most_predicted", "the model often confuses other "
      "emotions with Fear", {"001": "the model often confuses other emotions with \"Fear\""},
      "q3-confusion", value="Fear"),
    C("001-q3-sad-fear", "HW3 Q3", "confusion_pair", "37% of Sad is predicted as Fear",
      {"001": "37% of true label \"Sad\" was predicted as \"Fear\""}, "q3-confusion",
      value=("Sad", "Fear", 0.37)),
    C("001-q3-disgust-ok", "HW3 Q3", "recall_fair", "Disgust, the rarest class, looks "
      "not bad", {"001": "\"Disgust\" is the class with least samples but it looks not bad"},
      "q3-confusion", value="Disgust"),
    C("001-q4-middle", "HW3 Q4", "observation", "the saliency is in the middle of the image, "
      "the outer area mostly zero; head shape and background are ignored",
      {"001": "the model puts its focus in the middle of the image"}, "q4-saliency"),
    # ---------------------------------------------------------------- report 002
    C("002-accuracy", "HW4 Q4", "accuracy", "the explained CNN is about 68% accurate",
      {"002": "正確率只有 68% 左右"}, "hw4-saliency", "", {}, 0.68),
    C("002-q1-happy", "HW4 Q1", "region", "Happy: the saliency is on the nose and the mouth "
      "(the mouth's shape)", {"002": "主要 focus 在鼻子和嘴巴的部分"}, "hw4-saliency",
      value=("Happy", "mouth")),
    C("002-q1-sad", "HW4 Q1", "region", "Sad: the saliency is on the eyes",
      {"002": "主要 focus 在眼睛的部分"}, "hw4-saliency", value=("Sad", "eyes")),
    C("002-q1-surprise", "HW4 Q1", "region", "Surprise: the saliency is on the (open) mouth",
      {"002": "很明顯分類時是 focus 在嘴巴的部分"}, "hw4-saliency", value=("Surprise", "mouth")),
    C("002-q1-neutral", "HW4 Q1", "region", "Neutral: almost the whole face matters",
      {"002": "幾乎整張臉都對分類結果有影響"}, "hw4-saliency", value=("Neutral", "whole face")),
    C("002-q2-textures", "HW4 Q2", "observation", "each filter of activation_1 is activated by "
      "a different texture", {"002": "每個 filter 容易被不同的紋路 activate"}, "hw4-filters"),
    C("002-q2-outputs", "HW4 Q2", "observation", "for image #307 some filters keep only some "
      "parts of the image, some enhance edges", {"002": "有些 filter 只保留圖片中的某些部分"},
      "hw4-filters"),
    C("002-q3-most-accurate", "HW4 Q3", "recall_top", "in the confusion matrix, Happy, "
      "Surprise and Disgust are the classes recognised best",
      {"002": "正確率較高的“Happy”、“Surprise”和“Disgust”"}, "hw4-lime",
      value=("Happy", "Surprise", "Disgust")),
    C("002-q3-mouth-accuracy", "HW4 Q3", "observation", "Happy and Surprise are accurate "
      "because the mouth's shape makes them easy to judge: the classes explained by the mouth "
      "are the better recognised", {"002": "“Happy”和“Surprise”的判斷依據都是嘴巴"},
      "hw4-lime"),
    C("002-q3-eyes-or-mouth", "HW4 Q3", "observation", "almost every image is explained by the "
      "eyes or the mouth", {"002": "幾乎每張圖的表情判斷依據都是眼睛或嘴巴"}, "hw4-lime"),
    C("002-q3-happy", "HW4 Q3", "region", "LIME: Happy is explained by the mouth",
      {"002": "“Happy”和“Surprise”的判斷依據都是嘴巴"}, "hw4-lime", value=("Happy", "mouth")),
    C("002-q3-surprise", "HW4 Q3", "region", "LIME: Surprise is explained by the mouth",
      {"002": "“Happy”和“Surprise”的判斷依據都是嘴巴"}, "hw4-lime",
      value=("Surprise", "mouth")),
    C("002-q3-disgust", "HW4 Q3", "region", "LIME: Disgust is explained by the area near the "
      "mouth", {"002": "“Disgust”的圖的判斷依據是嘴巴附近"}, "hw4-lime",
      value=("Disgust", "mouth")),
    C("002-q4-first", "HW4 Q4", "separation", "t-SNE of the first layer: many points overlap, "
      "the classes cannot be separated", {"002": "在第一層，很多點都重疊，無法分類"},
      "hw4-tsne", value=("first", "not separated")),
    C("002-q4-last", "HW4 Q4", "separation", "t-SNE of the last layer: the points hardly "
      "overlap, the classes' distributions differ slightly but not clearly",
      {"002": "點幾乎沒有重疊，不同類別的分佈略有不同，但不太明顯"}, "hw4-tsne",
      value=("last", "slightly separated")),
    # ---------------------------------------------------------------- report 003
    C("003-q3-only-two", "HW3 Q3", "recall_above", "apart from Happy and Surprise every class "
      "is below 60% correct", {"003": "除了 Happy 跟 Surprise 這兩個類別之外"}, "q3-confusion",
      value=(("Happy", "Surprise"), 0.6)),
    C("003-q4-happy", "HW3 Q4", "region", "Happy: the teeth matter most, then the eyes",
      {"003": "對於分類影響最大的部分為女孩的牙齒,其次為眼睛"},
      "q4-saliency", value=("Happy", "eyes and mouth")),
    C("003-q4-surprise", "HW3 Q4", "region", "Surprise: the open mouth and the raised eyebrows",
      {"003": "張的開開的嘴巴跟豎起的眉毛"}, "q4-saliency", value=("Surprise", "eyes and mouth")),
    C("003-q4-angry", "HW3 Q4", "region", "Angry: the eyes, the open mouth (and the raised "
      "shoulders)", {"003": "對分類影響最大的部分為,眼睛,開 開的嘴巴"}, "q4-saliency",
      value=("Angry", "eyes and mouth")),
    C("003-q6-flatten", "HW3 Q6", "shape", "the deep CNN's last feature map flattens to "
      "18,432 inputs of its first Linear layer (512 x 6 x 6)",
      {"003": "in_features=18432"}, "", "deep_cnn", value=18_432),
    C("003-q6-formula", "HW3 Q6", "observation", "Conv2D output: floor((W + 2P - K) / S) + 1",
      {"003": "n = \\lfloor w + 2P_1 - k_1 \\rfloor + 1"}, "q6-conv-shape"),
    # ---------------------------------------------------------------- report 004
    C("004-q1-params", "HW3 Q1", "params", "the VGG-style CNN has 44,305,991 parameters: "
      "44,272,839 trainable, 33,152 non-trainable", {"004": "Total params: 44,305,991 Trainable params: 44,272,839 Non-trainable params: 33,152"}, "",
      "vgg_leaky", {}, (44_305_991, 44_272_839, 33_152)),
    C("004-q2-params", "HW3 Q2", "params", "the DNN of 51 x Dense(900) has 42,809,407 "
      "parameters: 42,717,607 trainable, 91,800 non-trainable",
      {"004": "Total params: 42,809,407 Trainable params: 42,717,607 Non-trainable params: 91,800"}, "", "dnn_deep51", {},
      (42_809_407, 42_717_607, 91_800)),
    C("004-cnn-beats-dnn", "HW3 Q2", "comparison", "the CNN is much better than the DNN, "
      "although their parameter counts are about the same", {"004": "CNN 的效果比 DNN 好很多"},
      "", value="better", runs=(("vgg_leaky", "vgg_leaky", REPORT),
                                ("dnn_deep51", "dnn_deep51", REPORT))),
    # report 004's per-emotion table: each emotion and what it is most confused with
    *(C(f"004-q3-{a.lower()}", "HW3 Q3", "confusion_row",
        f"{a} is most confused with {' and '.join(b)}" if b else
        f"{a} is not clearly confused with any class", {"004": w}, "q3-confusion",
        value=(a, b))
      for a, b, w in (("Angry", ("Fear",), "Angry Fear"),
                      ("Disgust", ("Angry", "Sad"), "Disgust Angry, Sad"),
                      ("Fear", ("Sad",), "Fear Sad"), ("Sad", ("Fear",), "Sad Fear"),
                      ("Surprise", ("Fear",), "Surprise Fear"),
                      ("Neutral", ("Sad",), "Neutral Sad"),
                      # sic: "Happy" OCRed in Cyrillic letters in the report's text
                      ("Happy", (), "Нарру 不明顯"))),
    C("004-q5-contours", "HW3 Q5", "observation", "the second conv layer's outputs only "
      "extract contours", {"004": "這層 layer 看起來只是擷取圖片的輪廓"}, "q5-filters",
      "vgg_leaky", REPORT, run="vgg_leaky"),
    C("004-q5-no-features", "HW3 Q5", "observation", "500 epochs of gradient ascent show no "
      "particular features", {"004": "並沒有非常特別的特徵出現"}, "q5-filters", "vgg_leaky",
      REPORT, run="vgg_leaky"),
)

BY_ID = {c.id: c for c in CLAIMS}
if len(BY_ID) != len(CLAIMS):
    raise RuntimeError("duplicate claim ids")


def of_kind(kind, section=None):
    """The claims of ``kind`` (and of ``section`` when given), in catalogue order."""
    return tuple(c for c in CLAIMS if c.kind == kind and (section is None or c.section == section))


def reported_params():
    """``{registry model: total parameter count a report gives}``."""
    return {c.model: c.value[0] if isinstance(c.value, tuple) else c.value
            for c in of_kind("params")}
