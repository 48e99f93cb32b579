STRINGS = {
    "gradients.intro": "How the network learns from this digit: the gradient of the loss, layer by layer and row by row.",
}
