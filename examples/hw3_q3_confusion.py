"""HW3 Q3: the row-normalised confusion matrix on the validation split, with and without its
diagonal, and the most confused pairs read from it.

    python examples/hw3_q3_confusion.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make q3-confusion    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/q3-confusion/:
confusion.png, confusion_no_diagonal.png, confusion.json, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Analysis: fer_keras.analyses.confusion.run (fer_keras.train.evaluate.metrics, fer_keras.plotting.confusion_matrix).
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("q3-confusion", ctx)
print(section.answer_text)
