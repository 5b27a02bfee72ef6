"""HW3 bonus: semi-supervised learning. Keep 10% / 25% of the training labels; self-training with
confidence-thresholded pseudo-labels vs the same model trained on the labeled images only.

    python examples/hw3_bonus_semi.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make bonus-semi    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/bonus-semi/:
semi.png, semi.json, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Library calls: fer_keras.semi.compare.
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("bonus-semi", ctx)
print(section.answer_text)
