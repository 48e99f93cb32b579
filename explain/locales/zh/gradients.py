STRINGS = {
    "gradients.title": "梯度：网络如何从这个数字中学习",
    "gradients.intro": "网络如何从这个数字中学习：损失的梯度，一层一层、一行一行地往回传。下面每个梯度都是真实值，"
                       "由权重手工算出，并与 TensorFlow 自己的梯度（GradientTape）核对过。",
    "gradients.target": "目标标签 y",
    "gradients.target_help": "损失拿来和预测比较的标签：测试集数字用它的真实标签，否则用 MLP 的预测。换一个标签，"
                             "就能看到“教网络把这个数字认成那个数字”的梯度。",

    "gradients.backprop.own": "这里不展开你的模型 {model}：本节按课程 MLP（{shape}）逐项写出公式，它只有一个隐藏层 W⁽¹⁾ 和一个 softmax 输出层 W⁽²⁾，别的结构需要另写公式。你上传的循环网络会出现在下方“{time}”一节。",
    "gradients.backprop.header": "MLP 的反向传播，一个数一个数地算",
    "gradients.backprop.loss": "目标 **{label}** 的损失（交叉熵，与训练时相同）：",
    "gradients.backprop.output_error": "softmax 与交叉熵合在一起，输出层的误差项就是：",
    "gradients.backprop.output_caption": "每个错误类别的误差就是它的概率，目标 {label} 的误差是 p − 1 = {delta:.4f}："
                                         "梯度下降的一步会抬高目标的 logits 分量、压低其他分量，幅度与各自错得多少成正比。",
    "gradients.backprop.unit": "隐藏单元 j",
    "gradients.backprop.unit_help": "{layer} 层 {units} 个 ReLU 单元中的一个。默认选的是这个数字上误差项最大的单元。",
    "gradients.backprop.hidden_header": "{layer} 层单元 {unit} 的误差项",
    "gradients.backprop.hidden_caption": "x 是展平的数字（784 个像素）；像素 {pixel} 位于第 {row} 行第 {col} 列，是最亮的像素。"
                                         "ReLU′ 对激活的单元是 1，对未激活的单元是 0：这个数字上 {units} 个单元中有 {dead} "
                                         "个未激活，它们的误差项和权重梯度恰好为 0。",
    "gradients.backprop.images_header": "一步更新会让第一层（{layer}）发生什么变化",
    "gradients.backprop.units": "显示的单元",
    "gradients.backprop.images_caption": "上排：每个单元的 784 个权重排成 28 × 28 的图，表示它现在在寻找什么（红为正，"
                                         "蓝为负）。下排：它的权重梯度 ∂L/∂W = x δⱼ，也就是数字本身乘以该单元的误差项。"
                                         "梯度下降一步 W ← W − η ∂L/∂W（例如 η = {rate}）会减去它：δⱼ < 0 的单元在有笔画"
                                         "的地方增大权重，下次对这个数字的反应更强；δⱼ > 0 的单元则减小这些权重。",
    "gradients.backprop.proof": "TensorFlow 自己（GradientTape）算出的每个权重和偏置的梯度，与上面的手工计算最多相差 "
                                "{difference:.1e}。",

    "gradients.act.header": "激活函数及其导数",
    "gradients.act.layer": "预激活值来自",
    "gradients.act.flat": "**{layer}** 在这个数字上的 **{count}** 个预激活值中（该层本身用的是 {own}），"
                          "假如该层换成下列函数，f′(z) < 0.01、误差在此中断的比例分别是：{shares}。",
    "gradients.act.caption": "上排：f(z)；下排：f′(z)，即反向传播每层要乘的因子。橙色短线是这个数字在所选层的预激活值 z"
                             "（超出 ±6 的画在边缘）。sigmoid 的导数从不超过 0.25，tanh 的从不超过 1；ReLU 的导数恰好是 "
                             "1 或 0；LeakyReLU（斜率 0.2）、ELU 和 `softplus` 在 z < 0 时仍保留一个小导数。",

    "gradients.depth.header": "梯度随深度消失",
    "gradients.depth.intro": "同一个又深又窄的 MLP（{depth} 个隐藏层，每层 {width} 个单元，Xavier/Glorot 初始化，"
                             "随机种子 {seed}，未经训练）做三遍：用 sigmoid、用 ReLU、以及在 sigmoid 前加批归一化。"
                             "三者的 Dense 权重完全相同。批归一化需要一个批次：这个数字和 {batch} 个测试数字一起送入网络，"
                             "但损失只算这个数字的。",
    "gradients.depth.ratio_help": "第一层（{first}）的 ‖∂L/∂W‖ 除以最后一层（{last}）的。1 表示第一层得到的梯度与最后一层一样大。",
    "gradients.depth.caption": "每个点是损失对某一层权重矩阵的梯度范数，从 {first}（输入一侧，左）到 {last}。方框里的数是"
                               "第一层 / 最后一层（{first} 有 {first_size} 个权重，{last} 有 {last_size} 个，"
                               "所以比值是几并不算爆炸）。用 sigmoid 时每层都把误差乘以 f′ ≤ 0.25，误差在传向输入的路上越来越小："
                               "前几层根本无法开始学习。",
    "gradients.depth.train": "各训练 {steps} 步",
    "gradients.depth.train_help": "每个网络取一份新副本，用普通 SGD（学习率 {rate}）在每批 {batch} 个训练数字上走 {steps} "
                                  "步。每个服务器只训练一次，之后所有人都能看到；需要几秒钟。",
    "gradients.depth.training": "正在训练这三个网络……",
    "gradients.depth.train_caption": "Keras 自己（train_on_batch）在 {steps} 步普通 SGD 中每一步的小批量损失，每批 {batch} "
                                     "个训练数字，学习率 {rate}；前十步均值 → 后十步均值：{losses}。点线是 log 10 ≈ 2.30，"
                                     "即对每个类别都猜 1/10 时的损失：前几层得不到梯度时，网络就停在那里。",
    "gradients.fig.train_title": "训练过程中的小批量损失",
    "gradients.fig.step": "SGD 步数",
    "gradients.fig.loss": "交叉熵损失",
    "gradients.fig.hover_loss": "第 %{x} 步：损失 %{y:.3f}",
    "gradients.variant.sigmoid": "sigmoid",
    "gradients.variant.relu": "ReLU",
    "gradients.variant.sigmoid_bn": "sigmoid + 批归一化",

    "gradients.time.header": "沿时间反向传播的梯度",
    "gradients.time.model": "模型",
    "gradients.time.first_last": "第 1 行 / 第 28 行",
    "gradients.time.accuracy": "测试准确率",
    "gradients.time.unfit": "{model} 没有用循环层逐行读取数字，所以这里没有它随时间反向传播的梯度可显示。",
    "gradients.time.caption": "对图像的每一行 t，损失对该行 28 个像素的梯度 ∂L/∂xₜ 的范数（推理模式，不用 dropout）。"
                              "损失在读完第 28 行后才计算，所以到达第 t 行的梯度已经往回走了 28 − t 步。虚线：在对数尺度上"
                              "用最小二乘拟合 范数 ≈ c · γ^(28 − t)；γ < 1 就是梯度每往回一行缩小的倍数。",
    "gradients.time.formula_header": "课程中的公式，填入这个数字的数值（SimpleRNN）",
    "gradients.time.formula_caption": "按拟合的 γ = {gamma:.4f}，到达第 1 行的误差是第 {steps} 行的 γ^{power} 倍；"
                                      "右边是实际测得的比值。",
    "gradients.time.jacobian_caption": "实线：每一步因子 Jₜ = diag(f′(zₜ)) Uᵀ 的谱范数（几何平均：{means}）。虚线：整个乘积 "
                                       "∂h_{steps}/∂h_k 的范数，即课程中 i = k+1…{steps} 的连乘；在第 1 行它是 {products}。"
                                       "乘积的范数远小于各范数的乘积：这些因子并不都拉伸同一个方向，而且单元一旦忙碌，tanh′ 就小于 1。",

    "gradients.clip.header": "梯度爆炸与梯度裁剪",
    "gradients.clip.intro": "把 SimpleRNN 的循环权重 U（两层都乘，在副本上，发布的模型不受影响）乘以一个倍数：连乘中的每个因子 "
                            "Jₜ 随之变大或变小，到达前几行的梯度就会消失（U 小）或爆炸（U 大）。",
    "gradients.clip.scale": "循环权重 U ×",
    "gradients.clip.ratio": "U × {scale:g} 时：第 1 行的梯度是第 28 行的 **{ratio:.3g}** 倍；这个数字上的损失是 {loss:.3f}。",
    "gradients.clip.weight": "权重",
    "gradients.clip.by_norm": "clipnorm={clipnorm} 后的 ‖g‖",
    "gradients.clip.by_value": "clipvalue={clipvalue} 后的 ‖g‖",
    "gradients.clip.share": "被截断的分量",
    "gradients.clip.step": "最大的 |Δw|：原始 → clipnorm={clipnorm} / clipvalue={clipvalue}",
    "gradients.clip.caption": "这个数字上每个权重的梯度 g，以及 Keras 优化器实际会用的梯度：clipnorm={clipnorm} 在 g 自身的范数"
                              "更大时把它按比例缩到范数 {clipnorm}（方向不变）；clipvalue={clipvalue} 把每个分量截断到 "
                              "[−{clipvalue}, {clipvalue}]（cos < 1 表示方向变了）。最后一列是普通 SGD 的一步 Δw = −η g，"
                              "η = {rate}：先是原始梯度，然后是按范数裁剪和按值裁剪。",

    "gradients.concept.relu.title": "概念：为什么 ReLU 有帮助",
    "gradients.concept.relu.body": (
        "反向传播在每一层都要乘以 f′(z)。sigmoid 的 f′ = σ(z)(1 − σ(z)) 最大只有 0.25，|z| > 5 后几乎为 0（饱和），"
        "所以 n 个 sigmoid 层至少把误差缩小 4ⁿ 倍。ReLU 的 f′ 对每个激活的单元都是 1：误差原样通过。代价是未激活的单元"
        "（f′ = 0）：对所有输入都不激活的单元再也学不到东西（“死亡”的 ReLU），LeakyReLU 和 ELU 在 z < 0 时保留一个小斜率来避免它。"),
    "gradients.concept.bn.title": "概念：为什么批归一化有帮助",
    "gradients.concept.bn.body": (
        "批归一化把每个单元的预激活值在批次上缩放为均值 0、方差 1，再乘以学到的缩放 γ、加上平移 β。下一个激活函数于是工作在"
        "导数较大的区域（sigmoid 在 z = 0 附近），而这一层的梯度会除以批次的标准差：预激活值变小时，这个除法又把梯度放大。"
        "不管前面的层把尺度变成什么样，每一层的因子都保持在 1 附近。"),
    "gradients.concept.gates.title": "概念：为什么 LSTM 和 GRU 的门有帮助",
    "gradients.concept.gates.body": (
        "在 SimpleRNN 中，每往回一步都要乘以 diag(f′(zₜ)) Uᵀ，每一行都是同一个矩阵 U：γ 小于 1 就消失，大于 1 就爆炸。"
        "LSTM 的细胞状态按加法更新，cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ C̃ₜ，所以沿着它 ∂cₜ/∂cₜ₋₁ = fₜ，就是遗忘门，没有权重矩阵，"
        "也没有 tanh′；GRU 的 hₜ = zₜ ⊙ hₜ₋₁ + (1 − zₜ) ⊙ h̃ₜ 用更新门做同样的事。保持在 1 附近的门能把梯度带过所有的行；"
        "网络自己学会何时打开它。请比较上面三个模型的 γ。"),
    "gradients.concept.regularisation.title": "概念：权重正则化、梯度裁剪与梯度爆炸",
    "gradients.concept.regularisation.body": (
        "梯度爆炸来自大于 1 的因子，其中就有大的权重。L2 正则化（kernel_regularizer=keras.regularizers.L2(λ)）在损失里加上 "
        "λ Σ w²，每一步都把每个权重拉向 0：它让 U 保持较小、因子小于 1，从而对抗梯度爆炸。它对梯度消失毫无帮助：经过饱和的 "
        "sigmoid 或较小的 U 而消失的梯度，权重变小只会让它更小。梯度裁剪（clipnorm=1.0、clipvalue=0.5）完全不改变网络，"
        "只限制每一步的大小，使一次爆炸的梯度不会把权重甩得很远。"),

    "gradients.fig.p": "概率 p",
    "gradients.fig.delta_out": "误差 δ = p − y",
    "gradients.fig.hover_p": "类别 %{x}：p = %{y:.4f}",
    "gradients.fig.hover_delta": "类别 %{x}：p − y = %{y:.4f}",
    "gradients.fig.output_title": "目标为 {label} 时的输出误差",
    "gradients.fig.class": "类别",
    "gradients.fig.weights": "单元 {unit}<br>权重",
    "gradients.fig.weight_gradient": "单元 {unit}：∂L/∂W<br>δ = {delta:.3g}",
    "gradients.fig.hover_pixel": "第 %{y} 行，第 %{x} 列：%{z:.3g}",
    "gradients.fig.hover_f": "z = %{x:.2f}：f(z) = %{y:.3f}",
    "gradients.fig.hover_fprime": "z = %{x:.2f}：f′(z) = %{y:.3f}",
    "gradients.fig.hover_unit_z": "{layer}：z = %{{x:.2f}}，f′(z) = %{{y:.3f}}",
    "gradients.fig.hover_layer_norm": "%{x}：‖∂L/∂W‖ = %{y:.3g}",
    "gradients.fig.depth_title": "每层的 ‖∂L/∂W‖，左边是输入一侧",
    "gradients.fig.layer": "层",
    "gradients.fig.norm": "‖∂L/∂W‖（对数尺度）",
    "gradients.fig.hover_row_norm": "第 %{x} 行：‖∂L/∂xₜ‖ = %{y:.3g}",
    "gradients.fig.fit": "拟合，γ = {gamma:.3f}",
    "gradients.fig.rows_title": "对每行图像的梯度，拟合 c · γ^(28 − t)",
    "gradients.fig.row": "图像行 t",
    "gradients.fig.row_norm": "‖∂L/∂xₜ‖（对数尺度）",
    "gradients.fig.step_jacobian": "{layer}：‖Jₜ‖",
    "gradients.fig.product_jacobian": "{layer}：‖∂h_{steps}/∂h_k‖",
    "gradients.fig.hover_jacobian": "第 %{x} 行：‖Jₜ‖₂ = %{y:.3g}",
    "gradients.fig.hover_product": "第 %{{x}} 行：‖∂h_{steps}/∂h_k‖₂ = %{{y:.3g}}",
    "gradients.fig.jacobian_title": "循环雅可比矩阵：单步与连乘",
    "gradients.fig.spectral": "谱范数（对数尺度）",
    "gradients.fig.hover_scaled": "U × {scale:g}，第 %{{x}} 行：%{{y:.3g}}",
    "gradients.fig.scaled_title": "SimpleRNN：缩放 U 后对每行的梯度",
}
