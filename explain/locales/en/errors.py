STRINGS = {
    "error.upload.file_too_big": "The file is {size_mb} MB; uploads are limited to {limit_mb} MB. Crop or shrink the picture and upload it again.",
    "error.upload.not_image": "This file is not an image. Upload a PNG or JPEG picture of one handwritten digit.",
    "error.upload.unsupported": "{format} images are not supported. Save the picture as PNG or JPEG (or take a screenshot of it) and upload that.",
    "error.upload.too_large": "This image has too many pixels to read safely (the limit is {limit_mp} megapixels). Crop it to the digit or take a screenshot, then upload it again.",
    "error.upload.damaged": "The image file is damaged or incomplete and cannot be decoded. Save it again as PNG or JPEG and upload it again.",
    "error.upload.blank": "No digit found in this picture: it looks empty. Photograph a single digit, written large and dark.",
    "error.upload.tiny": "The digit in this picture is too small to read. Crop the photo closer to the digit.",
    "error.upload.scribble": "Ink or shadow covers most of this picture, so no single digit stands out. Photograph one digit on plain paper.",
    "error.drawing.blank": "There is no digit here: the canvas or picture is empty. Draw a digit from 0 to 9 in the box.",
    "error.drawing.tiny": "That is only a dot. Draw a whole digit, large enough to fill most of the box.",
    "error.drawing.scribble": "The ink covers most of the box: that looks like a scribble, not one digit. Clear the canvas and draw a single digit with a few strokes.",
}
