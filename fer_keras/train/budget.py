"""Training within a time budget: how many epochs fit (:func:`estimate_epochs`, a timed burst of
train steps), which model fits (:func:`choose_model` for ``model="auto"``), and the plan that
re-fits the epochs and the schedule to the time left after every epoch (:class:`BudgetPlan`)."""
from __future__ import annotations

import numpy as np

from fer_keras.config import TrainConfig
from fer_keras.train.schedules import WarmupCosine, make_schedule


class BudgetPlan:
    """Keeps a run inside ``cfg.budget_minutes`` of training time on a machine whose speed
    changes (other jobs, thermal limits).

    The run starts with the epochs that :func:`estimate_epochs` fitted. After every epoch the
    plan compares the time left with the median time of the last five epochs (validation and
    checkpoints included): if the planned epochs no longer fit, or if at least two more would, it
    re-plans to what fits, gives the learning-rate schedule that many epochs (same warm-up, same
    peak; the decay is stretched or shortened from where it is, so it still ends near zero), and
    retraces the train step. The run stops when the plan is done or the next epoch would not fit.
    """

    def __init__(self, cfg: TrainConfig, steps_per_epoch, planned, verbose=0):
        self.cfg = cfg
        self.steps = int(steps_per_epoch)
        self.planned = int(planned)
        self.budget_s = cfg.budget_minutes * 60.0
        self.verbose = verbose
        self.cap = self.planned + max(3, self.planned // 4)  # the epochs model.fit is given
        self.replans = []
        self.session_start = None  # epochs done when this process began

    def after_epoch(self, model, done, elapsed, history):
        """Re-plan after epoch ``done`` (1-based); True when the run should stop now."""
        if self.session_start is None:
            self.session_start = done - 1
        if elapsed >= self.budget_s:
            if done < self.planned:
                self._replan(model, done, done, self._per_epoch(history, done, elapsed),
                            elapsed)
            return True
        # a session's first epoch also traces the train step: re-plan from the second one on
        if done - self.session_start >= 2:
            per_epoch = self._per_epoch(history, done, elapsed)
            left = self.planned - done
            fit = min(int((self.budget_s - elapsed) // per_epoch), self.cap - done)
            if fit < left or fit > left + 1:
                self._replan(model, done, done + (fit if fit < left else fit - 1), per_epoch,
                             elapsed)
        return done >= self.planned

    def _per_epoch(self, history, done, elapsed):
        first = self.session_start + 1
        # a resumed run times its recent past across sessions, not its first timed epoch alone
        # (one noisy epoch once cut a 103-epoch plan to 83); run and session each traced the
        # train step in their first epoch
        rows = [r for r in history if r["epoch"] not in (1, first)] or history[-1:]
        # the rows' seconds leave out the checkpoint writes, which elapsed includes
        overhead = max(1.0, elapsed / max(sum(r["seconds"] for r in history), 1e-9))
        return float(np.median([r["seconds"] for r in rows[-5:]])) * overhead

    def _replan(self, model, done, new, per_epoch, elapsed):
        old, self.planned = self.planned, new
        if new == old:
            return
        self.replans.append({"after_epoch": done, "from": old, "to": new,
                             "epoch_seconds": round(per_epoch, 2)})
        if self.verbose:
            print(f"budget: {elapsed / 60:.1f} of {self.cfg.budget_minutes:g} min used at "
                  f"~{per_epoch:.0f} s/epoch -> {new} epochs instead of {old}", flush=True)
        if new <= done:
            return
        start = make_schedule(self.cfg, self.steps)  # cfg.epochs: the plan the run began with
        if isinstance(start, WarmupCosine):
            model.optimizer.learning_rate = make_schedule(
                self.cfg, self.steps, epochs=new, warmup_steps=start.warmup_steps)
            model.make_train_function(force=True)


def estimate_epochs(cfg, splits, budget_minutes, replicas=None):
    """``(epochs, seconds per epoch)``: the epochs that fit ``budget_minutes`` of training here,
    from a fresh timed burst of train steps (:func:`fer_keras.train.throughput.epoch_seconds`;
    on the devices of ``replicas`` when data-parallel, :mod:`fer_keras.train.distribute`)."""
    from fer_keras.train.throughput import epoch_seconds

    per_epoch = epoch_seconds(cfg, splits, replicas, fresh=True)[0]
    return max(1, int(budget_minutes * 60 / per_epoch)), per_epoch


#: ``model="auto"``: the recipe's models, widest first, each with the fewest epochs the budget must
#: give it. Measured with preset best (RESULTS.md, GPU runs in the CPU's time ratio: fer_net
#: trains 2.05x faster than fer_net_large here): at the time of 53 epochs of fer_net_large,
#: fer_net (109 epochs) is as good or better; at 103 epochs fer_net_large wins by 1.1-1.4 points.
AUTO_MODELS = (("fer_net_large", 80), ("fer_net", 0))


def choose_model(cfg, splits, budget_minutes, replicas=None):
    """The model for ``model="auto"``: the first of :data:`AUTO_MODELS` whose timed burst plans at
    least its minimum epochs into ``budget_minutes``. Returns ``(name, epochs, seconds_per_epoch)``."""
    for name, min_epochs in AUTO_MODELS:
        epochs, per_epoch = estimate_epochs(cfg.replace(model=name), splits, budget_minutes,
                                            replicas)
        if epochs >= min_epochs:
            return name, epochs, per_epoch
    return name, epochs, per_epoch
