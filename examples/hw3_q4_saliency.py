"""HW3 Q4: saliency maps, one panel per class (original, map, masked image), and how much of each
map falls on the eyes and on the mouth; read off the first method that passed every check on the
model (`fer-keras explain checks`), the homework's vanilla gradient when none did.

    python examples/hw3_q4_saliency.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make q4-saliency    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/q4-saliency/:
saliency_<method>.png, checks.json and its figures, saliency.json, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Analysis: fer_keras.analyses.saliency.run (fer_keras.explain.saliency_maps, fer_keras.plotting.saliency_panels).
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("q4-saliency", ctx)
print(section.answer_text)
