STRINGS = {
    "gradients.intro": "网络如何从这个数字中学习：损失的梯度，一层一层、一行一行地往回传。",
}
