"""Every verdict kind: a case that passes and a model-free control that fails; every sentence
made from numbers: fed the opposite case, it says the opposite."""
from __future__ import annotations

import numpy as np
import pytest

from fer_keras import CLASS_NAMES
from fer_keras.analyses import filters, regions
from fer_keras.explain import controls
from fer_keras.report import rules

K = len(CLASS_NAMES)
IDX = {c: i for i, c in enumerate(CLASS_NAMES)}
SIZES = np.array([467, 56, 496, 895, 653, 415, 607])  # FER2013 PublicTest per class


def _model_like(seed=0):
    """(labels, predictions) of a structured classifier: Surprise and Happy well recognised,
    Sad worst, Sad and Surprise often called Fear, Disgust called Angry, Disgust rarely given."""
    rng = np.random.default_rng(seed)
    recall = dict(Angry=0.5, Disgust=0.45, Fear=0.45, Happy=0.78, Sad=0.35, Surprise=0.82,
                  Neutral=0.55)
    wrong = {"Angry": "Sad", "Disgust": "Angry", "Fear": "Sad", "Happy": "Neutral",
             "Sad": "Fear", "Surprise": "Fear", "Neutral": None}
    y, p = [], []
    for c, n in zip(CLASS_NAMES, SIZES):
        for _ in range(n):
            u = rng.random()
            if u < recall[c]:
                q = c
            elif wrong[c] and u < recall[c] + (1 - recall[c]) * (0.9 if c == "Surprise" else 0.5):
                q = wrong[c]
            else:
                q = rng.choice([k for k in CLASS_NAMES if k not in (c, "Disgust", "Fear")])
            y.append(IDX[c])
            p.append(IDX[q])
    return np.array(y), np.array(p)


def _cm(y, p):
    cm = np.zeros((K, K), np.int64)
    np.add.at(cm, (y, p), 1)
    return cm


@pytest.fixture(scope="module")
def model_cm():
    return _cm(*_model_like())


@pytest.fixture(scope="module")
def shuffled_cm():
    y, p = _model_like()
    return _cm(np.random.default_rng(1).permutation(y), p)


# ---------------------------------------------------------------- accuracy, params
def test_accuracy_passes_within_two_se_and_a_majority_predictor_fails():
    assert rules.accuracy(0.575, 0.58, 3589).ok
    assert not rules.accuracy(0.55, 0.58, 3589).ok  # 3 points, SE 0.8
    majority = SIZES.max() / SIZES.sum()  # always "Happy"
    v = rules.accuracy(majority, 0.58, int(SIZES.sum()))
    assert not v.ok and "below" in v.why


def test_params_within_one_percent_and_another_models_count_fails():
    from fer_keras import models
    from fer_keras.report import claims

    claim = claims.BY_ID["001-q2-params"]
    assert rules.params(int(models.build("dnn_001").count_params()), claim.value).ok
    assert not rules.params(int(models.build("simple_cnn3").count_params()), claim.value).ok
    assert not rules.params(int(claim.value * 1.02), claim.value).ok


# ---------------------------------------------------------------- confusion matrix kinds
PAIRS = [("Sad", "Fear"), ("Surprise", "Fear"), ("Disgust", "Angry"), ("Angry", "Sad")]


def test_confusion_pairs_of_the_model_pass_and_shuffled_labels_fail(model_cm, shuffled_cm):
    for a, b in PAIRS:
        assert rules.confusion_pair(model_cm, a, b).ok, (a, b)
        assert not rules.confusion_pair(shuffled_cm, a, b).ok, (a, b)
    # a pair the model does not make
    assert not rules.confusion_pair(model_cm, "Happy", "Angry").ok


def test_a_pair_that_is_frequent_only_because_the_model_says_b_often_fails():
    """Every class goes 30% to Fear: large shares, but no more than chance gives."""
    cm = np.full((K, K), 10)
    cm[:, IDX["Fear"]] = 60
    np.fill_diagonal(cm, 100)
    assert not rules.confusion_pair(cm, "Sad", "Fear").ok


def test_confusion_none(model_cm):
    assert rules.confusion_none(model_cm, "Happy").ok  # 9% to Neutral: not among the largest
    assert not rules.confusion_none(model_cm, "Sad").ok
    cm = model_cm.copy()
    h, n = IDX["Happy"], IDX["Neutral"]
    cm[h, n] += 400  # Happy -> Neutral now the largest confusion
    assert not rules.confusion_none(cm, "Happy").ok


def test_rarely_predicted_and_a_uniform_guesser_fails(model_cm):
    assert rules.rarely_predicted(model_cm, "Disgust").ok
    y = np.repeat(np.arange(K), SIZES)
    guess = np.random.default_rng(2).integers(0, K, len(y))
    assert not rules.rarely_predicted(_cm(y, guess), "Disgust").ok


def test_most_predicted_and_a_majority_predictor_fails(model_cm):
    assert rules.most_predicted(model_cm, "Fear").ok or rules.most_predicted(model_cm, "Sad").ok
    y = np.repeat(np.arange(K), SIZES)
    assert not rules.most_predicted(_cm(y, np.full(len(y), IDX["Happy"])), "Fear").ok


def test_recall_claims_of_the_model_pass_and_shuffled_labels_fail(model_cm, shuffled_cm):
    assert rules.recall_best(model_cm, "Surprise").ok
    assert rules.recall_worst(model_cm, "Sad").ok
    assert rules.recall_not_worst(model_cm, "Disgust").ok
    assert rules.recall_above(model_cm, ("Happy", "Surprise"), 0.6).ok
    assert not rules.recall_best(model_cm, "Sad").ok
    assert not rules.recall_worst(model_cm, "Surprise").ok
    assert not rules.recall_above(model_cm, ("Happy",), 0.6).ok
    for fn, arg in ((rules.recall_best, "Surprise"), (rules.recall_worst, "Sad"),
                    (rules.recall_not_worst, "Disgust")):
        assert not fn(shuffled_cm, arg).ok, fn.__name__
    assert not rules.recall_above(shuffled_cm, ("Happy", "Surprise"), 0.6).ok


def test_a_failed_recall_or_most_predicted_verdict_names_whose_chance_and_z_it_gives(model_cm):
    """The published report said "lowest: Fear 26.8%; chance 25.3%, z = 18.5" where the chance
    and z were Sad's (the claimed class), not Fear's; each number now names its class."""
    v = rules.recall_worst(model_cm, "Surprise")  # Surprise is not the worst here
    assert not v.ok
    lowest = v.why.split(";")[0]
    assert lowest.startswith("lowest: ") and "Surprise" not in lowest
    assert "Surprise: chance " in v.why
    v = rules.recall_best(model_cm, "Sad")
    assert not v.ok and "Sad: chance " in v.why and "Sad" not in v.why.split(";")[0]
    assert "Disgust: chance " in rules.recall_not_worst(model_cm, "Disgust").why
    v = rules.most_predicted(model_cm, "Happy")
    assert not v.ok and "Happy: z = " in v.why


# ---------------------------------------------------------------- regions
def _blob(rows, cols, n=24, seed=0):
    m = np.random.default_rng(seed).random((n, 48, 48)) * 0.2
    m[:, rows, cols] += 1.0
    return m


def test_region_answers_are_distinct_and_each_claim_matches_only_its_own():
    mouth = regions.answer_of_maps(_blob(slice(31, 42), slice(14, 34)))["answer"]
    eyes = regions.answer_of_maps(_blob(slice(10, 20), slice(8, 40)))["answer"]
    face = np.zeros((24, 48, 48))
    face[:, regions.FACE[0], regions.FACE[1]] = 1 + 0.1 * np.random.default_rng(1).random(
        (24, 43, 38))
    whole = regions.answer_of_maps(face)["answer"]
    # both regions as much above the centre prior's shares (which lean to the eyes region,
    # where the image centre is)
    both = _blob(slice(9, 18), slice(8, 40))
    both[:, 9:18, 8:40] += 0.8
    both[:, 31:44, 12:36] += 1.0
    em = regions.answer_of_maps(both)["answer"]
    assert (mouth, eyes, whole, em) == ("mouth", "eyes", "whole face", "eyes and mouth")
    for claimed in regions.ANSWERS:
        for measured in (mouth, eyes, whole, em, "none"):
            assert rules.region(measured, claimed).ok == (measured == claimed)


@pytest.mark.parametrize("control", ["centre", "random", "smooth random", "edge"])
def test_model_free_maps_reproduce_no_region_claim(control):
    from fer_keras.report.claims import of_kind

    faces = np.random.default_rng(3).random((32, 48, 48, 1)).astype(np.float32)
    maps = controls.control_maps(faces, seed=4, names=(control,))[control]
    got = regions.answer_of_maps(maps)["answer"]
    assert got == "none"
    for c in of_kind("region"):
        assert not rules.region(got, c.value[1]).ok


def test_a_single_image_is_judged_by_its_ratio_alone():
    one = _blob(slice(31, 42), slice(14, 34), n=1)
    assert regions.answer_of_maps(one)["answer"] == "mouth"
    assert regions.answer_of_maps(controls.centre_prior(1))["answer"] == "none"


# ---------------------------------------------------------------- separation
def _clusters(spread, n=210, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    centres = np.stack([np.cos(2 * np.pi * np.arange(K) / K),
                        np.sin(2 * np.pi * np.arange(K) / K)], 1) * 10
    return centres[y] + rng.normal(0, spread, (n, 2)), y


def test_separation_levels_and_shuffled_labels_never_separate():
    from fer_keras.analyses.tsne import shuffled_silhouettes
    from fer_keras.explain.tsne import silhouette

    for spread, want in ((1.0, "separated"), (4.0, "partly separated")):
        pts, y = _clusters(spread)
        s, sh = silhouette(pts, y), np.quantile(shuffled_silhouettes(pts, y), 0.95)
        assert rules.separation(s, sh, want).ok, (spread, s)
        ys = np.random.default_rng(5).permutation(y)
        s2 = silhouette(pts, ys)
        assert rules.separation_level(s2, np.quantile(shuffled_silhouettes(pts, ys), 0.95)) \
            == "not separated"
    assert rules.separation_level(-0.14, -0.3) == "not separated"
    assert rules.separation_level(0.0, -1.0) == "not separated"
    assert rules.separation_level(0.3, 0.35) == "not separated"  # not above the control


# ---------------------------------------------------------------- ascent grids
def _stripes(angles, freqs, phase):
    yy, xx = np.mgrid[:20, :20]
    return np.stack([0.5 + 0.4 * np.sin(2 * np.pi * f * (np.cos(t) * xx + np.sin(t) * yy)
                                         + phase) for t, f in zip(angles, freqs)])


def test_a_shifted_grid_is_similar_and_a_grid_of_other_textures_is_not():
    rng = np.random.default_rng(0)
    ang, fr = rng.uniform(0, np.pi, 16), rng.uniform(0.08, 0.3, 16)
    a = _stripes(ang, fr, 0.0)
    shifted = np.roll(np.roll(a, 3, axis=2), 5, axis=1)
    other = _stripes(rng.uniform(0, np.pi, 16), rng.uniform(0.08, 0.3, 16), 1.0)
    same = filters.grid_similarity(a, shifted)
    assert same["similar"] and rules.visual_similarity(same, True).ok
    # the pixel correlation of the same stripes shifted is far from 1
    assert np.mean([filters.correlation(x, y) for x, y in zip(a, shifted)]) < 0.5
    diff = filters.grid_similarity(a, other)
    assert not diff["similar"] and not rules.visual_similarity(diff, True).ok
    assert rules.visual_similarity(diff, False).ok


def test_tiles_that_stayed_noise_are_counted_and_not_compared():
    rng = np.random.default_rng(1)
    a = _stripes(rng.uniform(0, np.pi, 8), rng.uniform(0.1, 0.3, 8), 0.0)
    b = a.copy()
    b[:3] = rng.random((3, 20, 20))
    g = filters.grid_similarity(a, b)
    assert sum(g["noise_b"]) == 3 and sum(g["noise_a"]) == 0 and g["compared"] == 5
    noise = filters.grid_similarity(rng.random((8, 20, 20)), rng.random((8, 20, 20)))
    assert noise["compared"] == 0 and not rules.visual_similarity(noise, True).ok


# ---------------------------------------------------------------- sentences
def test_ascent_sentence_says_alike_or_different_and_counts_the_noise_tiles():
    from fer_keras.report.questions._filters import similarity_sentence

    base = {"filters": 64, "noise_vs_image": {"noise_tiles_noise_start": 18,
                                              "noise_tiles_image_start": 2, "compared": 44,
                                              "alike": 30, "chance_share_alike": 0.1,
                                              "similar": True}}
    yes = similarity_sentence(base)
    assert "Of the 64 filters, the ascent from noise left 18 tiles as plain noise" in yes
    assert "from the face left 2 patterns" in yes and "much the same textures" in yes
    no = similarity_sentence({**base, "noise_vs_image": {**base["noise_vs_image"],
                                                         "alike": 5, "similar": False}})
    assert "other textures" in no and "much the same" not in no
    none = similarity_sentence({**base, "noise_vs_image": {**base["noise_vs_image"],
                                                           "compared": 0}})
    assert "cannot be compared" in none
    clean = similarity_sentence({**base, "noise_vs_image": {**base["noise_vs_image"],
                                                            "noise_tiles_noise_start": 0,
                                                            "noise_tiles_image_start": 0}})
    assert "left no tile as plain noise" in clean and "no pattern added to the face" in clean
    assert "a pattern for every filter" in clean and "no pattern for those" not in clean
    assert "0 " not in clean.split("Comparing")[0]
    one = similarity_sentence({**base, "noise_vs_image": {**base["noise_vs_image"],
                                                          "noise_tiles_noise_start": 1,
                                                          "noise_tiles_image_start": 1}})
    assert "left 1 tile as plain noise" in one and "left 1 pattern added to the face" in one


def test_filter_outputs_sentence_agrees_with_each_count():
    from fer_keras.report.questions._filters import filters_text

    class Sec:
        def __init__(self):
            self.lines = []

        def text(self, s):
            self.lines.append(s)

    run = {"ascent": {"start_activation": 0.1, "final_activation": 0.5, "share_increased": 0.8}}
    num = {"filters": 32, "layer": "relu2", "steps": 200, "noise": run["ascent"],
           "image": run["ascent"],
           "noise_vs_image": {"noise_tiles_noise_start": 6, "noise_tiles_image_start": 0,
                              "compared": 26, "alike": 22, "chance_share_alike": 0.12,
                              "similar": True}}
    one = Sec()
    filters_text(one, {**num, "feature_maps": {"channels": 32, "shape": (44, 44), "dead": 1,
                                               "keep_face": 1, "invert_face": 1, "other": 29}},
                 "image #307")
    assert ("1 reproduces the face" in one.lines[-1] and "1 inverts it" in one.lines[-1]
            and "29 keep only" in one.lines[-1] and "1 is silent" in one.lines[-1])
    many = Sec()
    filters_text(many, {**num, "feature_maps": {"channels": 32, "shape": (44, 44), "dead": 0,
                                                "keep_face": 2, "invert_face": 3, "other": 27}},
                 "image #307")
    assert ("2 reproduce the face" in many.lines[-1] and "3 invert it" in many.lines[-1]
            and "0 are silent" in many.lines[-1])


def test_tsne_sentence_never_calls_negative_silhouettes_separated():
    from fer_keras.report.questions.hw4_tsne import separation_sentence

    neg = separation_sentence({"level": "not separated", "silhouette": -0.26},
                              {"level": "not separated", "silhouette": -0.14,
                               "silhouette_shuffled_95": -0.18})
    assert "separates them better" not in neg and "not separated" in neg
    assert "-0.14, is at or below 0" in neg and "not above the shuffled" not in neg
    assert "group them more than shuffled labels do (-0.14 against -0.18, up from -0.26" in neg
    chance = separation_sentence({"level": "not separated", "silhouette": -0.26},
                                 {"level": "not separated", "silhouette": 0.05,
                                  "silhouette_shuffled_95": 0.08})
    assert "not above the shuffled-label control's 0.08" in chance
    assert "at or below 0" not in chance and "group them more" not in chance
    pos = separation_sentence({"level": "not separated", "silhouette": -0.1},
                              {"level": "partly separated", "silhouette": 0.12})
    assert "separates them better, as report 002 found" in pos


def test_lime_sentences_name_each_class_with_its_own_answer():
    from fer_keras.report.questions.hw4_lime import class_sentence, mouth_sentence

    stats = {c: {"recall": r, "focus": f} for c, r, f in (
        ("Happy", 0.8, "mouth"), ("Surprise", 0.75, "eyes"), ("Neutral", 0.6, "eyes and mouth"),
        ("Angry", 0.5, "none"), ("Sad", 0.4, "eyes"), ("Fear", 0.3, "eyes and mouth"))}
    order = sorted(stats, key=lambda c: -stats[c]["recall"])
    s = class_sentence(stats, order)
    assert "Happy (80.0%: mouth)" in s and "Fear (30.0%: eyes and mouth)" in s
    assert "eyes and eyes" not in s
    up, _ = mouth_sentence(stats, order)
    assert "goes with a higher recall" in up
    stats["Happy"]["recall"] = 0.1
    down, _ = mouth_sentence(stats, sorted(stats, key=lambda c: -stats[c]["recall"]))
    assert "does not go with a higher recall" in down
    for c in stats:
        stats[c]["focus"] = "eyes"
    assert mouth_sentence(stats, order)[0] is None


def test_confusion_sentences_follow_the_verdicts():
    from fer_keras.report.questions.q3_confusion import labels_sentence, pairs_sentence

    r = {"true": "Sad", "predicted": "Fear", "share": 0.2, "report": "001"}
    assert "are reproduced" not in pairs_sentence([{**r, "reproduced": False}])
    assert "is reproduced here" in pairs_sentence([{**r, "reproduced": True}])
    two = pairs_sentence([{**r, "reproduced": True}, {**r, "report": "004", "reproduced": True},
                          {**r, "true": "Angry", "share": 0.05, "reproduced": False}])
    assert "Sad -> Fear (20.0%, reports 001 and 004) is reproduced here" in two
    assert "Angry -> Fear (5.0%, report 001) is not" in two and two.count("Sad -> Fear") == 1
    share = np.full(K, 1 / K)
    assert "the fewest of any label" in labels_sentence(1568, share, "Fear", True, True)
    assert "Of the 1,568 errors" in labels_sentence(1568, share, "Fear", True, True)
    s = labels_sentence(100, share, "Happy", False, False)
    assert "not the fewest" in s and "is not what we measure" in s


def test_region_sentence_says_no_region_for_none():
    from fer_keras.report.questions.hw4_saliency import answer_words

    assert "no region" in answer_words("none")
    assert "**mouth**" in answer_words("mouth")


def test_textures_sentence_follows_the_share_of_alike_filter_pairs():
    from fer_keras.report.questions._filters import textures_sentence

    assert "a texture of its own" in textures_sentence(
        {"noise_vs_image": {"within_a_share_alike": 0.1}})
    assert "the same texture" in textures_sentence(
        {"noise_vs_image": {"within_a_share_alike": 0.8}})
    assert "not shown" in textures_sentence({"noise_vs_image": {"within_a_share_alike":
                                                                 float("nan")}})
