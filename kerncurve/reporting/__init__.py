"""Learning-curve reports: gather the library's results, render them as HTML or PDF."""

from .build import ReportData, gather
from .render import render_html, render_pdf

__all__ = ["ReportData", "gather", "render_html", "render_pdf"]
