STRINGS = {
    "fitting.showing": "MLP 处理的是{description}：它把这个数字认作 {digit}（{p:.1%}）。",
}
