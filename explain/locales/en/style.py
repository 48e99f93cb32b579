STRINGS = {
    "style.uploader_button": "Upload",
    "style.uploader_limit": "Up to {mb} MB per file",
    "style.uploader_input": "Choose a file to upload",
    "style.help_for": "Help for {label}",
    "style.label.Fullscreen": "Fullscreen",
    "style.label.Close fullscreen": "Close fullscreen",
    "style.label.Main menu": "Main menu",
    "style.label.App pages": "App pages",
    "style.label.Collapse sidebar": "Collapse sidebar",
    "style.label.Expand sidebar": "Expand sidebar",
    "style.stop": "Stop",
}
