import csv
import json

import cv2
import numpy as np
import pytest
from skimage import data

from colorize_cli import colorspace, evaluate, metrics
from conftest import invoke


def test_identical_images_score_perfectly():
    bgr = data.astronaut()[::2, ::2, ::-1].copy()
    row = evaluate.score(bgr, bgr)
    assert row["psnr"] == metrics.PSNR_CAP and row["ssim"] == pytest.approx(1.0)
    assert row["delta_e"] == pytest.approx(0.0, abs=1e-6) and row["auc"] == pytest.approx(1.0)
    assert row["colorfulness"] == row["truth_colorfulness"]


def test_ssim_and_ciede2000_equal_scikit_images():
    """The base install computes them itself (no scikit-image): the numbers must stay those of the
    reference implementations every earlier report used."""
    from skimage.color import deltaE_ciede2000
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    truth = data.astronaut()[::2, ::2, ::-1].copy()
    output = np.clip(truth.astype(int) + rng.integers(-40, 40, truth.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(output, truth) == pytest.approx(structural_similarity(output, truth, channel_axis=2, data_range=255), abs=1e-9)
    gray = data.camera()[:101, :77]
    assert metrics.ssim(gray // 2, gray) == pytest.approx(structural_similarity(gray // 2, gray, data_range=255), abs=1e-9)
    # random colours over the whole Lab gamut, with neutral ones (zero chroma) on either side, and hue wraps
    lab1 = rng.uniform([0, -128, -128], [100, 127, 127], (20000, 3))
    lab2 = rng.uniform([0, -128, -128], [100, 127, 127], (20000, 3))
    lab1[:500, 1:], lab2[500:1000, 1:] = 0, 0
    np.testing.assert_allclose(metrics.ciede2000(lab1, lab2), deltaE_ciede2000(lab1, lab2), atol=1e-9)
    # Sharma, Wu & Dalal (2005), Table 1: pairs 1, 7 and 17 of the published test data
    pairs = np.array([[[50, 2.6772, -79.7751], [50, 0, -82.7485]], [[50, 0, 0], [50, -1, 2]],
                      [[50, 2.5, 0], [73, 25, -18]]])
    np.testing.assert_allclose(metrics.ciede2000(pairs[:, 0], pairs[:, 1]), [2.0425, 2.3669, 27.1492], atol=1e-4)


def test_auc_of_a_uniform_ab_shift_by_hand():
    truth = np.zeros((4, 4, 3), np.float32)
    truth[..., 0] = 50
    shifted = truth.copy()
    shifted[..., 1] = 6
    shifted[..., 2] = 8  # |Δab| = 10 everywhere: the CDF is 0 below 10 and 1 from 10 on
    assert evaluate.ab_error_auc(shifted, truth) == pytest.approx((151 - 10) / 151)


def test_delta_e_of_a_pure_lightness_shift_by_hand():
    a, b = np.full((8, 8, 3), 100, np.uint8), np.full((8, 8, 3), 120, np.uint8)
    la, lb = colorspace.lightness(a[..., 0])[0, 0], colorspace.lightness(b[..., 0])[0, 0]
    mean_l = (la + lb) / 2
    s_l = 1 + 0.015 * (mean_l - 50) ** 2 / np.sqrt(20 + (mean_l - 50) ** 2)  # CIEDE2000 lightness weight
    assert evaluate.score(b, a)["delta_e"] == pytest.approx(abs(lb - la) / s_l, rel=1e-3)


def test_gray_baseline_has_no_colour_and_the_photos_lightness():
    bgr = data.coffee()[..., ::-1].copy()
    gray = evaluate.gray_baseline(bgr)
    assert metrics.colorfulness(gray) < 0.5
    assert np.abs(colorspace.lightness(gray) - colorspace.lightness(bgr)).max() < 0.6


@pytest.fixture
def eval_folder(tmp_path):
    folder = tmp_path / "colour"
    folder.mkdir()
    for name, rgb in [("astronaut", data.astronaut()), ("coffee", data.coffee()), ("chelsea", data.chelsea())]:
        cv2.imwrite(str(folder / f"{name}.png"), cv2.resize(rgb, (96, 64))[:, :, ::-1])
    return folder


def test_eval_command_writes_consistent_reports(eval_folder, tmp_path):
    out = tmp_path / "report"
    result = invoke("eval", eval_folder, "-m", "tiny", "--out", out, "--grid-rows", "2")
    assert result.exit_code == 0, result.output
    assert "gray baseline" in result.output and "tiny" in result.output
    summary = json.loads((out / "metrics.json").read_text())
    means = summary["datasets"]["colour"]["means"]
    assert set(means) == {"gray baseline", "tiny"}
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6
    tiny_psnr = np.mean([float(r["psnr"]) for r in rows if r["model"] == "tiny"])
    assert tiny_psnr == pytest.approx(means["tiny"]["psnr"], rel=1e-9)
    assert f"| tiny | {means['tiny']['psnr']:.2f} |" in (out / "report.md").read_text()
    grids = sorted(out.glob("grid_colour_*.png"))
    assert len(grids) == 2  # 3 photos, 2 per grid
    grid = cv2.imread(str(grids[0]))
    assert grid.shape == (28 + 2 * 144, 3 * 192, 3)  # header + 2 rows; input | tiny | truth
    assert (out / "psnr_vs_colorfulness.png").is_file()


def test_eval_is_deterministic(eval_folder, tmp_path):
    runs = []
    for i in range(2):
        invoke("eval", eval_folder, "-m", "tiny", "--out", tmp_path / f"r{i}")
        runs.append(json.loads((tmp_path / f"r{i}" / "metrics.json").read_text())["images"])
    for a, b in zip(*runs):
        assert {k: v for k, v in a.items()} == {k: v for k, v in b.items()}


def test_eval_of_black_and_white_folder_scores_colourfulness_only(tmp_path):
    folder = tmp_path / "bw"
    folder.mkdir()
    cv2.imwrite(str(folder / "camera.png"), cv2.resize(data.camera(), (64, 64)))
    out = tmp_path / "report"
    result = invoke("eval", folder, "-m", "tiny", "--out", out)
    assert result.exit_code == 0 and "no colour truth" in result.output
    means = json.loads((out / "metrics.json").read_text())["datasets"]["bw"]["means"]["tiny"]
    assert "psnr" not in means and "colorfulness" in means
    assert cv2.imread(str(out / "grid_bw_01.png")).shape[1] == 2 * 192  # input | tiny, no truth column
