"""One dbt process for a build's invocations: it parses the project once and runs every later
command (`dbt ls`, then `dbt build`) on that manifest, as Cosmos's DBT_RUNNER mode and Dagster do
with dbt's programmatic dbtRunner. Saves the build's second Python start-up and parse.

Protocol (Watcher's src/dbt/dbt-runner-process.ts is the other end):
- stdin: one JSON array per line, the argv of one dbt command. A `parse` keeps its manifest
  for the commands after it.
- stdout: each command's own output (its log lines, as the dbt CLI writes them), then one line
  {"watcher_dbt_runner": {"exit": N}} with the exit code the dbt CLI would have given it
  (0 success, 1 a node failed, 2 dbt failed).
- stdin's end: the process exits with the last command's exit code. So does a command that
  was interrupted (SIGINT: a stop), as the dbt CLI would.
- argv[1]: the invocation dir of its first command (the build's `resolve`), only so that `ps`
  shows whose runner it is.
"""
import json
import sys

try:
    from dbt.cli.main import dbtRunner
except ImportError as err:
    # A broken or foreign Python: say so, and exit as dbt does when it cannot run (2).
    print(f"watcher dbt runner: cannot import dbt in {sys.executable}: {err}", file=sys.stderr, flush=True)
    sys.exit(2)


def exit_code(result) -> int:
    if result.success:
        return 0
    # No exception: dbt ran to its end and a node failed (ResultExit); else dbt itself failed.
    return 1 if result.exception is None else 2


def main() -> int:
    manifest = None
    last = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            argv = json.loads(line)
            if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
                raise ValueError("not an array of strings")
        except ValueError as err:
            print(f"watcher dbt runner: a command line that is not a JSON array of strings: {err}", file=sys.stderr, flush=True)
            return 2
        result = dbtRunner(manifest=manifest).invoke(argv)
        if argv[:1] == ["parse"] and result.success:
            manifest = result.result
        last = exit_code(result)
        print(json.dumps({"watcher_dbt_runner": {"exit": last}}, separators=(",", ":")), flush=True)
        if isinstance(result.exception, KeyboardInterrupt):
            return last
    return last


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Stopped while it waited for a command: nothing was running.
        sys.exit(130)
