"""NT-Xent with the reference's denominator (negatives only) against the textbook one, on the same batches.

    PYTHONPATH=$PWD python benchmarks/ssl_nt_xent.py

Each batch: B anchors drawn at random on the unit sphere in 16 dimensions, their positives
at Gaussian noise 0.5 from them (then renormalised); prints both losses and their gap.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from disbench.methods import ssl_losses as L


def main() -> None:
    generator = torch.Generator().manual_seed(0)
    print("batch,temperature,negatives,textbook,gap")
    for batch in (64, 256):
        for temperature in (0.15, 0.2):
            views = F.normalize(torch.randn(2, batch, 16, generator=generator), dim=-1)
            views[1] = F.normalize(views[0] + 0.5 * torch.randn(batch, 16, generator=generator), dim=-1)
            reference = L.nt_xent(views, temperature).item()
            textbook = L.nt_xent(views, temperature, denominator="textbook").item()
            print(f"{batch},{temperature},{reference:.4f},{textbook:.4f},{textbook - reference:.4f}")


if __name__ == "__main__":
    main()
