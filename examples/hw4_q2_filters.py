"""HW4 Q2: gradient ascent on the filters of the first activation layer, and that layer's outputs
for validation image #307.

    python examples/hw4_q2_filters.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make hw4-filters    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/hw4-filters/:
ascent_<layer>_noise.png, ascent_<layer>_image.png, features_<layer>.png, filters.json, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Analysis: fer_keras.analyses.filters.run (fer_keras.explain.filter_ascent, fer_keras.explain.feature_maps).
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("hw4-filters", ctx)
print(section.answer_text)
