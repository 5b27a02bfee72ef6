"""HW3 Q5: gradient ascent on the filters of the last conv layer (after its ReLU), from white noise and from a
face, and that layer's filter outputs (feature maps) for the face.

    python examples/hw3_q5_filters.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make q5-filters    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/q5-filters/:
ascent_<layer>_noise.png, ascent_<layer>_image.png, features_<layer>.png, filters.json, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Analysis: fer_keras.analyses.filters.run (fer_keras.explain.filter_ascent, fer_keras.explain.feature_maps, fer_keras.plotting.filter_grid).
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("q5-filters", ctx)
print(section.answer_text)
