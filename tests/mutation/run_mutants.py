"""Mutation check: each named one-line bug in the science must make a test fail.

Every mutant names a file, an exact source snippet, its replacement and the test files that
should catch it. For each mutant the repository is copied to a temporary folder, the snippet
is replaced there (the working tree is never touched), and the tests run on the copy::

    PYTHONPATH=<copy> python -m pytest -x -q <test files>

A mutant is *caught* when pytest fails, *survived* when it passes. The script prints a
Markdown table and exits 1 when a mutant survived, timed out, or its snippet no longer
matches the source exactly once (the code moved: update the mutant). Run it on demand,
not in CI (docs/testing.md)::

    python tests/mutation/run_mutants.py                 # every mutant, one at a time
    python tests/mutation/run_mutants.py --jobs 2        # two mutants at once
    python tests/mutation/run_mutants.py --only beta-vae-kl-weight --only mig-unnormalised
    python tests/mutation/run_mutants.py --list          # names and files, nothing run

Before the mutants, the same tests run once on an unmutated copy (``--no-baseline`` skips
it): a failing baseline would make every mutant look caught.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
#: not copied: version control, caches, and run outputs that tests never read
IGNORED = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", "*.pyc", "runs", ".venv", "*.egg-info")

VAE_TESTS = ("tests/test_vae_loss_weights.py", "tests/test_vae_family.py")
SSL_TESTS = ("tests/test_ssl_losses.py",)
CODES_METRIC_TESTS = ("tests/metrics/test_metrics_reference.py", "tests/metrics/test_metrics_known_answers.py")
ENCODER_METRIC_TESTS = ("tests/metrics/test_metrics_reference_encoder.py", "tests/metrics/test_metrics_encoder.py")
SPRITE_TESTS = ("tests/test_sprites_geometry.py", "tests/test_datasets_dsprites.py")
VIEW_TESTS = ("tests/test_synthetic.py", "tests/test_datasets_dsprites.py")


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: ``original`` (found exactly once in ``file``) becomes ``replacement``."""

    name: str
    file: str
    original: str
    replacement: str
    tests: tuple[str, ...]
    meaning: str


MUTANTS = [
    # --- VAE family losses ---------------------------------------------------------------------
    Mutant("beta-vae-kl-weight", "disbench/methods/vae.py",
           'return self.hyperparameters(hyper)["beta"] * kl', "return kl",
           VAE_TESTS, "beta-VAE ignores beta"),
    Mutant("beta-tcvae-tc-weight", "disbench/methods/vae.py",
           'kl + (self.hyperparameters(hyper)["beta"] - 1.0) * total_correlation(z, mean, logvar)',
           'kl + self.hyperparameters(hyper)["beta"] * total_correlation(z, mean, logvar)',
           VAE_TESTS, "beta-TCVAE weighs TC by beta instead of beta - 1"),
    Mutant("gaussian-kl-uses-std", "disbench/methods/vae.py",
           "0.5 * (mean.pow(2) + logvar.exp() - logvar - 1.0)",
           "0.5 * (mean.pow(2) + (0.5 * logvar).exp() - logvar - 1.0)",
           VAE_TESTS, "KL uses the standard deviation where the variance belongs"),
    Mutant("total-correlation-sign", "disbench/methods/vae.py",
           "return (log_qz - log_qz_product).mean()", "return (log_qz_product - log_qz).mean()",
           VAE_TESTS, "TC estimate with its sign flipped"),
    Mutant("annealed-vae-no-abs", "disbench/methods/vae.py",
           'hyper["gamma"] * (kl - capacity).abs()', 'hyper["gamma"] * (kl - capacity)',
           VAE_TESTS, "AnnealedVAE rewards KL below the capacity instead of pinning it"),
    Mutant("dip-vae-ii-drops-posterior-variance", "disbench/methods/vae.py",
           "+ torch.diag(logvar.exp().mean(dim=0))", "+ 0.0 * torch.diag(logvar.exp().mean(dim=0))",
           VAE_TESTS, "DIP-VAE-II becomes DIP-VAE-I"),
    Mutant("factor-vae-tc-sign", "disbench/methods/vae.py",
           "(logits[:, 0] - logits[:, 1]).mean()", "(logits[:, 1] - logits[:, 0]).mean()",
           VAE_TESTS, "FactorVAE rewards total correlation"),
    Mutant("bernoulli-reconstruction-averaged", "disbench/methods/vae.py",
           "return per_example.flatten(1).sum(dim=1).mean()", "return per_example.flatten(1).mean(dim=1).mean()",
           VAE_TESTS, "reconstruction averaged over pixels: the KL weight grows by the pixel count"),
    # --- self-supervised losses ---------------------------------------------------------------
    Mutant("infonce-alignment-times-temperature", "disbench/methods/ssl_losses.py",
           "-(query * key).sum(dim=-1).mean() / temperature", "-(query * key).sum(dim=-1).mean() * temperature",
           SSL_TESTS, "alignment multiplied by tau instead of divided"),
    Mutant("infonce-entropy-keeps-positives", "disbench/methods/ssl_losses.py",
           'torch.logsumexp(logits.masked_fill(same_example, float("-inf")), dim=1).mean()',
           "torch.logsumexp(logits, dim=1).mean()",
           SSL_TESTS, "entropy term's denominator includes the anchor's own views"),
    Mutant("nt-xent-anchor-is-its-own-positive", "disbench/methods/ssl_losses.py",
           "positives = same_example & ~itself", "positives = same_example",
           SSL_TESTS, "SimCLR counts the anchor as its own positive"),
    Mutant("vicreg-variance-summed", "disbench/methods/ssl_losses.py",
           "return F.relu(1.0 - std).mean()", "return F.relu(1.0 - std).sum()",
           SSL_TESTS, "variance hinge summed over dimensions instead of averaged"),
    Mutant("vicreg-covariance-biased", "disbench/methods/ssl_losses.py",
           "covariance = centred.T @ centred / (n - 1)", "covariance = centred.T @ centred / n",
           SSL_TESTS, "covariance divided by N instead of N - 1"),
    Mutant("dual-ascent-unprojected", "disbench/methods/ssl_losses.py",
           "torch.clamp(lambdas + step_size * (violations.to(lambdas) - tolerance), min=0.0)",
           "lambdas + step_size * (violations.to(lambdas) - tolerance)",
           SSL_TESTS, "multipliers may go negative"),
    # --- metrics ----------------------------------------------------------------------------------
    Mutant("mig-unnormalised", "disbench/metrics/mig.py",
           "gaps = (top_two[0] - top_two[1]) / entropy", "gaps = top_two[0] - top_two[1]",
           CODES_METRIC_TESTS, "MIG gap not divided by the factor entropy"),
    Mutant("sap-top-score-not-gap", "disbench/metrics/sap.py",
           "gaps = top_two[0] - top_two[1]", "gaps = top_two[0]",
           CODES_METRIC_TESTS, "SAP reports the best score, not the gap to the second"),
    Mutant("dci-disentanglement-unweighted", "disbench/metrics/dci.py",
           "return float(np.sum(per_code * weights.sum(axis=1) / weights.sum()))",
           "return float(np.mean(per_code))",
           CODES_METRIC_TESTS, "code dimensions not weighted by their share of importance"),
    Mutant("modularity-template-denominator", "disbench/metrics/modularity.py",
           "(largest * (squared.shape[1] - 1.0))", "(largest * squared.shape[1])",
           CODES_METRIC_TESTS, "modularity's template normalised by F instead of F - 1"),
    Mutant("explicitness-auc-weighted", "disbench/metrics/explicitness.py",
           'proba[:, usable], average="macro")', 'proba[:, usable], average="weighted")',
           ("tests/metrics/test_metrics_reference_encoder.py", *CODES_METRIC_TESTS), "AUC averaged by class frequency, not per class as dlib"),
    Mutant("irs-median-deviation", "disbench/metrics/irs.py",
           "cumulative[:, i] += np.quantile(deviation, diff_quantile, axis=0)",
           "cumulative[:, i] += np.quantile(deviation, 0.5, axis=0)",
           CODES_METRIC_TESTS, "IRS ignores its diff_quantile"),
    Mutant("unsupervised-total-correlation-sign", "disbench/metrics/unsupervised.py",
           "0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])",
           "0.5 * (np.sum(np.log(np.diag(cov))) + np.linalg.slogdet(cov)[1])",
           CODES_METRIC_TESTS, "Gaussian TC adds the log-determinant"),
    Mutant("histogram-one-bin-more", "disbench/metrics/discretize.py",
           "edges = np.histogram_bin_edges(x, num_bins)[:-1]", "edges = np.histogram_bin_edges(x, num_bins + 1)[:-1]",
           CODES_METRIC_TESTS, "21 bins where dlib uses 20"),
    Mutant("r2-uncentred-total", "disbench/metrics/r2.py",
           "total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)", "total = (truth**2).sum(axis=0)",
           CODES_METRIC_TESTS, "R^2 against the uncentred sum of squares"),
    Mutant("factor-vae-no-global-variance", "disbench/metrics/factor_vae.py",
           "local_variance[:, active] / global_variance[active]", "local_variance[:, active]",
           ENCODER_METRIC_TESTS, "FactorVAE score without the global-variance scaling"),
    Mutant("beta-vae-signed-differences", "disbench/metrics/beta_vae.py",
           "np.abs(codes[:, 0] - codes[:, 1]).mean(axis=1)", "(codes[:, 0] - codes[:, 1]).mean(axis=1)",
           ENCODER_METRIC_TESTS, "BetaVAE features without the absolute value"),
    Mutant("linear-probe-scores-training-rows", "disbench/metrics/linear_probe.py",
           'scores.append(Score("linear-probe", float(model.score(x_test, y_test)), name))',
           'scores.append(Score("linear-probe", float(model.score(x_train, y_train)), name))',
           ("tests/metrics/test_linear_probe.py",), "probe accuracy measured on its own training rows"),
    Mutant("augmentation-r2-in-sample", "disbench/metrics/augmentation_r2.py",
           "train, test = slice(0, options.num_train), slice(options.num_train, total)",
           "train, test = slice(0, options.num_train), slice(0, options.num_train)",
           ("tests/metrics/test_augmentation_r2.py",), "R^2 scored on the views it was fitted on"),
    Mutant("subspace-angle-smallest-principal-angle", "disbench/metrics/subspace_angle.py",
           "cosine = singular[:, :, d - 1] if singular.shape[2] >= d else np.zeros((n, k))",
           "cosine = singular[:, :, 0] if singular.shape[2] >= d else np.zeros((n, k))",
           ("tests/test_geomancer_data_metric.py",), "smallest principal angle where the largest belongs"),
    Mutant("subspace-angle-unmatched-factors-free", "disbench/metrics/subspace_angle.py",
           "cost[rows, cols].sum() + RIGHT_ANGLE * unmatched", "cost[rows, cols].sum() + 0.0 * unmatched",
           ("tests/test_geomancer_data_metric.py",), "a missing or extra factor costs nothing"),
    # --- datasets ---------------------------------------------------------------------------------
    Mutant("dsprites-file-column-major", "disbench/datasets/dsprites_files.py",
           "rows = np.ravel_multi_index(tuple(factors.T), self.sizes)",
           'rows = np.ravel_multi_index(tuple(factors.T), self.sizes, order="F")',
           SPRITE_TESTS, "released file / cache read in column-major order: the wrong images"),
    Mutant("dsprites-patch-scale-shape-order", "disbench/datasets/sprites.py",
           "patch_index = (shape * NUM_SCALES + scale) * NUM_ORIENTATIONS + orientation",
           "patch_index = (scale * len(SHAPES) + shape) * NUM_ORIENTATIONS + orientation",
           SPRITE_TESTS, "sprite table indexed in (scale, shape) order: the wrong sprites"),
    Mutant("dsprites-turns-clockwise", "disbench/datasets/sprites.py",
           "cos, sin = np.cos(ORIENTATION_VALUES), np.sin(ORIENTATION_VALUES)",
           "cos, sin = np.cos(ORIENTATION_VALUES), -np.sin(ORIENTATION_VALUES)",
           SPRITE_TESTS, "orientation turns the sprite clockwise"),
    Mutant("dsprites-x-y-swapped", "disbench/datasets/sprites.py",
           "windows[np.arange(n), y, x] = sprite_patches()[patch_index]",
           "windows[np.arange(n), x, y] = sprite_patches()[patch_index]",
           SPRITE_TESTS, "x moves the sprite down, y to the right"),
    Mutant("views-group-key-shares-content-only", "disbench/datasets/base.py",
           "key_factors[:, shared] = query_factors[:, shared]",
           "key_factors[:, shared[:1]] = query_factors[:, shared[:1]]",
           VIEW_TESTS, "a key shares only its first factor with the query"),
    Mutant("synthetic-leaky-slope", "disbench/datasets/synthetic.py",
           "def leaky_relu(x: np.ndarray, slope: float = 0.2)", "def leaky_relu(x: np.ndarray, slope: float = 0.02)",
           ("tests/test_synthetic.py",), "mixing MLP with LeakyReLU slope 0.02 instead of 0.2"),
    Mutant("synthetic-unit-rows", "disbench/datasets/synthetic.py",
           "weights /= np.linalg.norm(weights, axis=0, keepdims=True)",
           "weights /= np.linalg.norm(weights, axis=1, keepdims=True)",
           ("tests/test_synthetic.py",), "mixing matrices with unit-norm rows instead of columns"),
    # --- leaderboard store ------------------------------------------------------------------------
    Mutant("leaderboard-unlocked", "disbench/store/__init__.py",
           'with FileLock(str(path) + ".lock"):', "if True:",
           ("tests/test_store.py",), "concurrent appends without the file lock"),
    Mutant("leaderboard-overwrites", "disbench/store/__init__.py",
           "writer.writerows(existing + new)", "writer.writerows(new)",
           ("tests/test_store.py",), "an append replaces the leaderboard"),
    Mutant("leaderboard-rescoring-duplicates", "disbench/store/__init__.py",
           "kept = [cells for cells in existing if _row_key(cells) not in new_keys]", "kept = existing",
           ("tests/test_eval_store.py",), "--overwrite appends a second copy of each rescored row"),
    # --- resume -----------------------------------------------------------------------------------
    Mutant("resume-forgets-sampler-state", "disbench/training/checkpoints.py",
           'rng.bit_generator.state = json.loads(state["numpy_rng"])', "pass",
           ("tests/test_training.py",), "a resumed run redraws the batches it already saw"),
    Mutant("resume-forgets-optimiser", "disbench/training/checkpoints.py",
           'optimizer.load_state_dict(state["optimizer"])', "pass",
           ("tests/test_training.py",), "a resumed run restarts Adam's moments"),
    Mutant("resume-forgets-torch-rng", "disbench/training/checkpoints.py",
           'torch.set_rng_state(state["torch_rng"].cpu())', "pass",
           ("tests/test_training.py",), "a resumed run redraws the reparameterisation noise"),
    # --- distributed averaging --------------------------------------------------------------------
    Mutant("distributed-gradients-summed", "disbench/methods/distributed.py",
           "parameter.grad /= world_size", "pass",
           ("tests/test_training_distributed.py",), "ranks sum their gradients instead of averaging"),
    Mutant("distributed-ranks-share-a-seed", "disbench/training/loop.py",
           "rng = seed_everything(method.seed + dist.rank)", "rng = seed_everything(method.seed)",
           ("tests/test_training_distributed.py",), "every rank draws the same batches"),
]


@dataclass
class Outcome:
    mutant: Mutant
    result: str  # caught, survived, moved, timeout
    detail: str = ""
    seconds: float = 0.0


def snippet_problem(mutant: Mutant) -> str:
    """Empty when the snippet occurs exactly once in the file; otherwise what is wrong."""
    path = REPOSITORY / mutant.file
    if not path.is_file():
        return f"{mutant.file} does not exist"
    count = path.read_text().count(mutant.original)
    return "" if count == 1 else f"snippet found {count} times in {mutant.file}"


def copy_repository(into: Path) -> Path:
    copy = into / "repo"
    shutil.copytree(REPOSITORY, copy, ignore=IGNORED)
    return copy


def run_pytest(copy: Path, tests: tuple[str, ...], timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0].split(" ", 1)[1]
    return output.strip().splitlines()[-1] if output.strip() else "pytest failed"


def run_mutant(mutant: Mutant, timeout: float) -> Outcome:
    problem = snippet_problem(mutant)
    if problem:
        return Outcome(mutant, "moved", problem)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.name}-") as folder:
        copy = copy_repository(Path(folder))
        target = copy / mutant.file
        target.write_text(target.read_text().replace(mutant.original, mutant.replacement))
        try:
            completed = run_pytest(copy, mutant.tests, timeout)
        except subprocess.TimeoutExpired:
            return Outcome(mutant, "timeout", f"no verdict within {timeout:.0f} s", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if completed.returncode == 0:
        return Outcome(mutant, "survived", "all tests passed", seconds)
    if completed.returncode == 5:
        return Outcome(mutant, "moved", "no tests collected: check the mutant's test files", seconds)
    return Outcome(mutant, "caught", first_failure(completed.stdout + completed.stderr), seconds)


def check_baseline(mutants: list[Mutant], timeout: float) -> bool:
    """The mutants' tests pass on an unmutated copy, and the copy's package is the one imported."""
    tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
    with tempfile.TemporaryDirectory(prefix="mutant-baseline-") as folder:
        copy = copy_repository(Path(folder))
        env = {**os.environ, "PYTHONPATH": str(copy)}
        imported = subprocess.run(
            [sys.executable, "-c", "import disbench; print(disbench.__file__)"],
            cwd=copy, env=env, capture_output=True, text=True,
        ).stdout.strip()
        if not imported.startswith(str(copy)):
            print(f"baseline: the copy imports disbench from {imported!r}, not from the copy", file=sys.stderr)
            return False
        print(f"baseline: {len(tests)} test files on the unmutated copy ...", file=sys.stderr, flush=True)
        completed = run_pytest(copy, tests, timeout)
    if completed.returncode != 0:
        print(completed.stdout[-3000:] + completed.stderr[-2000:], file=sys.stderr)
        print("baseline: the tests fail without any mutant; fix them first", file=sys.stderr)
        return False
    print(f"baseline: {completed.stdout.strip().splitlines()[-1]}", file=sys.stderr)
    return True


def table(outcomes: list[Outcome]) -> str:
    lines = ["| mutant | file | meaning | result | caught by / why | seconds |", "|---|---|---|---|---|---|"]
    for o in outcomes:
        lines.append(
            f"| {o.mutant.name} | {o.mutant.file} | {o.mutant.meaning} | {o.result} | {o.detail} | {o.seconds:.0f} |"
        )
    counts = {r: sum(o.result == r for o in outcomes) for r in ("caught", "survived", "moved", "timeout")}
    lines.append("")
    lines.append(", ".join(f"{n} {r}" for r, n in counts.items()) + f" of {len(outcomes)} mutants")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1: the machine is shared)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="run this mutant (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run of the tests")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per pytest run (default 900)")
    args = parser.parse_args(argv)

    names = [m.name for m in MUTANTS]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        parser.error(f"mutant names must be unique: {', '.join(sorted(duplicated))}")
    unknown = [n for n in args.only if n not in names]
    if unknown:
        parser.error(f"unknown mutant {', '.join(unknown)}; --list shows the names")
    selected = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list:
        for m in selected:
            print(f"{m.name}\t{m.file}\t{m.meaning}")
        return 0
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if not args.no_baseline and not check_baseline([m for m in selected if not snippet_problem(m)], args.timeout):
        return 2

    def announce(outcome: Outcome) -> Outcome:
        print(f"{outcome.result:>8}  {outcome.mutant.name}  ({outcome.seconds:.0f} s)", file=sys.stderr, flush=True)
        return outcome

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(lambda m: announce(run_mutant(m, args.timeout)), selected))
    print(table(outcomes))
    return 0 if all(o.result == "caught" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
