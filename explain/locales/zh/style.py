STRINGS = {
    "style.uploader_button": "上传",
    "style.uploader_limit": "每个文件不超过 {mb} MB",
    "style.uploader_input": "选择要上传的文件",
    "style.help_for": "“{label}”的说明",
    "style.label.Fullscreen": "全屏",
    "style.label.Close fullscreen": "退出全屏",
    "style.label.Main menu": "主菜单",
    "style.label.App pages": "应用页面",
    "style.label.Collapse sidebar": "收起侧边栏",
    "style.label.Expand sidebar": "展开侧边栏",
    "style.stop": "停止",
}
