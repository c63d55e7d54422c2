"""`disbench data`: inspect datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from disbench.cli import options as opt
from disbench.cli.output import handle_errors, info, stdout
from disbench.errors import UsageError

data_app = typer.Typer(help="Inspect, preview and prepare datasets.", no_args_is_help=True)


@data_app.command("info")
@handle_errors
def info_command(
    name: Annotated[str, typer.Argument(help="Dataset name (`disbench list datasets`).")],
    set_values: opt.DatasetSetValues = None,
) -> None:
    """Factors, groups, size, card, and where the dataset's files are looked for."""
    from rich.table import Table

    from disbench.config import parse_set_options
    from disbench.datasets.cache import locate
    from disbench.errors import DisbenchError
    from disbench.presets import preset_path, validate_card
    from disbench.training.runs import build_dataset

    values = parse_set_options(set_values)
    card = validate_card(name)
    try:
        dataset = build_dataset(name, values)
    except DisbenchError:
        _print_files(locate(name, **values))  # where it looked, then the one-line error
        raise
    description = dataset.describe()
    stdout.print(f"[bold]{description['name']}[/]  observations {tuple(description['observation_shape'])}")
    stdout.print(f"size: {dataset_size(dataset)}", highlight=False)
    stdout.print(f"card: {preset_path('datasets', name)}  (license: {' '.join(str(card['license']).split())})", highlight=False)
    for key, value in description.items():
        if key == "files":
            _print_files(value)
        elif key not in {"name", "observation_shape", "factors", "groups"}:
            stdout.print(f"{key}: {value}", highlight=False)
    table = Table(box=None, pad_edge=False)
    table.add_column("factor")
    table.add_column("group")
    table.add_column("values", justify="right")
    for factor in description["factors"]:
        table.add_row(factor["name"], factor["group"], str(factor["values"]))
    stdout.print(table)
    stdout.print(f"groups: {', '.join(description['groups'])} (content first; views share content and one style group)")
    for pair in description.get("correlations", []):
        stdout.print(
            f"correlated for training: {' ~ '.join(pair['factors'])}, sigma {pair['sigma']:g} "
            f"(evaluation points: {description['evaluation points']})"
        )


@data_app.command("preview", epilog="Example: disbench data preview dsprites --out dsprites.png")
@handle_errors
def preview_command(
    name: Annotated[str, typer.Argument(help="Dataset name (`disbench list datasets`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Picture to write: .png, .svg or .pdf.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the samples and views shown.")] = 0,
    samples: Annotated[Optional[int], typer.Option("--samples", min=1, help="Images in the sample grid (default 32), or points in the scatter plots of vector data (default 1000).")] = None,
    set_values: opt.DatasetSetValues = None,
) -> None:
    """A picture of samples and view pairs: an image grid, or labelled scatter plots for vector data."""
    import numpy as np

    from disbench.config import parse_set_options
    from disbench.datasets.preview import write_preview
    from disbench.training.runs import build_dataset

    from disbench.datasets.preview import FORMATS

    if out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a folder; give a file name such as {str(out / (name + '.png'))!r}.")
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out must end in {', '.join(FORMATS[:-1])} or {FORMATS[-1]} (the picture's format), got {str(out)!r}.")
    if not out.parent.is_dir():
        raise UsageError(f"folder {str(out.parent)!r} does not exist; create it or choose another --out.")
    dataset = build_dataset(name, parse_set_options(set_values))
    stdout.print(str(write_preview(dataset, out, np.random.default_rng(seed), n_samples=samples)), highlight=False)


@data_app.command("prepare", epilog="Example: disbench data prepare dsprites")
@handle_errors
def prepare_command(
    name: Annotated[str, typer.Argument(help="Dataset name (`disbench list datasets`).")],
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Cache folder (default $DISBENCH_CACHE, else the user cache folder: $XDG_CACHE_HOME/disbench or ~/.cache/disbench on Linux).")] = None,
    overwrite: opt.Overwrite = False,
) -> None:
    """Render a dataset into the cache (the dSprites family), so runs read pixels instead of rendering."""
    from disbench.datasets.cache import prepare

    info(f"preparing {name} ...")
    stdout.print(str(prepare(name, cache_dir, overwrite=overwrite)), highlight=False)


def dataset_size(dataset) -> str:
    """How many points a dataset has: images found, the size of its factor grid, or unbounded."""
    images = getattr(dataset, "paths", None)
    if images is not None:
        return f"{len(images):,} images in {len(getattr(dataset, 'classes', [])):,} classes"
    if dataset.factors and all(not f.continuous for f in dataset.factors):
        combinations = 1
        for factor in dataset.factors:
            combinations *= factor.num_values
        return f"{combinations:,} points (every combination of the factors)"
    return "unbounded (continuous factors, points generated on demand)"


def _file_size(path: str) -> str:
    """``26.2 MB`` for a file, the total of the files in a folder; empty when unreadable."""
    target = Path(path)
    try:
        if target.is_dir():
            total = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        else:
            total = target.stat().st_size
    except OSError:
        return ""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if total < 1000 or unit == "TB":
            return f"{total:.0f} {unit}" if unit == "B" else f"{total:.1f} {unit}"
        total /= 1000
    return ""


def _print_files(files: dict) -> None:
    """One line per file or folder: where it is looked for, whether it was found, and its size."""
    for key, value in files.items():
        if key == "in use":
            if value:
                stdout.print(f"pixels from: {value}", highlight=False)
            continue
        found = "[yellow]not found[/]"
        if value.get("found"):
            size = _file_size(str(value.get("looked for")))
            found = f"[green]found[/], {size}" if size else "[green]found[/]"
        stdout.print(f"{key}: {found}  ({value.get('looked for')})", highlight=False)
