"""grad_hist.png: one panel per loss term, each phase end a line, on one shared axis."""
import h5py
import numpy as np

from pinn_cli.io.grad_hist import gradient_figure, plot_gradient_histograms


def _gradients(path, terms, scales, steps=((100, "pretrain"), (300, "identify"))):
    rng = np.random.default_rng(0)
    names = ["hidden.0.weight", "hidden.0.bias", "head.weight", "head.bias"]
    with h5py.File(path, "w") as f:
        for step, phase in steps:
            g = f.create_group(str(step))
            g.attrs["phase"], g.attrs["parameters"] = phase, names
            for term, scale in zip(terms, scales):
                for n in names:
                    g[f"{term}/{n}"] = (scale * rng.normal(size=(20, 2))).astype("float32")


def test_one_panel_per_term_with_a_line_per_phase_end(tmp_path):
    terms = ["data", "heat", "initial", "left", "right"]  # as gradients.h5 lists them
    _gradients(tmp_path / "gradients.h5", terms, [1e-2, 1e-5, 0.0, 1e-3, 1e-3])
    with h5py.File(tmp_path / "gradients.h5", "r") as f:
        fig = gradient_figure(f)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == [f"loss term {t}" for t in terms]
    assert len({ax.get_xlim() for ax in shown}) == 1  # one axis: the terms compare by eye
    assert [len(ax.patches) for ax in shown] == [2, 2, 0, 2, 2]  # all-zero gradients: no line
    assert [t.get_text() for t in shown[0].get_legend().get_texts()] == [
        "step 100 (pretrain)", "step 300 (identify)"]
    lo, hi = shown[0].get_xlim()
    assert lo <= -6 and hi >= -2  # log10 |gradient|: 1e-5 and 1e-2 both on it
    labelled = [ax.get_xlabel() != "" for ax in shown]
    assert labelled == [False, False, True, True, True]  # the lowest panel of each column
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_grad_hist_png_is_written_beside_the_gradients(tmp_path):
    _gradients(tmp_path / "gradients.h5", ["data", "heat"], [1e-2, 1e-4])
    path = plot_gradient_histograms(tmp_path / "gradients.h5")
    assert path == tmp_path / "grad_hist.png"
    import matplotlib.image

    height, width = matplotlib.image.imread(path).shape[:2]
    assert 200 < height < 600 and width < 1200  # two panels, side by side
