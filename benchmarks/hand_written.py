"""Each kept hand-written numerical routine against the library call it replaces, in one process.

disbench keeps a hand-written routine only where it is exact against its reference and at
least 5x faster on a path users wait for, or (the augmentations) where it does what the
library cannot: record every image's parameters. Per routine this prints the library's
seconds, ours, the ratio and how far the results are apart:

- ``gbt``: DCI's boosted trees (``metrics/gbt_exact.py``, all factors at once) against one
  ``GradientBoostingClassifier(random_state=0)`` per factor (dlib), ``--gbt-n`` train points;
- ``linear-svc``: SAP's one-feature SVMs (``metrics/linear_svc.py``) against one
  ``LinearSVC(C=0.01, class_weight="balanced")`` per (dimension, factor) (dlib), at dlib's
  size: 10,000 train / 5,000 test points;
- ``kernel-ridge``: r2's kernel ridge (``metrics/r2.py``: 3-fold grid search over 4 alphas x
  4 gammas per factor group, refit, predict) against the reference's
  ``GridSearchCV(KernelRidge(kernel="rbf"), cv=3)`` once per factor group, ``--krr-n`` fit points;
- ``lobpcg``: GeoManCEr's eigensolver (``geomancer/eigensolver.py``: coarse-to-fine cascade,
  LOBPCG refinement) against ARPACK ``eigsh(which="SA")`` on the same connection Laplacian
  of S2xS2 at ``--geomancer-n`` points (the eigenvalues are compared; the cascade stops at a
  residual tolerance, so they agree to a few digits, not to round-off);
- ``augment``: the augmentations (``datasets/augment.py``: one batched resampling and
  colour pass with recorded parameters) against torchvision's per-image transforms of the
  same recipe (not the same random draws, so only the time is compared).

Both sides of a row run with one BLAS thread (as disbench's metrics do) on the same data.
The data are benchmarks/metrics.py's synthetic codes (10 dimensions, 5 discrete factors of
sizes 3, 6, 40, 32, 32).

Usage:
    PYTHONPATH=$PWD python benchmarks/hand_written.py                       # every routine
    PYTHONPATH=$PWD python benchmarks/hand_written.py --only linear-svc --only kernel-ridge
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "metrics"))

from benchmarks.metrics import SIZES, make_codes  # noqa: E402

ROUTINES = ("gbt", "linear-svc", "kernel-ridge", "lobpcg", "augment")


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, value


def boosted_trees(n: int) -> tuple[float, float, str]:
    from sklearn.ensemble import GradientBoostingClassifier

    from disbench.metrics.gbt_exact import fit_exact_boosted_trees

    rng = np.random.default_rng(0)
    codes, factors = make_codes(n, rng)
    test_codes, test_factors = make_codes(5_000, rng)
    ours_seconds, ours = timed(fit_exact_boosted_trees, codes, factors, list(SIZES), test_codes, test_factors)

    def library():
        importances, accuracy = [], []
        for k in range(len(SIZES)):
            model = GradientBoostingClassifier(random_state=0).fit(codes, factors[:, k])
            importances.append(model.feature_importances_)
            accuracy.append(np.mean(model.predict(test_codes) == test_factors[:, k]))
        return np.stack(importances, axis=1), np.array(accuracy)

    library_seconds, (importances, accuracy) = timed(library)
    difference = (f"importances max |diff| {np.abs(ours.importances - importances).max():.4f}, "
                  f"test accuracy max |diff| {np.abs(ours.test_accuracy - accuracy).max():.4f} (exact ties broken apart)")
    return library_seconds, ours_seconds, difference


def one_feature_svms() -> tuple[float, float, str]:
    import metrics_dlib_reference as dlib

    from disbench.metrics.sap import sap_score_matrix

    rng = np.random.default_rng(0)
    codes, factors = make_codes(10_000, rng)
    test_codes, test_factors = make_codes(5_000, rng)
    continuous = [False] * len(SIZES)
    ours_seconds, matrix = timed(sap_score_matrix, codes, factors, test_codes, test_factors, continuous, 0.01)
    top = -np.sort(-matrix, axis=0)[:2]
    library_seconds, reference = timed(dlib.sap, codes, factors, test_codes, test_factors, False)
    ours = float(np.mean(top[0] - top[1]))
    return library_seconds, ours_seconds, f"SAP {ours:.6f} against {reference:.6f} (|diff| {abs(ours - reference):.1e})"


def kernel_ridge(n: int) -> tuple[float, float, str]:
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GridSearchCV

    from disbench.metrics.r2 import REFERENCE_ALPHAS, REFERENCE_GAMMAS, kernel_r2, standardise

    rng = np.random.default_rng(0)
    codes, factors = make_codes(n + 2_000, rng)
    x_fit, x_test = standardise(codes[:n], codes[n:])
    y_fit, y_test = standardise(factors[:n].astype(np.float64), factors[n:].astype(np.float64))
    groups = ["content", "content", "content", "style", "style"]
    ours_seconds, (ours, chosen) = timed(kernel_r2, x_fit, y_fit, x_test, y_test, REFERENCE_ALPHAS, REFERENCE_GAMMAS, groups)

    def library():
        scores = np.zeros(len(groups))
        for block in (slice(0, 3), slice(3, 5)):
            grid = {"alpha": list(REFERENCE_ALPHAS), "gamma": list(REFERENCE_GAMMAS)}
            search = GridSearchCV(KernelRidge(kernel="rbf"), grid, cv=3).fit(x_fit, y_fit[:, block])
            scores[block] = r2_score(y_test[:, block], search.predict(x_test), multioutput="raw_values")
        return scores

    library_seconds, reference = timed(library)
    return library_seconds, ours_seconds, f"R^2 max |diff| {np.abs(ours - reference).max():.1e}"


def eigensolver(n: int) -> tuple[float, float, str]:
    import scipy.sparse
    import scipy.sparse.linalg

    from benchmarks.geomancer import sample
    from disbench.geomancer.eigensolver import laplacian_on, smallest_eigenpairs
    from disbench.geomancer.graph import knn_graph, local_spectra

    dataset, _, points = sample("S2xS2", n)
    k = dataset.intrinsic_dim
    tangents, _ = local_spectra(points, knn_graph(points, 2 * k), k)
    _, laplacian = laplacian_on(points, tangents, 2 * k)
    laplacian = scipy.sparse.csr_matrix(laplacian)
    count = 10
    ours_seconds, (values, _, _) = timed(
        smallest_eigenpairs, laplacian, points, tangents, count, 2 * k, np.random.default_rng(1)
    )
    library_seconds, (reference, _) = timed(scipy.sparse.linalg.eigsh, laplacian, k=count, which="SA")
    reference = np.sort(reference)
    relative = np.abs(values - reference).max() / reference.max()
    return library_seconds, ours_seconds, (
        f"{laplacian.shape[0]:,} unknowns; eigenvalues max |diff| / largest {relative:.1e}"
    )


def augmentations(batch: int, size: int = 64) -> tuple[float, float, str]:
    import torch
    from torchvision.transforms import v2

    from disbench.datasets.augment import AppearanceGroup, SpatialGroup

    images = torch.rand(batch, 3, 2 * size, 2 * size)
    spatial, appearance = SpatialGroup(size), AppearanceGroup(size)
    rng = np.random.default_rng(0)

    def ours():
        view = spatial.apply(images, spatial.sample(batch, rng))
        return appearance.apply(view, appearance.sample(batch, rng))

    kernel = 2 * round(0.1 * size) + 1  # SimCLR's blur kernel, 10% of the image
    recipe = v2.Compose([
        v2.RandomResizedCrop(size, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        v2.RandomGrayscale(0.2),
        v2.RandomApply([v2.GaussianBlur(kernel, sigma=(0.1, 2.0))], p=0.5),
        v2.RandomSolarize(0.5, p=0.1),
    ])
    torch.manual_seed(0)
    ours_seconds, _ = timed(ours)
    library_seconds, _ = timed(lambda: torch.stack([recipe(image) for image in images]))
    return library_seconds, ours_seconds, f"{batch} images {2 * size} px -> {size} px; parameters recorded: ours only"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=ROUTINES, help="routines to run (repeatable; default all)")
    parser.add_argument("--gbt-n", type=int, default=2_000, help="train points of the boosted trees (dlib: 10,000)")
    parser.add_argument("--krr-n", type=int, default=2_000, help="fit points of the kernel ridge")
    parser.add_argument("--geomancer-n", type=int, default=2_000, help="S2xS2 points of the eigensolver")
    parser.add_argument("--augment-batch", type=int, default=256, help="images per augmentation batch")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    console = Console(stderr=True)
    routines = {
        "gbt": lambda: boosted_trees(args.gbt_n),
        "linear-svc": one_feature_svms,
        "kernel-ridge": lambda: kernel_ridge(args.krr_n),
        "lobpcg": lambda: eigensolver(args.geomancer_n),
        "augment": lambda: augmentations(args.augment_batch),
    }
    table = Table(title="hand-written routines against the library call they replace (same process, one BLAS thread)")
    for column in ("routine", "library s", "disbench s", "ratio", "results"):
        table.add_column(column, justify="left" if column in ("routine", "results") else "right")
    for name in args.only or ROUTINES:
        console.log(f"{name} ...")
        with threadpool_limits(limits=1, user_api="blas"):
            library_seconds, ours_seconds, difference = routines[name]()
        table.add_row(name, f"{library_seconds:.2f}", f"{ours_seconds:.2f}", f"{library_seconds / ours_seconds:.1f}x", difference)
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
