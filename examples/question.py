"""Answer one question of the reports into OUT/<question>/, as `make <question>` does.

    python examples/question.py QUESTION [--data synthetic|PATH] [--model small_cnn]
                                         [--epochs 10] [--out out]
    make QUESTION    # the same, e.g. make q3-confusion DATA=../shared/data/fer2013

Trains the models the question needs into OUT/runs/ on first use (or reuses them), then writes
OUT/<question>/: the question's figures and JSON, numbers.json (every number measured),
answer.md (the answer, written from those numbers) and config.json. The question's code is
fer_keras/report/questions/<question with underscores>.py (e.g. q3_confusion.py for
q3-confusion); `make report` answers them all in one page.
"""
from fer_keras import report
from fer_keras.cli.report import example_context

question, ctx = example_context(__doc__)
section = report.run_question(question, ctx)
print(section.answer_text)
