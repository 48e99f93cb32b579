STRINGS = {
    "recurrent.title": "LSTM 与 GRU 的门：逐行读数字",
    "recurrent.intro": "循环网络把数字当作 28 个时间步来读：第 t 步读入图像的第 t 行（28 个像素），并更新自己的记忆。"
                       "下面每个门的数值都由该层自己的权重重新计算，与 Keras 给出的隐藏状态一致。",
    "recurrent.model": "模型",
    "recurrent.layer": "层",
    "recurrent.step": "时间步 t = 图像的行",
    "recurrent.unit": "单元",
    "recurrent.unit_help": "每层有 {units} 个单元。默认选中在这个数字上记忆变化最大的单元。",
    "recurrent.prediction": "{model} 把这个数字认作 **{answer}**（概率 {p:.1%}）。",
    "recurrent.gates.header": "每一行、每一个门",
    "recurrent.gates.caption.lstm": "最上方是向左转了 90° 的数字，这样图像第 t 行正好在时间步 t 的上方。"
                                    "门（σ 函数）：0 = 关闭，1 = 打开。候选记忆 C̃ 和隐藏状态 h 在 −1…1 之间"
                                    "（蓝为负，红为正）；细胞状态 c 用单独的色标。橙色方框是选中的行和单元：点击任意一格即可选中它的行和单元。",
    "recurrent.gates.caption.gru": "最上方是向左转了 90° 的数字，这样图像第 t 行正好在时间步 t 的上方。"
                                   "门（σ 函数）：0 = 关闭，1 = 打开。候选状态 h̃ 和隐藏状态 h 在 −1…1 之间"
                                   "（蓝为负，红为正）。橙色方框是选中的行和单元：点击任意一格即可选中它的行和单元。",
    "recurrent.eq.header": "第 {row} 行、第 {unit} 号单元的公式",
    "recurrent.eq.input.first": r"$x_t$ 是图像的第 $t$ 行（28 个像素）；读第 1 行之前状态全为零。",
    "recurrent.eq.input.later": r"$x_t$ 是 {previous} 在第 $t$ 行的输出 $h_t$（推理时随机失活原样放行）；"
                                "读第 1 行之前状态全为零。",
    "recurrent.eq.note.lstm": r"遗忘门决定 $c_{t-1}$ 保留多少，输入门决定候选记忆写入多少；$c_t$ 一行中的两个乘积分别是保留下来的部分和新写入的部分。",
    "recurrent.eq.note.gru": r"Keras 的约定：$z_t$ 乘的是旧状态，$z_t$ 接近 1 表示保留记忆，接近 0 表示用候选状态替换"
                             r"（有些教材把 $z_t$ 和 $1 - z_t$ 对调）。Keras 默认 reset_after=True，"
                             r"重置门作用在候选状态的循环部分 $U_h h_{t-1} + b'_h$ 上。",
    "recurrent.answer.header": "随时间变化的答案",
    "recurrent.answer.caption": "把输出层（{head}）作用在 {layer} 每一行之后的 $h_t$ 上："
                                "即“如果数字在第 t 行就结束了”，网络会怎么回答。只有最后一行是模型真正的答案；"
                                "前面各行只是假设，因为网络只在读完第 28 行后被训练去回答。",
    "recurrent.memory.header": "记忆在哪里改变",
    "recurrent.memory.caption.lstm": r"每一行、每一层的 $\lVert c_t - c_{{t-1}} \rVert$（对 {units} 个单元求范数）：柱子高的行大幅改写了细胞状态，"
                                     "通常是有笔画的行；空白行几乎不改变它。",
    "recurrent.memory.caption.gru": r"每一行、每一层的 $\lVert h_t - h_{{t-1}} \rVert$（对 {units} 个单元求范数；GRU 没有单独的细胞状态）："
                                    "柱子高的行大幅改写了记忆，通常是有笔画的行。",
    "recurrent.params.header": "一层有多少个权重",
    "recurrent.params.lstm": "四个门（i、f、C̃、o），每个都有一个作用于 $x_t$ 的 U × D 矩阵、一个作用于 $h_{t-1}$ 的 U × U 矩阵"
                             "和 U 个偏置：4 × (U × (D + U) + U)。",
    "recurrent.params.gru": "三个门（z、r、h̃），每个都有一个作用于 $x_t$ 的 U × D 矩阵、一个作用于 $h_{t-1}$ 的 U × U 矩阵，"
                            "以及（Keras 默认 reset_after=True）两组各 U 个偏置（一组给 $x_t$，一组给 $h_{t-1}$）："
                            "3 × (U × (D + U) + 2U)。",
    "recurrent.params.layer": "**{layer}**：输入维度 D = {d}，单元数 U = {u}；Keras 报告的参数个数为 **{keras}**，{verdict}。",
    "recurrent.params.match": "与公式一致",
    "recurrent.params.mismatch": "与公式不一致",
    "recurrent.concept.gradients.title": "概念：梯度消失与梯度爆炸，以及门如何帮忙",
    "recurrent.concept.gradients.lstm": (
        "训练时，第 28 行的误差要沿着 28 行一路传回去。在普通循环网络里，每往回一步，梯度都要乘以循环权重矩阵和 "
        "tanh′（不超过 1）：27 个略小于 1 的因子会把它缩到几乎为零（梯度消失），略大于 1 则会让它变得极大"
        "（梯度爆炸，常用梯度裁剪来应对）。\n\n"
        r"LSTM 多了一条不经过矩阵的通路：$c_t = f_t \, c_{{t-1}} + i_t \, \tilde{{C}}_t$，因此沿这条通路 "
        r"$\partial c_{{28}} / \partial c_t = f_{{t+1}} \cdots f_{{28}}$。对这个数字，在 **{layer}** 中从选中的第 {row} 行到第 28 行，"
        "这个乘积在第 {best_unit} 号单元（保留得最好的单元）上是 **{best:.3g}**，在中位数单元上是 {median:.3g}；"
        "这一层在这个数字上有 {open_share:.0%} 的遗忘门取值大于 0.9。遗忘门保持接近 1 时，梯度（和记忆）"
        "就能原样跨过这些行；什么时候打开它，是网络学出来的。"),
    "recurrent.concept.gradients.gru": (
        "训练时，第 28 行的误差要沿着 28 行一路传回去。在普通循环网络里，每往回一步，梯度都要乘以循环权重矩阵和 "
        "tanh′（不超过 1）：27 个略小于 1 的因子会把它缩到几乎为零（梯度消失），略大于 1 则会让它变得极大"
        "（梯度爆炸，常用梯度裁剪来应对）。\n\n"
        r"GRU 用混合代替覆盖：$h_t = z_t \, h_{{t-1}} + (1 - z_t) \, \tilde{{h}}_t$，因此沿直接通路 "
        r"$\partial h_{{28}} / \partial h_t = z_{{t+1}} \cdots z_{{28}}$。对这个数字，在 **{layer}** 中从选中的第 {row} 行到第 28 行，"
        "这个乘积在第 {best_unit} 号单元（保留得最好的单元）上是 **{best:.3g}**，在中位数单元上是 {median:.3g}；"
        "这一层在这个数字上有 {open_share:.0%} 的更新门取值大于 0.9。更新门保持接近 1 时（Keras 的约定），"
        "梯度和记忆就能原样跨过这些行。"),
    "recurrent.concept.roles.title": "概念：LSTM 的门与 GRU 的门",
    "recurrent.concept.roles.body": (
        "**LSTM** 有两个状态：细胞状态 c（长期记忆）和隐藏状态 h（交给下一层的内容）。遗忘门 f 从 c 中擦除，"
        "输入门 i 决定候选记忆 C̃ 写入多少，输出门 o 决定 tanh(c) 有多少出现在 h 中。\n\n"
        "**GRU** 只有 h。更新门 z 同时承担遗忘门和输入门的角色（保留 z，写入 1 − z），重置门 r 决定旧状态有多少"
        "进入候选状态 h̃；它没有输出门。\n\n"
        "三组门而不是四组：这里 GRU 两层共有 {gru1} + {gru2} = {gru} 个参数，LSTM 为 {lstm1} + {lstm2} = {lstm}，"
        "约为 {ratio:.0%}，而在这个任务上准确率相近。"),
    "recurrent.concept.rows.title": "概念：为什么逐行读图像",
    "recurrent.concept.rows.body": (
        "循环层读的是序列，课程作业把图像变成序列：28 行就是 28 个时间步，每步 28 个像素（所以第一层 D = 28）。"
        "网络从不整体地、也不按列地看图像；读完第 t 行时，它只知道第 1…t 行，并被压缩成 {units} 个数的记忆。"
        "所以上面图中它的答案是逐步形成的，没有笔画的行几乎不改变记忆。相比之下，CNN 同时在各处看小的二维邻域；"
        "注意力页面则让每一行直接看到其他所有行。"),
    "recurrent.concept.dropout.title": "概念：层间的随机失活",
    "recurrent.concept.dropout.body": (
        "在这个模型中，{layers}。训练时每一层随机把相应比例的值置零，其余的乘以 1 / (1 − 比例)，使任何单元都不能"
        "依赖某个特定的其他单元。推理时它们什么也不做：所以本页把每一层的输出原样交给下一层，"
        "仍能与 Keras 的数值一致到 0.00001。"),
    "recurrent.concept.dropout.layer": "{layer}（比例 {rate:g}，即 {percent:.0%} 的值）位于 {before} 与 {after} 之间",
    "recurrent.concept.dropout.none": (
        "这个模型没有随机失活层。随机失活在训练时随机把一部分值置零，其余的乘以 1 / (1 − 比例)，使任何单元都不能"
        "依赖某个特定的其他单元；推理时它什么也不做。"),
    "recurrent.unfit": "{model} 不能在本页讲解：本页需要逐行读取 (28, 28) 数字图像的 LSTM 或 GRU 层（正向读取；GRU 须为 "
                       "Keras 默认的 reset_after=True），其后接全连接层，层与层之间只能有随机失活层。",
    "recurrent.fig.digit": "转过来的数字：图像第 t 行 → 时间步 t",
    "recurrent.fig.hover_digit": "第 %{x} 行，第 %{y} 列：%{z:.2f}",
    "recurrent.fig.rows": "时间步 t = 图像第 t 行（从上到下）",
    "recurrent.fig.gates_title": "{layer}：每个门、每个单元、每一行",
    "recurrent.fig.hover_gate": "第 %{x} 行，第 %{y} 号单元：%{z:.3f}",
    "recurrent.gate.lstm.input": "输入门 i",
    "recurrent.gate.lstm.forget": "遗忘门 f",
    "recurrent.gate.lstm.candidate": "候选记忆 C̃",
    "recurrent.gate.lstm.output": "输出门 o",
    "recurrent.gate.lstm.cell": "细胞状态 c",
    "recurrent.gate.lstm.hidden": "隐藏状态 h",
    "recurrent.gate.gru.update": "更新门 z（1 = 保留旧状态）",
    "recurrent.gate.gru.reset": "重置门 r",
    "recurrent.gate.gru.candidate": "候选状态 h̃",
    "recurrent.gate.gru.hidden": "隐藏状态 h",
    "recurrent.fig.answer_title": "{model}：如果数字在第 t 行结束，它会怎么回答",
    "recurrent.fig.answer_panel": "每个数字的概率（最后一行之前都是假设：数字还没写完）",
    "recurrent.fig.exact": "真正的答案：{digit}（{p:.1f}%）",
    "recurrent.fig.hover_answer": "第 %{x} 行：P(%{fullData.name}) = %{y:.3f}",
    "recurrent.fig.legend_digit": "数字",
    "recurrent.fig.memory_title": "每一行让记忆改变了多少",
    "recurrent.fig.memory_panel.cell": "‖c(t) − c(t−1)‖（细胞状态）",
    "recurrent.fig.memory_panel.hidden": "‖h(t) − h(t−1)‖（隐藏状态）",
    "recurrent.fig.hover_memory": "%{fullData.name}，第 %{x} 行：%{y:.3f}",
    "recurrent.fig.hover_upright": "第 %{y} 行，第 %{x} 列：%{z:.2f}",
    "recurrent.fig.row": "行",
    "recurrent.fig.unit_title": "{layer} 第 {unit} 号单元：读这个数字时的每个门",
    "recurrent.fig.unit_panel": "门（实线，0 = 关闭，1 = 打开）与状态（虚线）",
    "recurrent.fig.hover_unit": "%{fullData.name}，第 %{x} 行：%{y:.3f}",
}
