"""HW4 Q1: saliency maps for Happy, Sad, Surprise and Neutral, compared with what report 002 saw
(mouth, eyes, open mouth, whole face); read off the first method that passed every check on the
model, report 002's SmoothGrad when none did.

    python examples/hw4_q1_saliency.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make hw4-saliency    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/hw4-saliency/:
saliency_<method>.png, saliency.json, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Analysis: fer_keras.analyses.saliency.run (fer_keras.explain.saliency_maps).
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("hw4-saliency", ctx)
print(section.answer_text)
