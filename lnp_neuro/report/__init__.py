"""Reports of finished runs: the run record (``report.json``), the comparison report
(``report.html``, ``report.md``), its sections and figures."""

from .render import NOT_AVAILABLE, RunData, load_run, write_report

__all__ = ["RunData", "load_run", "write_report", "NOT_AVAILABLE"]
