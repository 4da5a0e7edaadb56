"""The catalog benchmark's reading of catalog.lua's output (bench/catalog/served.py)."""

import pytest

from bench.catalog.served import parse_wrk_output

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:40123
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.21ms  410.00us  12.50ms   91.00%
    Req/Sec   311.40     20.10   340.00     70.00%
  623 requests in 2.00s, 4.10MB read
Requests/sec:    311.20
Transfer/sec:      2.05MB
BENCH {"requests":623,"duration_us":2001950,"non_200":2,"socket_errors":1,"p50_us":3104,\
"p99_us":4870,"p999_us":11020,"max_us":12500}
"""


def test_parse_reads_counts_and_percentiles_in_milliseconds() -> None:
    figures = parse_wrk_output(WRK_OUTPUT)
    assert figures == {
        "requests": 623,
        "per_second": 311.2,
        "non_200": 2,
        "socket_errors": 1,
        "p50_ms": 3.104,
        "p99_ms": 4.87,
        "p999_ms": 11.02,
        "max_ms": 12.5,
    }


def test_parse_refuses_output_without_the_bench_line() -> None:
    with pytest.raises(ValueError, match="no BENCH line"):
        parse_wrk_output(WRK_OUTPUT.split("BENCH")[0])
