STRINGS = {
    "error.upload.file_too_big": "文件大小为 {size_mb} MB，上传上限是 {limit_mb} MB。请裁剪或缩小图片后重新上传。",
    "error.upload.not_image": "这个文件不是图片。请上传一张手写数字的 PNG 或 JPEG 图片。",
    "error.upload.unsupported": "不支持 {format} 格式的图片。请把图片另存为 PNG 或 JPEG（或者截屏）后再上传。",
    "error.upload.too_large": "这张图片的像素太多，无法安全读取（上限为 {limit_mp} 百万像素）。请裁剪到数字所在区域或截屏后重新上传。",
    "error.upload.damaged": "图片文件已损坏或不完整，无法解码。请重新保存为 PNG 或 JPEG 后再上传。",
    "error.upload.blank": "这张图片里没有找到数字，看起来是空白的。请拍一个写得大而清楚的数字。",
    "error.upload.tiny": "图片里的数字太小，无法识别。请把照片裁剪到数字附近。",
    "error.upload.scribble": "墨迹或阴影覆盖了图片的大部分，找不到单独的一个数字。请在白纸上写一个数字再拍照。",
    "error.drawing.blank": "这里没有数字：画布或图片是空的。请在方框里画一个 0 到 9 的数字。",
    "error.drawing.tiny": "这只是一个点。请画一个完整的数字，尽量占满方框。",
    "error.drawing.scribble": "墨迹几乎占满了方框，看起来是涂鸦而不是一个数字。请清空画布，用几笔画出一个数字。",
}
