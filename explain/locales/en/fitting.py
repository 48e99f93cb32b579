STRINGS = {
    "fitting.showing": "The MLP on {description}: it reads this digit as {digit} ({p:.1%}).",
}
