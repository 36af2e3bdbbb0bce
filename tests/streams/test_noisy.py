"""noisy-mnist's noise kinds: each corrupts as documented, bad values are one-line option errors,
and the defaults record the same params (so the same run ids) as before the kinds existed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import lifelong
from conftest import one_line_error
from lifelong.errors import OptionError
from lifelong.streams.noisy import add_noise, blur, corrupt, occlude, salt_pepper


def gray(n: int = 8, value: int = 100) -> torch.Tensor:
    return torch.full((n, 28, 28), value, dtype=torch.uint8)


def test_gaussian_noise_has_the_std_asked_and_stays_in_range() -> None:
    out = add_noise(gray(20, 128), 0.1, torch.Generator().manual_seed(0)).float()
    assert abs(float(out.std()) - 25.5) < 1.0  # 0.1 of 255, hardly clipped around mid-gray
    assert abs(float(out.mean()) - 128) < 1.0


def test_salt_and_pepper_hits_the_fraction_asked_half_white_half_black() -> None:
    out = salt_pepper(gray(20), 0.3, torch.Generator().manual_seed(0))
    changed = out != 100
    assert abs(float(changed.float().mean()) - 0.3) < 0.01
    assert set(out[changed].unique().tolist()) == {0, 255}
    assert abs(float((out == 255).float().mean()) - 0.15) < 0.01


def test_occlusion_erases_one_square_of_the_side_asked_per_image() -> None:
    out = occlude(gray(50), 0.5, torch.Generator().manual_seed(0))
    side = 14
    for image in out:
        rows, cols = (image == 0).nonzero(as_tuple=True)
        assert len(rows) == side * side
        assert int(rows.max() - rows.min()) + 1 == side and int(cols.max() - cols.min()) + 1 == side
    tops = {int((image == 0).nonzero()[0, 0]) for image in out}
    assert len(tops) > 3  # placed at random, not at one spot
    assert torch.equal(occlude(gray(2), 0.0, torch.Generator()), gray(2))


def test_blur_spreads_a_dot_with_the_std_asked_and_keeps_flat_regions() -> None:
    dot = torch.zeros(1, 28, 28, dtype=torch.uint8)
    dot[0, 14, 14] = 255
    out = blur(dot, 1.0).float()[0]
    assert int(out.argmax()) == 14 * 28 + 14 and float(out[14, 14]) < 60
    profile = out[14] / out[14].sum()
    positions = torch.arange(28, dtype=torch.float32)
    assert abs(float((profile * (positions - 14) ** 2).sum()) ** 0.5 - 1.0) < 0.1
    assert int(blur(gray(1), 1.0)[0, 14, 14]) == 100
    assert torch.equal(blur(gray(1), 0.0), gray(1))


def test_corrupt_dispatches_every_kind_and_gaussian_is_the_old_noise() -> None:
    images = gray(4)
    old = add_noise(images, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(corrupt(images, "gaussian", 0.5, torch.Generator().manual_seed(3)), old)
    diagonal = torch.eye(28, dtype=torch.uint8)[None] * 255  # a blur changes it, unlike flat gray
    for kind in ("salt-pepper", "occlusion", "blur"):
        assert not torch.equal(corrupt(diagonal, kind, 0.5, torch.Generator().manual_seed(3)), diagonal), kind


def test_defaults_keep_the_old_params_and_a_kind_is_recorded_only_when_set(fake_mnist: Path) -> None:
    default = lifelong.streams.noisy_mnist()
    assert default.params == dict(noise=0.5, seed=0, scenario="domain", examples=None, normalize=False)
    explicit = lifelong.streams.noisy_mnist(noise_kind="gaussian")
    assert explicit.params == default.params
    assert torch.equal(explicit[0].train.x, default[0].train.x)
    sp = lifelong.streams.noisy_mnist(noise=0.2, noise_kind="salt-pepper")
    assert sp.params["noise_kind"] == "salt-pepper"
    assert abs(float((sp[0].test.x != sp[1].test.x).float().mean()) - 0.2) < 0.03
    assert torch.equal(sp[1].train.x, default[1].train.x)  # the clean task stays clean


@pytest.mark.parametrize(("options", "words"), [
    ({"noise_kind": "speckle"}, "--stream.noise_kind: 'speckle' is not one of"),
    ({"noise": -0.1}, "--stream.noise: must be a finite number"),
    ({"noise": float("nan")}, "--stream.noise: must be a finite number"),
    ({"noise": 1.5, "noise_kind": "salt-pepper"}, "at most 1"),
    ({"noise": 1.5, "noise_kind": "occlusion"}, "at most 1"),
])
def test_bad_noise_options_are_one_line_option_errors(fake_mnist: Path, options: dict[str, object],
                                                      words: str) -> None:
    assert words in one_line_error(OptionError, lambda: lifelong.streams.noisy_mnist(**options))  # type: ignore[arg-type]
