"""``skmnist export``: a saved model as an ONNX file (float32 or int8) or a torch program."""

import json
import os

from ._common import (
    HelpFormatter,
    EXIT_OK,
    CLIError,
    add_model_argument,
    load_model,
    positive_int,
)


def default_output(model_path, int8):
    """``model.skmnist`` -> ``model.onnx`` (``model-int8.onnx`` with ``--int8``), same folder."""
    path = model_path
    if os.path.isdir(path):
        path = os.path.join(path, "model.skmnist")
    stem = os.path.splitext(path)[0]
    return f"{stem}-int8.onnx" if int8 else f"{stem}.onnx"


def calibration_images(args, model):
    """``--calibration-size`` training images of ``--calibration``, in the model's pixel range.

    The training part of the data (the held-out split of ``skmnist train``
    for the same ``--seed``), shuffled with ``--seed``: calibration never
    sees the images ``evaluate`` measures on.
    """
    import numpy as np

    from ._data import load_data
    from ._predict import model_input

    shape = getattr(model, "input_shape_", None)  # a saved Pipeline has none
    try:
        data = load_data(args.calibration, data_home=args.data_home, seed=args.seed,
                         image_shape=tuple(shape) if shape is not None else (1, 28, 28))
    except CLIError as exc:  # worded for --data, the option of the other commands
        message = str(exc)
        if message.startswith("--data"):
            message = "--calibration" + message[len("--data"):]
        raise CLIError(message) from None
    if data.X_train is None or len(data.X_train) == 0:
        raise CLIError(f"--calibration {args.calibration}: no training images to calibrate on")
    order = np.random.RandomState(args.seed).permutation(len(data.X_train))
    return model_input(data.X_train[order[:args.calibration_size]], model)


def cmd_export(args):
    """Export a saved model with skmnist.export_onnx (or skmnist.deploy.export_torch)."""
    from .. import export_onnx
    from ..deploy import OnnxClassifier, export_torch

    if args.calibration is not None and not args.int8:
        raise CLIError("--calibration only applies with --int8")
    model = load_model(args.model, "cpu")
    if isinstance(model, OnnxClassifier):
        raise CLIError(f"--model {args.model} is an ONNX file already; export a model saved "
                       "by 'skmnist train' or skmnist.save")
    output = args.output or default_output(args.model, args.int8)
    if output.lower().endswith(".pt2"):
        if args.int8:
            raise CLIError("--int8 applies to ONNX files (-o NAME.onnx), not to torch "
                           "programs (.pt2)")
        export_torch(model, output)
        kind = "torch.export program"
    else:
        calibration = None
        if args.int8:
            args.calibration = args.calibration or "sample"
            calibration = calibration_images(args, model)
        export_onnx(model, output, quantize="int8" if args.int8 else None,
                    calibration_X=calibration)
        kind = "ONNX, int8" if args.int8 else "ONNX, float32"
    size = os.path.getsize(output)
    if args.json:
        print(json.dumps({"path": output, "bytes": size, "format": kind,
                          "calibration": args.calibration if args.int8 else None}, indent=1))
    else:
        print(f"Wrote {output} ({kind}, {size / 1024:.0f} KiB).")
        if not output.lower().endswith(".pt2"):
            print(f"Use it with: skmnist predict -m {output} IMAGES..., or "
                  "skmnist.OnnxClassifier in Python (onnxruntime only, no torch).")
    return EXIT_OK


def add_export_parser(sub):
    parser = sub.add_parser(
        "export", help="export a saved model to ONNX (optionally int8) or a torch program",
        formatter_class=HelpFormatter,
        description="Write a saved model as one ONNX file whose graph takes raw images "
                    "(flat rows of float32 pixel values) and returns the labels and "
                    "probabilities, input scaling and softmax included, for ONNX Runtime "
                    "without torch ('skmnist predict' and 'evaluate' accept it as --model). "
                    "--int8 quantises the convolutions and dense layers (static, calibrated "
                    "on training images); -o NAME.pt2 writes a torch.export program instead. "
                    "Needs the onnx extra: pip install \"skmnist[onnx]\".",
        epilog="examples:\n"
               "  skmnist export -m skmnist_output/model.skmnist            "
               "# skmnist_output/model.onnx\n"
               "  skmnist export -m model.skmnist -o model-int8.onnx --int8 --calibration sample\n"
               "  skmnist export -m model.skmnist --int8 --calibration fashion\n"
               "  skmnist export -m model.skmnist -o model.pt2")
    add_model_argument(parser)
    parser.add_argument("--output", "-o", default=None, metavar="PATH",
                        help="the file to write: .onnx, or .pt2 for a torch.export program "
                             "(default: next to the model, model.onnx or model-int8.onnx)")
    parser.add_argument("--int8", action="store_true",
                        help="int8 static quantisation (convolutions and dense layers)")
    parser.add_argument("--calibration", default=None, metavar="SOURCE",
                        help="with --int8: the images to calibrate on, as --data of "
                             "'skmnist train' (sample, mnist, fashion or a PATH); their "
                             "training part is used (default sample)")
    parser.add_argument("--calibration-size", type=positive_int, default=500, metavar="N",
                        help="calibration images (default 500)")
    parser.add_argument("--data-home", default=None, metavar="DIR",
                        help="where mnist and fashion are kept (default: $SKMNIST_DATA or "
                             "~/skmnist_data)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the held-out split and of the calibration draw "
                             "(default 0)")
    parser.add_argument("--json", action="store_true",
                        help="print the path, size and format as JSON")
    parser.set_defaults(func=cmd_export)
    return parser
