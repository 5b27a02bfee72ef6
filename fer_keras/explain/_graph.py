"""The model as one traced graph (:class:`Graph`): every leaf layer called once on a symbolic
input, nested models opened, recording each layer's output, the pre-softmax class score and the
layers it depends on; :meth:`Graph.run` replays the trace on a real batch with hooks. See
:mod:`fer_keras.explain._core` (which re-exports ``Graph`` and ``layer_stack``) for why it works
this way."""
from __future__ import annotations

import keras

from fer_keras.errors import FerInputError

_SOFTMAX_OPS = ("Softmax",)


def _is_model(op):
    return isinstance(op, keras.Model) and (isinstance(op, keras.Sequential)
                                            or hasattr(op, "_run_through_graph"))


def layer_stack(model):
    """The model's leaf layers (nested models opened), in order, input layers left out."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if getattr(layer, "layers", None) is not None and isinstance(layer, keras.Model):
            out += layer_stack(layer)
        else:
            out.append(layer)
    return out


class _Call:
    __slots__ = ("op", "name", "inputs", "output")

    def __init__(self, op, name, inputs, output):
        self.op, self.name, self.inputs, self.output = op, name, inputs, output

    @property
    def kind(self):
        return type(self.op).__name__


def _tensors(args):
    return [t for t in keras.tree.flatten(args) if hasattr(t, "shape") and hasattr(t, "dtype")]


def _trace(model, inputs, calls, hooks, prefix, seen):
    """Call ``model``'s leaf operations on ``inputs`` (symbolic), nested models opened; every
    call is appended to ``calls``; ``hooks[name](output)`` replaces a layer's output."""

    def wrap(op):
        if _is_model(op):
            return lambda *a, **k: _trace(op, a[0] if len(a) == 1 else list(a), calls, hooks,
                                          f"{prefix}{op.name}/", seen)

        def call(*a, **k):
            out = op(*a, **k)
            name = op.name
            if isinstance(op, keras.layers.Layer):
                if name in seen and seen[name] is not op:
                    name = f"{prefix}{name}"
                seen.setdefault(name, op)
                if name in hooks:
                    out = hooks[name](out)
            calls.append(_Call(op, name, _tensors((a, k)), out))
            return out

        return call

    if isinstance(model, keras.Sequential):
        x = inputs
        for layer in model.layers:
            if not isinstance(layer, keras.layers.InputLayer):
                x = wrap(layer)(x)
        return x
    if not hasattr(model, "_run_through_graph"):
        raise FerInputError(
            f"model {model.name!r} is a subclassed keras.Model ({type(model).__name__}), whose "
            "layers cannot be traced; explanations need a functional or Sequential model "
            "(rebuild it with keras.Input and the same layers)")
    # as Functional.call does: a model saved with its outputs as a list of one (every
    # functional Keras 2 file) gives that one tensor
    return _single(model._run_through_graph(inputs, operation_fn=wrap))


def _single(out):
    if isinstance(out, (list, tuple)) and len(out) == 1:
        return out[0]
    if isinstance(out, dict) and len(out) == 1:
        return next(iter(out.values()))
    return out


def _softmax_activation(op):
    act = getattr(op, "activation", None)
    return act is not None and getattr(act, "__name__", "") == "softmax"


def _linear_copy(layer):
    """``layer`` (a Dense or Conv with a fused softmax) rebuilt with a linear activation and a
    copy of its weights (tf-keras-vis's ``ReplaceToLinear``)."""
    config = dict(layer.get_config(), activation="linear", name=f"{layer.name}_linear")
    lin = type(layer).from_config(config)
    lin.build(layer.input.shape if _has_input(layer) else None)
    lin.set_weights(layer.get_weights())
    return lin


def _has_input(layer):
    try:
        layer.input  # noqa: B018
        return True
    except (AttributeError, ValueError):
        return False


class Graph:
    """``model`` traced once on a symbolic ``(H, W, C)`` input (see the module docstring).

    Attributes: ``names`` (leaf layer names in call order), ``calls`` (name -> the call),
    ``score`` (the symbolic pre-softmax class score ``(N, K)``), ``score_layer`` (name of the
    layer that gives it), ``score_source`` (which score was used, in words), ``depends``
    (names of the layers the score depends on).
    """

    def __init__(self, model, shape, hooks=None):
        self.model = model
        self.input = keras.Input(tuple(shape), name="image")
        calls = []
        out = _trace(model, self.input, calls, hooks or {}, "", {})
        if isinstance(out, (list, tuple, dict)):
            raise FerInputError(f"model {model.name!r} has {len(out)} outputs; a classifier has "
                                "one")
        self.all_calls = calls
        self._n_calls = len(calls)
        layers_ = [c for c in calls if isinstance(c.op, keras.layers.Layer)]
        self.calls = {c.name: c for c in layers_}
        self.names = list(dict.fromkeys(c.name for c in layers_))
        producer = {id(c.output): c for c in calls}
        last = producer.get(id(out))
        self.score, self.score_layer = out, last.name if last is not None else None
        self.score_source = "the model's output (no final softmax: taken as logits)"
        # how run() finds the score among a real run's calls: the output, the input of call
        # number _last, or that input through the linear copy
        self._score_how, self._last, self._linear = "output", None, None
        if last is not None and (last.kind in _SOFTMAX_OPS or (
                last.kind == "Activation" and _softmax_activation(last.op))):
            self.score = last.inputs[0]
            before = producer.get(id(self.score))
            self.score_layer = before.name if before is not None else None
            self.score_source = f"the input of the final softmax {last.name!r}"
            self._score_how, self._last = "input", calls.index(last)
        elif last is not None and _softmax_activation(last.op):
            self._linear = _linear_copy(last.op)
            self.score = self._linear(last.inputs[0])
            self.score_source = (f"layer {last.name!r} rebuilt with a linear activation (its "
                                 "softmax is fused)")
            self._score_how, self._last = "linear", calls.index(last)
        # the layers the score depends on: one backward pass over the calls (topological order)
        need, self.depends = {id(self.score)}, set()
        if last is not None and self.score is not out:
            need |= {id(t) for t in last.inputs}
        for c in reversed(calls):
            if id(c.output) in need:
                need |= {id(t) for t in c.inputs}
                if isinstance(c.op, keras.layers.Layer):
                    self.depends.add(c.name)
        self.hidden = None
        sc = self.calls.get(self.score_layer)
        if sc is not None and sc.inputs:
            before = producer.get(id(sc.inputs[0]))
            if before is not None and isinstance(before.op, keras.layers.Layer):
                self.hidden = before.name

    def output_shape(self, name):
        return tuple(int(d) if d is not None else -1 for d in self.calls[name].output.shape[1:])

    def run(self, x, names=(), score=False, hooks=None):
        """The outputs of layers ``names`` (and the class score) for a real batch ``x`` (the
        model's input, ``(N, H, W, C)``), as a list: the model's trace run again on ``x``, with
        ``hooks[name](output)`` replacing a layer's output on the way (what Grad-CAM uses)."""
        calls = []
        out = _trace(self.model, x, calls, hooks or {}, "", {})
        if len(calls) != self._n_calls:  # a graph that does not call its layers the same way
            raise FerInputError(f"model {self.model.name!r} runs differently from its trace "
                                f"({len(calls)} calls, traced {self._n_calls})")
        by_name = {c.name: c.output for c in calls if isinstance(c.op, keras.layers.Layer)}
        outs = [by_name[n] for n in names]
        if score:
            if self._score_how == "output":
                outs.append(out)
            elif self._score_how == "input":
                outs.append(calls[self._last].inputs[0])
            else:
                outs.append(self._linear(calls[self._last].inputs[0]))
        return outs

    def submodel(self, names, score=False):
        """A function ``f(x, training=False)`` giving the outputs of layers ``names`` (and the
        class score, last), one tensor when one is asked for (see :meth:`run`)."""

        def f(x, training=False):
            outs = self.run(x, names, score)
            return outs if len(outs) > 1 else outs[0]

        return f

