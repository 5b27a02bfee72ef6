"""HW4 Q4: t-SNE of 200 validation images in the first conv layer and in the last hidden layer,
with silhouette scores.

    python examples/hw4_q4_tsne.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make hw4-tsne    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/hw4-tsne/:
tsne_<first layer>.png, tsne_<last layer>.png, tsne.json, numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Analysis: fer_keras.analyses.tsne.run (fer_keras.explain.tsne_embedding, fer_keras.plotting.tsne_scatter).
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("hw4-tsne", ctx)
print(section.answer_text)
