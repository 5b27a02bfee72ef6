"""HW3 Q2: a DNN with the CNN's parameter count (matched_dnn), trained the same way; parameters,
accuracies and the train/validation gap of both.

    python examples/hw3_q2_dnn.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make q2-dnn    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/q2-dnn/:
cnn_vs_dnn.png, dnn_curves.png, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Library calls: fer_keras.models.matched_dnn, fer_keras.train.train, fer_keras.plotting.model_comparison.
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("q2-dnn", ctx)
print(section.answer_text)
