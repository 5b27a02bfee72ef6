"""HW3 Q1: the CNN - its layer table (or plot_model diagram), training curves and accuracy.

    python examples/hw3_q1_train.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make q1-train    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/q1-train/:
model.png (with Graphviz), curves.png, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Library calls: fer_keras.train.train, fer_keras.train.evaluate.layer_table, fer_keras.train.evaluate.plot_model_diagram.
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("q1-train", ctx)
print(section.answer_text)
