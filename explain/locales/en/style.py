STRINGS = {
    "style.uploader_button": "Upload",
    "style.uploader_limit": "Up to {mb} MB per file",
    "style.stop": "Stop",
}
