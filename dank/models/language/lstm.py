"""A stacked LSTM conditioned on a vector, written with ``keras.ops``.

Conditioning (the ``conditioning`` switch) says how a condition vector ``e``
(a template embedding, say) enters the network:

* ``"init"``: the initial state of every layer is computed from ``e``::

      [h0_1, c0_1, ..., h0_L, c0_L] = tanh(e @ W_init + b_init)

* ``"input"``: ``e @ W_in`` (projected to the input size) is added to every
  step's input of the first layer. Because it is the same at every step, its
  contribution to the gates, ``(e @ W_in) @ K_1``, is computed once and carried
  in the state, so a decoding step costs no more than an unconditioned one.
* ``"both"``: both of the above.
* ``"none"``: a plain LSTM (zero initial state unless one is passed in).

Each layer uses fused gate matmuls (one input kernel ``[in, 4u]``, one
recurrent kernel ``[u, 4u]``, gates in Keras order i, f, c, o), so with
``conditioning="none"`` the layer matches ``keras.layers.LSTM`` given the same
weights. The input projection of a whole sequence is one big matmul before the
time loop; only the recurrent matmul runs per step.

Dropout (the paper's keep 0.7 is ``dropout=0.3``) is applied to each layer's
inputs and to the top layer's outputs, during training only. Padded steps
(``mask`` False) keep the previous state and output zeros.
"""

import keras
from keras import ops

CONDITIONINGS = ("none", "init", "input", "both")


def _time_scan(body, carry, xs):
    """``ops.scan`` over time that XLA can also differentiate.

    Keras' TensorFlow ``scan`` runs a ``tf.while_loop`` without
    ``maximum_iterations``, so the gradient's accumulators are lists of unknown
    size, which XLA refuses ("requires a fixed tensor list size"). ``tf.scan``
    bounds the loop by the sequence length, which XLA knows at compile time.

    Returns:
        ``(outputs [T, B, units], h, c)``: the stacked outputs and final state.
    """
    if keras.backend.backend() != "tensorflow":
        (h, c), (outputs, _) = ops.scan(body, carry, xs)
        return outputs, h, c
    import tensorflow as tf

    def step(acc, x):
        (h, c), (out, _) = body(acc[:2], x)
        return h, c, out

    h, c = carry
    hs, cs, outputs = tf.scan(step, xs, initializer=(h, c, ops.zeros_like(h)))
    return outputs, hs[-1], cs[-1]


@keras.saving.register_keras_serializable(package="dank")
class ConditionedLSTM(keras.layers.Layer):
    """A stack of LSTM layers whose state or input is conditioned on a vector.

    Args:
        units: LSTM units per layer (paper: 512).
        num_layers: number of stacked layers.
        conditioning: one of ``CONDITIONINGS`` (see the module docstring).
        condition_dim: size of the condition vector; required unless
            ``conditioning="none"``.
        dropout: rate on layer inputs and on the top layer's outputs.
        init_scale: if > 0, all weights start uniform in ``±init_scale`` (the
            paper's 0.08); else Glorot/orthogonal as in ``keras.layers.LSTM``.
        unit_forget_bias: start the forget-gate bias at 1.
        unroll: unroll the time loop in Python (static lengths; faster for short
            sequences on CPU) instead of ``ops.scan``.
        seed: dropout seed.
    """

    def __init__(
        self,
        units,
        num_layers=1,
        conditioning="none",
        condition_dim=0,
        dropout=0.0,
        init_scale=0.0,
        unit_forget_bias=True,
        unroll=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if conditioning not in CONDITIONINGS:
            raise ValueError(
                f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}"
            )
        if conditioning != "none" and condition_dim <= 0:
            raise ValueError(
                f"conditioning={conditioning!r} needs condition_dim > 0, "
                f"got {condition_dim}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.units = units
        self.num_layers = num_layers
        self.conditioning = conditioning
        self.condition_dim = condition_dim
        self.dropout = dropout
        self.init_scale = init_scale
        self.unit_forget_bias = unit_forget_bias
        self.unroll = unroll
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    @property
    def conditions_init(self):
        return self.conditioning in ("init", "both")

    @property
    def conditions_input(self):
        return self.conditioning in ("input", "both")

    def _initializer(self, default):
        if self.init_scale > 0:
            return keras.initializers.RandomUniform(-self.init_scale, self.init_scale)
        return keras.initializers.get(default)

    def _bias_initializer(self):
        units = self.units

        def init(shape, dtype=None):
            if self.init_scale > 0:
                bias = self._initializer(None)(shape, dtype=dtype)
            else:
                bias = ops.zeros(shape, dtype=dtype)
            if self.unit_forget_bias:
                ones = ops.concatenate(
                    [
                        ops.zeros((units,), dtype),
                        ops.ones((units,), dtype),
                        ops.zeros((2 * units,), dtype),
                    ]
                )
                bias = bias * (1 - ones) + ones
            return bias

        return init

    def build(self, input_shape):
        input_dim = input_shape[-1]
        u = self.units
        self.kernels, self.recurrent_kernels, self.biases = [], [], []
        for layer in range(self.num_layers):
            in_dim = input_dim if layer == 0 else u
            self.kernels.append(
                self.add_weight(
                    (in_dim, 4 * u),
                    self._initializer("glorot_uniform"),
                    name=f"kernel_{layer}",
                )
            )
            self.recurrent_kernels.append(
                self.add_weight(
                    (u, 4 * u),
                    self._initializer("orthogonal"),
                    name=f"recurrent_kernel_{layer}",
                )
            )
            self.biases.append(
                self.add_weight(
                    (4 * u,), self._bias_initializer(), name=f"bias_{layer}"
                )
            )
        if self.conditions_init:
            self.init_kernel = self.add_weight(
                (self.condition_dim, 2 * u * self.num_layers),
                self._initializer("glorot_uniform"),
                name="init_kernel",
            )
            self.init_bias = self.add_weight(
                (2 * u * self.num_layers,), "zeros", name="init_bias"
            )
        if self.conditions_input:
            self.input_kernel = self.add_weight(
                (self.condition_dim, input_dim),
                self._initializer("glorot_uniform"),
                name="input_kernel",
            )

    # -- state ---------------------------------------------------------------

    def state_size(self):
        """Number of tensors in a state tuple (2 per layer, +1 for ``input``)."""
        return 2 * self.num_layers + int(self.conditions_input)

    def initial_state(self, condition=None, batch_size=None):
        """Returns the state tuple before the first step.

        Args:
            condition: float ``[B, condition_dim]``; required when conditioned.
            batch_size: ``B`` when ``condition`` is None.

        Returns:
            ``(h_1, c_1, ..., h_L, c_L)`` each ``[B, units]``, followed for
            ``input`` conditioning by the condition's gate contribution
            ``[B, 4 * units]``.
        """
        if self.conditioning != "none" and condition is None:
            raise ValueError(f"conditioning={self.conditioning!r} needs a condition")
        if self.conditions_init:
            flat = ops.tanh(ops.matmul(condition, self.init_kernel) + self.init_bias)
            state = [
                flat[:, i * self.units : (i + 1) * self.units]
                for i in range(2 * self.num_layers)
            ]
        else:
            if condition is not None:
                batch_size = ops.shape(condition)[0]
            zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
            state = [zeros] * (2 * self.num_layers)
        if self.conditions_input:
            state.append(
                ops.matmul(ops.matmul(condition, self.input_kernel), self.kernels[0])
            )
        return tuple(state)

    # -- computation ---------------------------------------------------------

    def _cell(self, z, h, c, layer):
        """One LSTM update from the input part of the gates ``z``."""
        z = z + ops.matmul(h, self.recurrent_kernels[layer])
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, c

    def step(self, inputs, state):
        """Runs one time step (no dropout): for decoding.

        Args:
            inputs: float ``[B, input_dim]``.
            state: a tuple from ``initial_state`` or a previous ``step``.

        Returns:
            ``(outputs [B, units], new_state)``.
        """
        state = tuple(state)
        new_state = []
        x = inputs
        for layer in range(self.num_layers):
            z = ops.matmul(x, self.kernels[layer]) + self.biases[layer]
            if layer == 0 and self.conditions_input:
                z = z + state[-1]
            x, c = self._cell(z, state[2 * layer], state[2 * layer + 1], layer)
            new_state += [x, c]
        if self.conditions_input:
            new_state.append(state[-1])
        return x, tuple(new_state)

    def _dropout(self, x, training):
        if training and self.dropout > 0:
            return keras.random.dropout(x, self.dropout, seed=self.seed_generator)
        return x

    def _run_layer(self, z, h, c, mask, layer):
        """Runs one layer over time-major gate inputs ``z [T, B, 4u]``."""

        def body(carry, inputs):
            h_prev, c_prev = carry
            if mask is None:
                h_new, c_new = self._cell(inputs, h_prev, c_prev, layer)
                return (h_new, c_new), (h_new, c_new)
            # The mask rides as a last column of z: Keras' TF scan cannot take
            # several sequences of unknown length.
            z_t, m_t = inputs[:, :-1], ops.cast(inputs[:, -1:], "bool")
            h_new, c_new = self._cell(z_t, h_prev, c_prev, layer)
            h_new = ops.where(m_t, h_new, h_prev)
            c_new = ops.where(m_t, c_new, c_prev)
            return (h_new, c_new), (ops.where(m_t, h_new, 0.0), c_new)

        xs = z if mask is None else ops.concatenate([z, ops.cast(mask, z.dtype)], -1)
        if not self.unroll:
            return _time_scan(body, (h, c), xs)
        outputs = []
        for t in range(z.shape[0]):
            (h, c), (out, _) = body((h, c), xs[t])
            outputs.append(out)
        return ops.stack(outputs), h, c

    def call(
        self,
        inputs,
        condition=None,
        mask=None,
        initial_state=None,
        training=None,
        return_state=False,
    ):
        """Runs the stack over a sequence.

        Args:
            inputs: float ``[B, T, input_dim]``.
            condition: float ``[B, condition_dim]`` (ignored if ``initial_state``
                is given, which already holds it).
            mask: bool ``[B, T]``, False at padded steps.
            initial_state: a state tuple; default ``initial_state(condition)``.
            training: apply dropout.
            return_state: also return the final state tuple.

        Returns:
            float ``[B, T, units]``, and the final state if ``return_state``.
        """
        if initial_state is None:
            initial_state = self.initial_state(condition, ops.shape(inputs)[0])
        state = tuple(initial_state)
        if mask is not None:
            mask = ops.expand_dims(ops.transpose(ops.cast(mask, "bool")), -1)
        x = ops.transpose(inputs, (1, 0, 2))  # Time-major for the loop.
        final = []
        for layer in range(self.num_layers):
            x = self._dropout(x, training)
            z = ops.matmul(x, self.kernels[layer]) + self.biases[layer]
            if layer == 0 and self.conditions_input:
                z = z + state[-1]
            x, h, c = self._run_layer(
                z, state[2 * layer], state[2 * layer + 1], mask, layer
            )
            final += [h, c]
        if self.conditions_input:
            final.append(state[-1])
        outputs = self._dropout(ops.transpose(x, (1, 0, 2)), training)
        if return_state:
            return outputs, tuple(final)
        return outputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            num_layers=self.num_layers,
            conditioning=self.conditioning,
            condition_dim=self.condition_dim,
            dropout=self.dropout,
            init_scale=self.init_scale,
            unit_forget_bias=self.unit_forget_bias,
            unroll=self.unroll,
            seed=self.seed,
        )
        return config
