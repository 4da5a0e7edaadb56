"""Small builders of test data."""

import csv
import io


def sensor_csv(rows: int = 5, *, columns: tuple[str, ...] = ("sensor_id", "reading")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for i in range(rows):
        writer.writerow([f"S{i:03d}"] + [str(i * 7 + j) for j in range(len(columns) - 1)])
    return out.getvalue().encode()
