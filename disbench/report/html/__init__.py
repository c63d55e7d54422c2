"""`disbench report --html`: a study on one self-contained, offline, interactive HTML page.

- :mod:`~disbench.report.html.content`: what the page shows, aggregated from one read of
  the leaderboards (table cells with their seeds, bar and curve data, correlations and
  variance shares per dataset, run figures, provenance);
- :mod:`~disbench.report.html.charts`: the Vega-Lite specifications of the charts;
- :mod:`~disbench.report.html.page`: the HTML, with the styles (``page.css``), the data,
  the plotting library and the table script (``page.js``) inlined.
"""

from disbench.report.html.page import INSTALL_HINT, write_html_report

__all__ = ["INSTALL_HINT", "write_html_report"]
