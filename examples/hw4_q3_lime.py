"""HW4 Q3: LIME superpixel explanations for one image per class, related to each class's recall.

    python examples/hw4_q3_lime.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make hw4-lime    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/hw4-lime/:
lime_<row>.png, lime.json, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Analysis: fer_keras.analyses.lime.run (fer_keras.explain.lime_explanation, fer_keras.plotting.lime_panels).
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("hw4-lime", ctx)
print(section.answer_text)
