"""HW3 Q6 (report 003): out = floor((W + 2P - K) / S) + 1, checked against every conv and pooling
layer of the CNN and of report 003's deep CNN.

    python examples/hw3_q6_conv_shape.py [--data synthetic|PATH] [--model small_cnn] [--epochs 10] [--out out]
    make q6-conv-shape    # the same, with file dependencies

Trains the model it needs into OUT/runs/ on first use (or reuses it), then writes
OUT/q6-conv-shape/:
(tables only), numbers.json (every number measured), answer.md (the answer, written from those
numbers) and config.json. Library calls: fer_keras.models.shapes.conv2d_output_shape, fer_keras.models.shapes.layer_shape_rows.
"""
from fer_keras import report
from fer_keras.cli.report import example_context

ctx = example_context(__doc__)
section = report.run_question("q6-conv-shape", ctx)
print(section.answer_text)
