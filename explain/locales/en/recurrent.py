STRINGS = {
    "recurrent.title": "LSTM & GRU gates, row by row",
    "recurrent.intro": "The recurrent networks read the digit as 28 timesteps: at timestep t they take in image row t "
                       "(28 pixels) and update their memory. Every gate value below is recomputed from the layer's own "
                       "weights and reproduces Keras's hidden states.",
    "recurrent.model": "Model",
    "recurrent.layer": "Layer",
    "recurrent.step": "Timestep t = image row",
    "recurrent.unit": "Unit",
    "recurrent.unit_help": "Each layer has {units} units. The first choice is the unit whose memory changes most on this digit.",
    "recurrent.prediction": "{model} reads this digit as **{answer}** (probability {p:.1%}).",
    "recurrent.gates.header": "Every gate at every row",
    "recurrent.gates.caption.lstm": "Top: the digit turned a quarter turn to the left, so that image row t stands above "
                                    "timestep t. Gates (sigmoid): 0 = closed, 1 = open. Candidate C̃ and hidden state h "
                                    "lie in −1…1 (blue negative, red positive); the cell state c has its own scale. "
                                    "The orange box is the chosen row and unit: click any cell to choose its row and unit.",
    "recurrent.gates.caption.gru": "Top: the digit turned a quarter turn to the left, so that image row t stands above "
                                   "timestep t. Gates (sigmoid): 0 = closed, 1 = open. Candidate h̃ and hidden state h "
                                   "lie in −1…1 (blue negative, red positive). The orange box is the chosen row and unit: click any cell to choose its row and unit.",
    "recurrent.eq.header": "The equations at row {row}, unit {unit}",
    "recurrent.eq.input.first": r"$x_t$ is image row $t$ (28 pixels); the state before row 1 is all zeros.",
    "recurrent.eq.input.later": r"$x_t$ is the output $h_t$ of {previous} at row $t$ (dropout passes it through unchanged "
                                r"at inference); the state before row 1 is all zeros.",
    "recurrent.eq.note.lstm": r"The forget gate decides how much of $c_{t-1}$ survives, the input gate how much of the "
                              r"candidate is written: the two products in the $c_t$ line are what is kept and what is written.",
    "recurrent.eq.note.gru": r"Keras's convention: $z_t$ weights the OLD state, so $z_t$ near 1 keeps the memory and near 0 "
                             r"replaces it (some textbooks swap $z_t$ and $1 - z_t$). With Keras's default reset_after=True "
                             r"the reset gate scales $U_h h_{t-1} + b'_h$, the recurrent part of the candidate.",
    "recurrent.answer.header": "The answer over time",
    "recurrent.answer.caption": "The output layers ({head}) applied to {layer}'s $h_t$ after every row: what "
                                "the network would answer if the digit ended at row t. Only the last row is the "
                                "model's real answer; the earlier rows are a what-if, since the network was only "
                                "trained on what it says after row 28.",
    "recurrent.memory.header": "Where the memory changes",
    "recurrent.memory.caption.lstm": r"$\lVert c_t - c_{{t-1}} \rVert$ over the {units} units, per row and layer: tall bars are rows that "
                                     "rewrite the cell state, usually rows with ink; blank rows barely move it.",
    "recurrent.memory.caption.gru": r"$\lVert h_t - h_{{t-1}} \rVert$ over the {units} units, per row and layer (a GRU has no separate cell "
                                    "state): tall bars are rows that rewrite the memory, usually rows with ink.",
    "recurrent.params.header": "How many weights a layer has",
    "recurrent.params.lstm": "Four gates (i, f, C̃, o), each with a U × D matrix for $x_t$, a U × U matrix for $h_{t-1}$ "
                             "and U biases: 4 × (U × (D + U) + U).",
    "recurrent.params.gru": "Three gates (z, r, h̃), each with a U × D matrix for $x_t$, a U × U matrix for $h_{t-1}$ and, "
                            "with Keras's default reset_after=True, two bias vectors of U (one for $x_t$, one for "
                            "$h_{t-1}$): 3 × (U × (D + U) + 2U).",
    "recurrent.params.layer": "**{layer}**: D = {d} inputs, U = {u} units; Keras reports **{keras}** parameters: {verdict}.",
    "recurrent.params.match": "the formula matches",
    "recurrent.params.mismatch": "the formula does NOT match",
    "recurrent.concept.gradients.title": "Concept: vanishing and exploding gradients, and how the gates help",
    "recurrent.concept.gradients.lstm": (
        "Training sends the error at row 28 back through all 28 rows. In a plain RNN each step back multiplies the "
        "gradient by the recurrent matrix and by tanh′ (at most 1): 27 factors a little below 1 shrink it to nothing "
        "(vanishing), a little above 1 blow it up (exploding; clipping the gradient norm is the usual cure).\n\n"
        r"The LSTM adds a path with no matrix in it: $c_t = f_t \, c_{{t-1}} + i_t \, \tilde{{C}}_t$, so along it "
        r"$\partial c_{{28}} / \partial c_t = f_{{t+1}} \cdots f_{{28}}$. For this digit in **{layer}**, from the chosen row {row} to row 28 that "
        "product is **{best:.3g}** for unit {best_unit} (the best-kept unit) and {median:.3g} for the median unit; "
        "{open_share:.0%} of this layer's forget-gate values on this digit are above 0.9. A forget gate held near 1 "
        "carries the gradient (and the memory) across the rows unchanged; the network learns when to open it."),
    "recurrent.concept.gradients.gru": (
        "Training sends the error at row 28 back through all 28 rows. In a plain RNN each step back multiplies the "
        "gradient by the recurrent matrix and by tanh′ (at most 1): 27 factors a little below 1 shrink it to nothing "
        "(vanishing), a little above 1 blow it up (exploding; clipping the gradient norm is the usual cure).\n\n"
        r"The GRU mixes instead of overwriting: $h_t = z_t \, h_{{t-1}} + (1 - z_t) \, \tilde{{h}}_t$, so along the "
        r"direct path $\partial h_{{28}} / \partial h_t = z_{{t+1}} \cdots z_{{28}}$. For this digit in **{layer}**, from the chosen row {row} to row 28 that "
        "product is **{best:.3g}** for unit {best_unit} (the best-kept unit) and {median:.3g} for the median unit; "
        "{open_share:.0%} of this layer's update-gate values on this digit are above 0.9. An update gate held near 1 "
        "(Keras's convention) carries the gradient and the memory across the rows unchanged."),
    "recurrent.concept.roles.title": "Concept: LSTM gates versus GRU gates",
    "recurrent.concept.roles.body": (
        "**LSTM** keeps two states: the cell state c (long-term memory) and the hidden state h (what it shows the next "
        "layer). The forget gate f erases from c, the input gate i decides how much of the candidate C̃ is written, "
        "the output gate o decides how much of tanh(c) appears in h.\n\n"
        "**GRU** keeps only h. The update gate z plays forget and input gate at once (keep z, write 1 − z), the reset "
        "gate r decides how much of the old state goes into the candidate h̃; there is no output gate.\n\n"
        "Three gate blocks instead of four: here the GRU layers have {gru1} + {gru2} = {gru} parameters against the "
        "LSTM's {lstm1} + {lstm2} = {lstm}, about {ratio:.0%}, and they reach a similar accuracy on this task."),
    "recurrent.concept.rows.title": "Concept: why the image is read row by row",
    "recurrent.concept.rows.body": (
        "A recurrent layer reads a sequence, and the course's homework makes one out of the image: 28 rows are 28 "
        "timesteps of 28 pixels each (so D = 28 for the first layer). The network never sees the image as a whole "
        "or column by column; after row t it knows only rows 1…t, squeezed into {units} numbers of memory. That is why "
        "its answer forms gradually in the chart above, and why rows without ink barely change the memory. A CNN, "
        "by contrast, looks at small 2-D neighbourhoods everywhere at once; the attention page lets every row look "
        "at every other row directly."),
    "recurrent.concept.dropout.title": "Concept: dropout between the layers",
    "recurrent.concept.dropout.body": (
        "In this model {layers}. In training each zeroes that share of the values at random and scales the rest up "
        "by 1 / (1 − rate), so no unit can rely on one particular other unit. At inference they do nothing: that "
        "is why this page feeds each layer exactly the previous layer's output and still reproduces Keras's "
        "numbers to 0.00001."),
    "recurrent.concept.dropout.layer": "{layer} (rate {rate:g}: {percent:.0%} of the values) sits between {before} and {after}",
    "recurrent.concept.dropout.none": (
        "This model has no dropout layers. Dropout zeroes a share of the values at random in training and scales "
        "the rest up by 1 / (1 − rate), so no unit can rely on one particular other unit; at inference it does nothing."),
    "recurrent.unfit": "{model} is not explained on this page: it needs LSTM or GRU layers (forward, Keras's default "
                       "reset_after=True for GRU) reading the (28, 28) digit row by row, followed by Dense layers, "
                       "with only dropout between them.",
    "recurrent.fig.digit": "the digit, turned: image row t → timestep t",
    "recurrent.fig.hover_digit": "row %{x}, column %{y}: %{z:.2f}",
    "recurrent.fig.rows": "timestep t = image row t (top → bottom)",
    "recurrent.fig.gates_title": "{layer}: every gate, every unit, every row",
    "recurrent.fig.hover_gate": "row %{x}, unit %{y}: %{z:.3f}",
    "recurrent.gate.lstm.input": "input gate i",
    "recurrent.gate.lstm.forget": "forget gate f",
    "recurrent.gate.lstm.candidate": "candidate memory C̃",
    "recurrent.gate.lstm.output": "output gate o",
    "recurrent.gate.lstm.cell": "cell state c",
    "recurrent.gate.lstm.hidden": "hidden state h",
    "recurrent.gate.gru.update": "update gate z (1 = keep old state)",
    "recurrent.gate.gru.reset": "reset gate r",
    "recurrent.gate.gru.candidate": "candidate state h̃",
    "recurrent.gate.gru.hidden": "hidden state h",
    "recurrent.fig.answer_title": "{model}: the answer if the digit ended at row t",
    "recurrent.fig.answer_panel": "probability of each digit (rows before the last: a what-if, the digit is not finished)",
    "recurrent.fig.exact": "exact answer: {digit} ({p:.1f}%)",
    "recurrent.fig.hover_answer": "row %{x}: P(%{fullData.name}) = %{y:.3f}",
    "recurrent.fig.legend_digit": "digit",
    "recurrent.fig.memory_title": "How much each row changes the memory",
    "recurrent.fig.memory_panel.cell": "‖c(t) − c(t−1)‖ (cell state)",
    "recurrent.fig.memory_panel.hidden": "‖h(t) − h(t−1)‖ (hidden state)",
    "recurrent.fig.hover_memory": "%{fullData.name}, row %{x}: %{y:.3f}",
    "recurrent.fig.hover_upright": "row %{y}, column %{x}: %{z:.2f}",
    "recurrent.fig.row": "row",
    "recurrent.fig.unit_title": "{layer}, unit {unit}: every gate over the digit",
    "recurrent.fig.unit_panel": "gates (solid, 0 = closed, 1 = open) and states (dashed)",
    "recurrent.fig.hover_unit": "%{fullData.name}, row %{x}: %{y:.3f}",
}
