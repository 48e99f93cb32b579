STRINGS = {
    "gradients.title": "Gradients: how the network learns from this digit",
    "gradients.intro": "How the network learns from this digit: the gradient of the loss, layer by layer and row by row. "
                       "Every gradient below is the real one, computed by hand from the weights and checked against "
                       "TensorFlow's own (GradientTape).",
    "gradients.target": "Target label y",
    "gradients.target_help": "The label the loss compares the prediction with: the true label of a test digit, else "
                             "the MLP's prediction. Pick another to see the gradient that would teach the network "
                             "that this digit is that one.",

    "gradients.backprop.own": "Your model {model} is not written out here: this view follows the course MLP ({shape}) term by term, with its one hidden layer W⁽¹⁾ and its softmax output W⁽²⁾, and another shape needs other formulas. A recurrent model of yours joins the view “{time}” below.",
    "gradients.backprop.header": "Backpropagation through the MLP, number by number",
    "gradients.backprop.loss": "The loss for target **{label}** (cross-entropy, as in training):",
    "gradients.backprop.output_error": "Softmax and cross-entropy together give the output layer's error term:",
    "gradients.backprop.output_caption": "Every wrong class gets its probability as error, the target {label} gets "
                                         "p − 1 = {delta:.4f}: the gradient step raises the target's logit and lowers "
                                         "the others, each in proportion to how wrong it is.",
    "gradients.backprop.unit": "Hidden unit j",
    "gradients.backprop.unit_help": "One of the {units} ReLU units of layer {layer}. The first choice is the unit with "
                                    "the largest error term on this digit.",
    "gradients.backprop.hidden_header": "The error term of unit {unit} of {layer}",
    "gradients.backprop.hidden_caption": "x is the flattened digit (784 pixels); pixel {pixel} is row {row}, column "
                                         "{col}, the brightest. ReLU′ is 1 for an active unit and 0 for an inactive one: "
                                         "{dead} of the {units} units are inactive on this digit, and their error term "
                                         "and weight gradients are exactly 0.",
    "gradients.backprop.images_header": "What one step would change in the first layer ({layer})",
    "gradients.backprop.units": "Units shown",
    "gradients.backprop.images_caption": "Top: each unit's 784 weights as a 28 × 28 image, what it looks for now (red "
                                         "positive, blue negative). Bottom: its weight gradient ∂L/∂W = x δⱼ, the digit "
                                         "itself times the unit's error term. A gradient-descent step W ← W − η ∂L/∂W "
                                         "(for example η = {rate}) subtracts it: a unit with δⱼ < 0 grows the weights "
                                         "where the ink is, so it answers this digit more strongly next time; δⱼ > 0 "
                                         "shrinks them.",
    "gradients.backprop.proof": "TensorFlow's own gradient (GradientTape) of every weight and bias differs from the "
                                "hand computation above by at most {difference:.1e}.",

    "gradients.act.header": "Activation functions and their derivatives",
    "gradients.act.layer": "Pre-activations of",
    "gradients.act.flat": "Of the **{count}** pre-activations of **{layer}** on this digit (the layer itself uses "
                          "{own}), the share where f′(z) < 0.01, so that the error stops there, if the layer used each "
                          "function: {shares}.",
    "gradients.act.caption": "Top row: f(z); bottom row: f′(z), the factor backpropagation multiplies by. The orange "
                             "ticks are this digit's pre-activations z of the chosen layer (values beyond ±6 drawn at "
                             "the edge). The sigmoid's derivative is never above 0.25, tanh's never above 1; ReLU's "
                             "is exactly 1 or 0; LeakyReLU (slope 0.2), ELU and softplus keep a small derivative for "
                             "z < 0.",

    "gradients.depth.header": "Vanishing gradients with depth",
    "gradients.depth.intro": "The same deep, narrow MLP ({depth} hidden layers of {width} units, Xavier/Glorot "
                             "initialisation with seed {seed}, untrained) three times: with sigmoid, with ReLU, and "
                             "with sigmoid after batch normalisation. The Dense weights are identical in all three. "
                             "Batch normalisation needs a batch: the digit goes through with {batch} test digits, but "
                             "the loss is the digit's alone.",
    "gradients.depth.ratio_help": "‖∂L/∂W‖ of the first layer ({first}) divided by that of the last ({last}). "
                                  "1 means the first layer gets as large a gradient as the last.",
    "gradients.depth.caption": "Each point is the norm of the loss's gradient by one layer's weight matrix, from "
                               "{first} (the input side, left) to {last}. The numbers in the boxes are first / last ({first} has "
                               "{first_size} weights, {last} {last_size}, so a ratio of a few is no explosion). "
                               "With sigmoid every layer multiplies the error by f′ ≤ 0.25, so it shrinks on its way "
                               "to the input: the first layers cannot start learning.",
    "gradients.depth.train": "Train each for {steps} steps",
    "gradients.depth.train_help": "A fresh copy of each network, {steps} plain SGD steps (learning rate {rate}) on "
                                  "mini-batches of {batch} training digits. Trained once per server, then shown to "
                                  "everyone; a few seconds.",
    "gradients.depth.training": "Training the three networks…",
    "gradients.depth.train_caption": "Keras's own mini-batch loss (train_on_batch) at each of {steps} plain SGD steps, "
                                     "batches of {batch} training digits, learning rate {rate}; mean of the first ten → "
                                     "last ten: {losses}. The dotted line is log 10 ≈ 2.30, the loss of guessing 1/10 "
                                     "for every class: where the first layers get no gradient, the network stays there.",
    "gradients.fig.train_title": "Mini-batch loss while training",
    "gradients.fig.step": "SGD step",
    "gradients.fig.loss": "cross-entropy loss",
    "gradients.fig.hover_loss": "step %{x}: loss %{y:.3f}",
    "gradients.variant.sigmoid": "sigmoid",
    "gradients.variant.relu": "ReLU",
    "gradients.variant.sigmoid_bn": "sigmoid + batch norm",

    "gradients.time.header": "Gradients through time",
    "gradients.time.model": "Model",
    "gradients.time.first_last": "row 1 / row 28",
    "gradients.time.accuracy": "test accuracy",
    "gradients.time.unfit": "{model} does not read the digit row by row through a recurrent layer, so it has no "
                            "gradients through time to show here.",
    "gradients.time.caption": "For each image row t, the norm of ∂L/∂xₜ, the loss's gradient with respect to that "
                              "row's 28 pixels (inference mode, dropout off). The loss is computed after row 28, so "
                              "the gradient reaching row t has travelled back 28 − t steps. Dashed: the least-squares "
                              "fit of norm ≈ c · γ^(28 − t) on a log scale; γ < 1 is the factor it shrinks by per row.",
    "gradients.time.formula_header": "The course's formula, with this digit's numbers (SimpleRNN)",
    "gradients.time.formula_caption": "With the fitted γ = {gamma:.4f}, the error that reaches row 1 is γ^{power} times "
                                      "the one at row {steps}; on the right, the ratio actually measured.",
    "gradients.time.jacobian_caption": "Solid: the spectral norm of each step's factor Jₜ = diag(f′(zₜ)) Uᵀ "
                                       "(geometric means {means}). Dashed: the norm of the whole product "
                                       "∂h_{steps}/∂h_k, the course's ∏ over i = k+1…{steps}; at row 1 it is {products}. "
                                       "The product's norm is far smaller than the product of the norms: the factors "
                                       "do not all stretch the same direction, and tanh′ < 1 wherever a unit is busy.",

    "gradients.clip.header": "Exploding gradients and clipping",
    "gradients.clip.intro": "Multiply the SimpleRNN's recurrent weights U (both layers, on a copy: the shipped model "
                            "is untouched) by a factor: each factor Jₜ of the product grows with it, and the gradient "
                            "that reaches the first rows vanishes (small U) or explodes (large U).",
    "gradients.clip.scale": "Recurrent kernel U ×",
    "gradients.clip.ratio": "With U × {scale:g}: row 1's gradient is **{ratio:.3g}** times row 28's; the loss on "
                            "this digit is {loss:.3f}.",
    "gradients.clip.weight": "weight",
    "gradients.clip.by_norm": "‖g‖ after clipnorm={clipnorm}",
    "gradients.clip.by_value": "‖g‖ after clipvalue={clipvalue}",
    "gradients.clip.share": "entries clipped",
    "gradients.clip.step": "largest |Δw|: raw → clipnorm={clipnorm} / clipvalue={clipvalue}",
    "gradients.clip.caption": "Each weight's gradient g for this digit, and what Keras's optimizer would use instead: "
                              "clipnorm={clipnorm} scales g down to norm {clipnorm} when its own norm is larger "
                              "(direction kept); clipvalue={clipvalue} cuts every entry to [−{clipvalue}, {clipvalue}] "
                              "(cos < 1: the direction turned). The last column is a plain SGD step Δw = −η g with "
                              "η = {rate}: raw, then clipped by norm and by value.",

    "gradients.concept.relu.title": "Concept: why ReLU helps",
    "gradients.concept.relu.body": (
        "Backpropagation multiplies by f′(z) at every layer. The sigmoid's f′ = σ(z)(1 − σ(z)) is at most 0.25 and "
        "nearly 0 once |z| > 5 (saturation), so n sigmoid layers shrink the error by at least 4ⁿ. ReLU's f′ is 1 "
        "for every active unit: the error passes through unchanged. Its price is the units that are inactive "
        "(f′ = 0): a unit inactive on every input never learns again (a \"dead\" ReLU), which LeakyReLU and ELU "
        "avoid with a small slope for z < 0."),
    "gradients.concept.bn.title": "Concept: why batch normalisation helps",
    "gradients.concept.bn.body": (
        "Batch normalisation rescales each unit's pre-activation to mean 0 and variance 1 over the batch, then "
        "applies a learned scale γ and shift β. The next activation then works where its derivative is large "
        "(a sigmoid near z = 0), and the layer's gradient is divided by the batch's standard deviation: when the "
        "pre-activations have shrunk, that division makes the gradient larger again. Each layer's factor stays "
        "near 1, whatever the layers before did to the scale."),
    "gradients.concept.gates.title": "Concept: why the LSTM's and GRU's gates help",
    "gradients.concept.gates.body": (
        "In a SimpleRNN every step back multiplies by diag(f′(zₜ)) Uᵀ, the same matrix U at every row: γ below 1 "
        "vanishes, above 1 explodes. The LSTM's cell state is updated by addition, cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ C̃ₜ, so "
        "along it ∂cₜ/∂cₜ₋₁ = fₜ, the forget gate, with no weight matrix and no tanh′; the GRU's "
        "hₜ = zₜ ⊙ hₜ₋₁ + (1 − zₜ) ⊙ h̃ₜ does the same with its update gate. A gate held near 1 carries the "
        "gradient across the rows; the network learns when to open it. Compare the γ of the three models above."),
    "gradients.concept.regularisation.title": "Concept: weight regularisation, clipping and exploding gradients",
    "gradients.concept.regularisation.body": (
        "An exploding gradient comes from factors larger than 1, large weights among them. L2 regularisation "
        "(kernel_regularizer=keras.regularizers.L2(λ)) adds λ Σ w² to the loss and so pulls every weight toward "
        "0 at every step: it keeps U small and the factors below 1, which works against exploding gradients. It "
        "does nothing for vanishing ones: a gradient that vanishes through saturated sigmoids or a small U only "
        "gets smaller when the weights shrink. Clipping (clipnorm, clipvalue) does not change the network at all: "
        "it only limits each step, so one exploding gradient cannot throw the weights far away."),

    "gradients.fig.p": "probability p",
    "gradients.fig.delta_out": "error δ = p − y",
    "gradients.fig.hover_p": "class %{x}: p = %{y:.4f}",
    "gradients.fig.hover_delta": "class %{x}: p − y = %{y:.4f}",
    "gradients.fig.output_title": "Output error for target {label}",
    "gradients.fig.class": "class",
    "gradients.fig.weights": "unit {unit}<br>weights",
    "gradients.fig.weight_gradient": "unit {unit}: ∂L/∂W<br>δ = {delta:.3g}",
    "gradients.fig.hover_pixel": "row %{y}, column %{x}: %{z:.3g}",
    "gradients.fig.hover_f": "z = %{x:.2f}: f(z) = %{y:.3f}",
    "gradients.fig.hover_fprime": "z = %{x:.2f}: f′(z) = %{y:.3f}",
    "gradients.fig.hover_unit_z": "{layer}: z = %{{x:.2f}}, f′(z) = %{{y:.3f}}",
    "gradients.fig.hover_layer_norm": "%{x}: ‖∂L/∂W‖ = %{y:.3g}",
    "gradients.fig.depth_title": "‖∂L/∂W‖ per layer, input side on the left",
    "gradients.fig.layer": "layer",
    "gradients.fig.norm": "‖∂L/∂W‖ (log scale)",
    "gradients.fig.hover_row_norm": "row %{x}: ‖∂L/∂xₜ‖ = %{y:.3g}",
    "gradients.fig.fit": "fit, γ = {gamma:.3f}",
    "gradients.fig.rows_title": "Gradient by image row, fit c · γ^(28 − t)",
    "gradients.fig.row": "image row t",
    "gradients.fig.row_norm": "‖∂L/∂xₜ‖ (log scale)",
    "gradients.fig.step_jacobian": "{layer}: ‖Jₜ‖",
    "gradients.fig.product_jacobian": "{layer}: ‖∂h_{steps}/∂h_k‖",
    "gradients.fig.hover_jacobian": "row %{x}: ‖Jₜ‖₂ = %{y:.3g}",
    "gradients.fig.hover_product": "row %{{x}}: ‖∂h_{steps}/∂h_k‖₂ = %{{y:.3g}}",
    "gradients.fig.jacobian_title": "Recurrent Jacobians: one step and the product",
    "gradients.fig.spectral": "spectral norm (log scale)",
    "gradients.fig.hover_scaled": "U × {scale:g}, row %{{x}}: %{{y:.3g}}",
    "gradients.fig.scaled_title": "SimpleRNN: gradient by row, U scaled",
}
