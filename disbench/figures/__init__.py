"""Figures drawn with matplotlib: report plots, R^2 heatmaps, VAE traversals."""
