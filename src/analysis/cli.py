"""The ``sales-workbench`` command line (also ``python -m analysis``).

Exit codes: 0 success, 1 a run failed, 2 unusable input or arguments. Errors
from bad input are printed as one paragraph naming the file, column and row;
a traceback is shown only for genuine bugs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.core import paths
from analysis.core.errors import InputError, OutputError
from analysis.engine.spark import BACKEND_VARIABLE

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2
# The CRMs `ingest --from` reads (analysis.ingest.vendors.ADAPTERS, which a test keeps in step);
# written out so that `--help` does not import the adapters and pandas.
CRM_NAMES = ("salesforce", "hubspot", "pipedrive")


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad arguments already; keep its message short."""

    def error(self, message: str) -> None:  # pragma: no cover - argparse path
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def _cmd_sample(args: argparse.Namespace) -> int:
    from analysis.sample import generate_sample, write_sample

    if args.deals < 1:
        raise InputError("--deals must be at least 1.", column="--deals")
    crm = generate_sample(n_deals=args.deals, seed=args.seed)
    written = write_sample(crm, args.out, messy=args.messy)
    print(f"Wrote {len(written)} files for {args.deals:,} deals (seed {args.seed}) to {args.out}")
    return EXIT_OK


def _cmd_ingest(args: argparse.Namespace) -> int:
    from analysis.ingest import ingest

    result = ingest(
        args.source,
        args.out,
        map_path=args.map,
        stages_path=args.stages,
        vendor=args.vendor,
        timezone=args.timezone,
        as_of=args.as_of,
        fx_rates=args.fx_rates,
        reporting_currency=args.reporting_currency,
        amount_months=args.amount_months,
    )
    vendor = result.manifest.get("vendor")
    if vendor and args.vendor is None:
        used = ", ".join(i["file"] for i in result.manifest["inputs"])
        print(f"Detected a {vendor} export; read {used}.")
    print(result.summary())
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from analysis.report.run import RunInterrupted, run_report

    params = dict(_parse_param(p) for p in args.param)
    if args.backend:
        # The notebooks' kernels inherit it: analysis.connect(data_dir) reads on that engine.
        os.environ[BACKEND_VARIABLE] = args.backend
    try:
        run = run_report(
            notebooks=args.only or None,
            parameters=params,
            run_id=args.run_id,
            reports_dir=args.reports_dir,
            data_dir=args.data_dir,
            notebooks_dir=args.notebooks_dir,
            config_path=None if str(args.config).lower() == "none" else args.config,
            workers=args.workers,
            keep=args.keep,
            progress=sys.stderr.isatty(),
            wait=args.wait,
            compare_to=args.compare_to,
        )
    except RunInterrupted as exc:
        print(f"sales-workbench report: {exc}; reports/latest unchanged.", file=sys.stderr)
        sys.stderr.flush()
        # Do not wait for the running kernels: they exit when this process does.
        os._exit(128 + exc.signum)
    print(run.summary())
    return EXIT_OK if run.ok else EXIT_FAILED


def _parse_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise InputError(f"parameter {text!r} must look like KEY=VALUE.", column="-p")
    return key.strip(), value


def _cmd_lab(args: argparse.Namespace) -> int:
    exe = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or shutil.which("jupyter")
    if exe is None:
        raise InputError("JupyterLab is not installed in this environment; run `make setup`.")
    cmd = [exe, "lab", f"--notebook-dir={paths.PROJ_ROOT}", f"--port={args.port}", "--no-browser"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # JupyterLab refuses to start as root otherwise
    print("Starting JupyterLab; open the http://127.0.0.1 URL with its token printed below.")
    return _run_with_child(cmd)


def _run_with_child(cmd: list[str]) -> int:
    """Run ``cmd`` and stop it when this process is stopped (SIGTERM, SIGHUP or Ctrl-C).

    ``subprocess.call`` left JupyterLab running after ``sales-workbench lab``
    was killed: a server nobody remembers, holding a port and a token.
    """
    import signal

    child = subprocess.Popen(cmd)

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return child.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with a sub-parser per command."""
    parser = _Parser(
        prog="sales-workbench",
        description="Sales Process Workbench: sample data, ingest CRM exports, run reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("sample", help="generate a synthetic CRM export with planted truth")
    p.add_argument("--deals", type=int, default=paths.DEFAULT_SAMPLE_DEALS, help="number of deals")
    p.add_argument("--seed", type=int, default=paths.DEFAULT_SEED, help="random seed")
    p.add_argument("--out", type=Path, default=paths.SAMPLE_DIR, help="output folder")
    p.add_argument(
        "--messy", action="store_true", help="write it as a messy real export would arrive"
    )
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("ingest", help="validate a CRM export and write canonical Parquet")
    p.add_argument("--source", type=Path, default=paths.SAMPLE_DIR, help="folder of export files")
    p.add_argument(
        "--from",
        dest="vendor",
        default=None,
        metavar="CRM",
        help=f"the CRM the export comes from: {' | '.join(CRM_NAMES)} (detected when neither "
        "--from nor --map is given)",
    )
    p.add_argument("--map", type=Path, default=None, help="YAML column map (docs/column-maps.md)")
    p.add_argument(
        "--timezone",
        default=None,
        help="time zone of a CRM export's dates without offset (default UTC); a date-only "
        "close date is the end of that day there",
    )
    p.add_argument(
        "--as-of",
        default=None,
        help="the export's time, the cut-off for open deals (default: a CRM export's latest "
        "last-modified stamp)",
    )
    p.add_argument(
        "--fx-rates",
        type=Path,
        default=None,
        help="exchange rates file: currency, rate (units per base unit)[, valid_from, valid_to]",
    )
    p.add_argument(
        "--reporting-currency",
        default=None,
        help="currency to convert amounts into (default: the rates' base currency)",
    )
    p.add_argument(
        "--amount-months",
        type=float,
        default=12.0,
        help="months a won opportunity's amount pays for, where MRR comes from it "
        "(Salesforce without an MRR or ARR field; default 12: annual contract values)",
    )
    p.add_argument("--out", type=Path, default=paths.PROCESSED_DIR, help="processed data folder")
    p.add_argument(
        "--stages", type=Path, default=None, help="stage config (default config/stages.yaml)"
    )
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("report", help="execute the report notebooks and render HTML")
    p.add_argument("--only", nargs="+", metavar="NAME", help="notebook names to run (default: all)")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a notebook parameter (repeatable)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=paths.REPORTS_FILE,
        help="report config listing notebooks and parameters (default config/reports.yaml; "
        "'none': every notebook in --notebooks-dir with its defaults)",
    )
    p.add_argument(
        "--notebooks-dir", type=Path, default=paths.NOTEBOOKS_DIR, help="report notebooks folder"
    )
    p.add_argument("--workers", type=int, default=1, help="notebooks run at the same time")
    p.add_argument(
        "--backend",
        choices=("duckdb", "spark"),
        default=None,
        help="engine the notebooks read the data with (default duckdb; spark: a local "
        "session, or Spark Connect at $SPARK_REMOTE; needs `make setup-spark`)",
    )
    p.add_argument("--keep", type=int, default=None, help="keep only the N newest runs")
    p.add_argument(
        "--wait",
        action="store_true",
        help="when another run is writing to the reports folder, wait for it (default: exit 2)",
    )
    p.add_argument("--run-id", default=None, help="run id (default: UTC timestamp)")
    p.add_argument(
        "--compare-to",
        default=None,
        metavar="RUN_ID",
        help="earlier run the executive summary compares with (default: the previous "
        "successful run)",
    )
    p.add_argument("--reports-dir", type=Path, default=paths.REPORTS_DIR, help="reports folder")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="processed data the notebooks read (default data/processed)",
    )
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("lab", help="start JupyterLab on the project")
    p.add_argument("--port", type=int, default=8888)
    p.set_defaults(func=_cmd_lab)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"sales-workbench {args.command}: {exc.describe()}", file=sys.stderr)
        return EXIT_INPUT
    except OutputError as exc:
        print(f"sales-workbench {args.command}: {exc.describe()}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"sales-workbench {args.command}: interrupted.", file=sys.stderr)
        return EXIT_FAILED
