STRINGS = {
    "style.uploader_button": "上传",
    "style.uploader_limit": "每个文件不超过 {mb} MB",
    "style.stop": "停止",
}
