"""CSV pipeline: read orders from a CSV file, clean and aggregate them, write a report CSV.

What it shows:
- flow parameters with type hints; values are validated and converted before the flow runs
  (pass `"out/report.csv"` and the flow receives a `Path`, pass `"yes"` to a bool and it is
  `True`, pass `"maybe"` and the run fails before any task starts);
- `get_run_logger()` in flows and tasks: a bad input row becomes a recorded warning instead of
  a crash;
- `retries` on the task that touches the file system.

Input: `examples/data/orders.csv`. Usage: `python examples/csv_pipeline.py [OUTPUT_CSV]`.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mainspring import flow, get_run_logger, task

DATA_FILE = Path(__file__).parent / "data" / "orders.csv"
DEFAULT_OUTPUT = Path(tempfile.gettempdir()) / "mainspring-examples" / "revenue_by_region.csv"


@task(retries=2, retry_delay_seconds=0.1)
def extract(path: Path) -> list[dict[str, str]]:
    """Read every row; a file on a network share may be briefly unavailable, hence retries."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    get_run_logger().info("Read %d orders from %s", len(rows), path.name)
    return rows


@task
def transform(rows: list[dict[str, str]], include_pending: bool) -> list[dict[str, str]]:
    """Keep the orders that count as revenue and total them per region (sorted by region)."""
    logger = get_run_logger()
    wanted = {"shipped", "pending"} if include_pending else {"shipped"}
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)])
    for row in rows:
        if row["status"] not in wanted:
            continue
        try:
            quantity = Decimal(row["quantity"])
            price = Decimal(row["unit_price"])
        except InvalidOperation:
            logger.warning("Skipping order %s: bad quantity or price", row["order_id"])
            continue
        region = totals[row["region"]]
        region[0] += 1
        region[1] += quantity
        region[2] += quantity * price
    return [
        {"region": name, "orders": str(n), "units": str(units), "revenue": f"{revenue:.2f}"}
        for name, (n, units, revenue) in sorted(totals.items())
    ]


@task
def load(summary: list[dict[str, str]], path: Path) -> Path:
    """Write the report; the header comes from the rows so the two cannot drift apart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["region", "orders", "units", "revenue"])
        writer.writeheader()
        writer.writerows(summary)
    return path


@flow(name="csv-pipeline")
def csv_pipeline(
    input_path: Path = DATA_FILE,
    output_path: Path = DEFAULT_OUTPUT,
    include_pending: bool = False,
) -> Path:
    """Orders CSV -> revenue per region CSV."""
    rows = extract(input_path)
    summary = transform(rows, include_pending)
    written = load(summary, output_path)
    get_run_logger().info("Wrote %d regions to %s", len(summary), written)
    return written


if __name__ == "__main__":
    output = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_OUTPUT)
    report = csv_pipeline(output_path=output)
    print(report.read_text(), end="")
