"""The questions of the reports (REPORTS.md): ids in report order, titles and the questions as
the reports ask them (what the reports claim is in :mod:`fer_keras.report.claims`)."""
from __future__ import annotations

#: Question ids in report order, with their titles (also the Makefile targets); the module
#: answering each is listed in :data:`fer_keras.report.questions.MODULES`.
QUESTION_TITLES = {
    "q1-train": "HW3 Q1. The CNN: architecture, training, accuracy",
    "q2-dnn": "HW3 Q2. A DNN with about as many parameters as the CNN",
    "q3-confusion": "HW3 Q3. Which classes get confused: the confusion matrix",
    "q4-saliency": "HW3 Q4. Saliency maps: where does the CNN look?",
    "q5-filters": "HW3 Q5. Gradient ascent: what activates the filters",
    "q6-conv-shape": "HW3 Q6 (report 003). The output shape of Conv2D",
    "bonus-semi": "HW3 bonus. Semi-supervised learning: self-training and FixMatch",
    "hw4-saliency": "HW4 Q1. Saliency maps of several classes",
    "hw4-filters": "HW4 Q2. Filters of the first activation layer and their outputs",
    "hw4-lime": "HW4 Q3. LIME: superpixels that explain each class",
    "hw4-tsne": "HW4 Q4. t-SNE of the first and the last layer",
}
QUESTIONS = tuple(QUESTION_TITLES)

#: The questions as the reports ask them (REPORTS.md), shown above each answer.
QUESTION_TEXT = {
    "q1-train": "Describe the CNN: its architecture (layers, dimensions, connections), the "
                "training process and its accuracy (reports 000, 001, 003, 004).",
    "q2-dnn": "Build a DNN with about the same number of parameters as the CNN; describe its "
              "architecture, training and accuracy, and compare it with the CNN.",
    "q3-confusion": "Draw the confusion matrix on a validation set and analyse which classes "
                    "are easily confused.",
    "q4-saliency": "Draw saliency maps of the CNN: which parts of the image does the model focus "
                   "on when it classifies?",
    "q5-filters": "With gradient ascent, find which images maximally activate the filters of a "
                  "chosen layer, starting from white noise and from a real image; show that "
                  "layer's filter outputs for one image.",
    "q6-conv-shape": "Derive the output shape of a Conv2D layer with input (B, W, H, C), "
                     "kernel (k1, k2), stride (s1, s2) and padding (p1, p2).",
    "bonus-semi": "Remove part of the training labels and learn from the rest plus the "
                  "unlabeled images (semi-supervised learning); compare with supervised only.",
    "hw4-saliency": "Draw saliency maps for several classes and discuss where the model looks.",
    "hw4-filters": "Use gradient ascent on the filters of the first activation layer and show "
                   "that layer's filter outputs for one image (#307).",
    "hw4-lime": "Explain each class with LIME (superpixels) and relate the explanations to the "
                "confusion matrix: why does the model do well on some labels?",
    "hw4-tsne": "Free choice: t-SNE of the outputs of the first and the last layer for about "
                "200 images, coloured by class: are the classes separated?",
}

#: Seconds that a report run took on the reference machine (2-core x86 CPU, no GPU, TF 2.21,
#: Keras 3.15; RESULTS.md, "The real-data report"), per profile: ``questions`` without the
#: training of the CNN and the DNN, ``epoch`` per epoch of that training on FER2013's 28,709
#: (quick: 2,400 synthetic) training images. Used only for the estimate printed at the start,
#: which is an upper bound when OUT holds earlier work (trained runs are not counted; a stored
#: semi-supervised comparison with the same settings is reused but counted).
REFERENCE_SECONDS = {
    "full": {"epoch": {"small_cnn": 66.7, "dnn_matched_small_cnn": 9.3},
             "questions": {"q1-train": 4.0, "q2-dnn": 16.0, "q3-confusion": 0.5,
                           "q4-saliency": 583.0, "q5-filters": 29.0, "q6-conv-shape": 0.2,
                           "bonus-semi": 1463.0, "hw4-saliency": 5.4, "hw4-filters": 12.0,
                           "hw4-lime": 52.0, "hw4-tsne": 2.4}},
    "quick": {"epoch": {"small_cnn": 3.5, "dnn_matched_small_cnn": 1.0},
              "questions": {"q1-train": 2.0, "q2-dnn": 1.0, "q4-saliency": 43.0,
                            "q5-filters": 8.4, "bonus-semi": 150.0, "hw4-saliency": 1.0,
                            "hw4-filters": 7.5, "hw4-lime": 12.0, "hw4-tsne": 2.3}},
}
