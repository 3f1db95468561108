"""``skmnist predict``: labels and probabilities for image files."""

import json
import os
from pathlib import Path

import numpy as np

from ._common import (
    HelpFormatter,
    EXIT_OK,
    CLIError,
    add_device_argument,
    add_image_arguments,
    add_model_argument,
    load_model,
    plain,
    positive_int,
    progress,
    show_progress,
)


def find_image_files(paths):
    """The image files named in ``paths``: files as given, folders searched recursively.

    Raises
    ------
    CLIError
        If a path does not exist or a folder holds no image file.
    """
    from ..datasets._images import IMAGE_EXTENSIONS, is_image_file

    files = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_image_file(p))
            if not found:
                raise CLIError(f"{name}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in "
                               "this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise CLIError(f"{name}: no such file or directory")
    return files


def model_input(images, model):
    """uint8 ``(n, c, h, w)`` images in the pixel range the model was trained on.

    Models trained on 0-255 pixels (all CLI-trained ones) get them as they
    are; a model whose training mean is at most 1 was trained on 0-1 floats,
    so it gets ``images / 255``.
    """
    mean = getattr(model, "input_mean_", None)
    if mean is not None and np.size(mean) and float(np.max(np.abs(mean))) <= 1.0:
        return images.astype(np.float32) / 255.0
    return images


def save_image(pixels, path):
    """Write a ``(c, h, w)`` uint8 array as a PNG file (``predict --save-inputs``)."""
    from PIL import Image

    array = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
    Image.fromarray(np.ascontiguousarray(array)).save(path)


def cmd_predict(args):
    """Predict the label of each image file (or every image in a folder)."""
    from ..datasets import read_image

    model = load_model(args.model, args.device)
    files = find_image_files(args.inputs)
    if model.input_shape_ is None:  # an ONNX pipeline that starts with a scikit-learn step
        raise CLIError(f"--model {args.model} does not say which images it reads (its "
                       "input shape); predict with it in Python")
    shape = tuple(int(s) for s in model.input_shape_)
    images = np.empty((len(files), *shape), dtype=np.uint8)
    inverted = []
    for i, path in enumerate(progress(files, desc="Reading images",
                                      enabled=show_progress(args) and len(files) > 1)):
        try:
            images[i], flipped = read_image(path, shape, invert=args.invert,
                                            layout=args.layout, return_inverted=True)
        except (ValueError, OSError) as exc:
            raise CLIError(" ".join(str(exc).split())) from None
        inverted.append(flipped)
    if args.save_inputs:
        os.makedirs(args.save_inputs, exist_ok=True)
        for i, path in enumerate(files):
            save_image(images[i], os.path.join(args.save_inputs, f"{i:04d}_{path.stem}.png"))
    proba = model.predict_proba(model_input(images, model))
    classes = np.asarray(model.classes_)
    k = min(args.top, len(classes))
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    rows = []
    for i, path in enumerate(files):
        top = [{"label": plain(classes[j]), "probability": float(proba[i, j])}
               for j in order[i]]
        rows.append({"path": str(path), "label": top[0]["label"],
                     "probability": top[0]["probability"], "top": top,
                     "inverted": inverted[i]})
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK
    width = max(len("path"), *(len(r["path"]) for r in rows))
    label_width = max(len("label"), *(len(str(r["label"])) for r in rows))
    print(f"{'path':<{width}}  {'label':<{label_width}}  probability  top-{k}")
    for r in rows:
        top = ", ".join(f"{t['label']} {t['probability']:.3f}" for t in r["top"])
        print(f"{r['path']:<{width}}  {str(r['label']):<{label_width}}  "
              f"{r['probability']:>11.3f}  {top}")
    return EXIT_OK


def add_predict_parser(sub):
    parser = sub.add_parser(
        "predict", help="predict the labels of image files (PNG, JPEG, ...)",
        formatter_class=HelpFormatter,
        description="Print the predicted label, its probability and the top classes of each "
                    "image file, or of every image in a folder (searched recursively). Images "
                    "of any size are converted to the model's input the way MNIST was made: "
                    "greyscale (RGB for 3-channel models), inverted when drawn dark on a "
                    "light background (decided from the image's border), the drawing cropped, "
                    "fitted into a 20x20 box and centred by its centre of mass in 28x28 "
                    "(scaled to the model's size), as 0-255 pixels.",
        epilog="examples:\n"
               "  skmnist predict -m skmnist_output/model.skmnist my_seven.png\n"
               "  skmnist predict -m model.skmnist drawings/ --json\n"
               "  skmnist predict -m model.skmnist photo.jpg --save-inputs seen/  "
               "# what the model sees")
    add_model_argument(parser)
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR",
                        help="image files, or folders of them")
    parser.add_argument("--top", type=positive_int, default=3, metavar="K",
                        help="show the K most probable labels (default 3)")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list: path, label, probability, top, inverted")
    parser.add_argument("--save-inputs", default=None, metavar="DIR",
                        help="also write each converted image (what the model sees) as a PNG "
                             "into DIR")
    add_device_argument(parser)
    add_image_arguments(parser, for_data=False)
    parser.set_defaults(func=cmd_predict)
    return parser
