"""skmnist predict: labels and probabilities of image files."""

import json

import numpy as np
import pytest
from PIL import Image

from skmnist.__main__ import main
from skmnist.cli._common import CLIError
from skmnist.cli._predict import find_image_files, model_input, save_image

from .._drawing import draw_digit


def test_predict_files_of_odd_sizes_and_colours(model_path, drawn, capsys):
    files = sorted(str(p) for p in drawn.iterdir())
    assert main(["predict", "--model", str(model_path), *files]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["path", "label", "probability", "top-3"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == set(files)
    assert rows[str(drawn / "one_dark_on_light.png")][1] == "1"
    assert rows[str(drawn / "one_light_on_dark.png")][1] == "1"
    assert rows[str(drawn / "seven_rgb.jpg")][1] == "7"
    for row in rows.values():
        assert 0 < float(row[2]) <= 1
        assert len(row) == 3 + 2 * 3  # path label probability + three (label, probability)
    assert err == ""


def test_predict_a_folder_as_json(model_path, drawn, capsys):
    assert main(["predict", "-m", str(model_path), str(drawn), "--json", "--top", "2"]) == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert [r["path"] for r in rows] == sorted(str(p) for p in drawn.iterdir())
    one = next(r for r in rows if r["path"].endswith("one_dark_on_light.png"))
    assert one["label"] == 1 and one["inverted"] is True
    assert [t["label"] for t in one["top"]][0] == 1 and len(one["top"]) == 2
    assert one["probability"] == one["top"][0]["probability"]
    assert err == ""  # no progress output in --json mode


def test_predict_save_inputs(model_path, drawn, tmp_path, capsys):
    seen = tmp_path / "seen"
    assert main(["predict", "-m", str(model_path), str(drawn / "seven_rgb.jpg"),
                 "--save-inputs", str(seen)]) == 0
    image = Image.open(seen / "0000_seven_rgb.png")
    assert image.size == (28, 28) and image.mode == "L"


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n broken", b"", b"GIF89a"])
def test_unreadable_image_is_one_line_exit_1(model_path, drawn, content, capsys):
    bad = drawn / "corrupt.png"
    bad.write_bytes(content)
    assert main(["predict", "-m", str(model_path), str(drawn)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("skmnist: error: ") and err.count("\n") == 1
    assert "corrupt.png: cannot read the image" in err


def test_missing_file_and_model(model_path, tmp_path, capsys):
    assert main(["predict", "-m", str(model_path), str(tmp_path / "nope.png")]) == 1
    assert capsys.readouterr().err == f"skmnist: error: {tmp_path / 'nope.png'}: no such file " \
                                      "or directory\n"
    assert main(["predict", "-m", str(tmp_path / "missing.skmnist"), "x.png"]) == 1
    assert "--model: no such file" in capsys.readouterr().err
    not_a_model = tmp_path / "fake.skmnist"
    not_a_model.write_text("hello")
    assert main(["predict", "-m", str(not_a_model), "x.png"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("skmnist: error: ") and err.count("\n") == 1


def test_model_folder_is_accepted(model_path, drawn, capsys):
    assert main(["predict", "-m", str(model_path.parent), str(drawn / "seven_rgb.jpg")]) == 0
    assert "seven_rgb.jpg" in capsys.readouterr().out


def test_predict_usage_errors_exit_2(model_path):
    for argv in (["predict", "x.png"], ["predict", "-m", str(model_path)],
                 ["predict", "-m", str(model_path), "x.png", "--top", "0"],
                 ["predict", "-m", str(model_path), "x.png", "--layout", "sideways"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_find_image_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    draw_digit((10, 10)).save(tmp_path / "a" / "b" / "x.png")
    draw_digit((10, 10)).save(tmp_path / "a" / "y.JPG")
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    single = tmp_path / "z.data"
    single.write_bytes(b"")
    found = find_image_files([tmp_path / "a", single])
    assert [p.name for p in found] == ["x.png", "y.JPG", "z.data"]
    with pytest.raises(CLIError, match="no such file or directory"):
        find_image_files([tmp_path / "nope.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CLIError, match="no image files"):
        find_image_files([tmp_path / "empty"])


def test_model_input_matches_the_training_pixel_range():
    class Model:
        input_mean_ = np.array([[[33.0]]])

    images = np.full((2, 1, 4, 4), 255, dtype=np.uint8)
    assert model_input(images, Model()) is images
    Model.input_mean_ = np.array([[[0.13]]])  # trained on 0-1 floats
    assert model_input(images, Model()).max() == pytest.approx(1.0)


def test_save_image_round_trip(tmp_path):
    pixels = np.arange(3 * 5 * 4, dtype=np.uint8).reshape(3, 5, 4)
    save_image(pixels, tmp_path / "rgb.png")
    save_image(pixels[:1], tmp_path / "grey.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "rgb.png")),
                                  pixels.transpose(1, 2, 0))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "grey.png")), pixels[0])
