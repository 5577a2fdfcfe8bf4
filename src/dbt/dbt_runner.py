"""One dbt process for a build's invocations: it parses the project once and runs every later
command (`dbt ls`, then `dbt build`) on that manifest, as Cosmos's DBT_RUNNER mode and Dagster do
with dbt's programmatic dbtRunner. Saves the build's second Python start-up and parse.

Protocol (Watcher's src/dbt/dbt-runner-process.ts is the other end):
- stdin: one command per line: the JSON array of its dbt argv, or an object
  {"argv": [...], "stdout_events": {"names": [...], "levels": [...]}}: the events with one of
  those names or levels are printed on stdout as dbt's JSON log lines, as they fire (the argv
  turns dbt's own stdout log off: formatting every debug event twice costs a build 15%).
  A `parse` keeps its manifest for the commands after it.
- stdout: each command's own output (its log lines, as the dbt CLI writes them, or the chosen
  events), then one line {"watcher_dbt_runner": {"exit": N}} with the exit code the dbt CLI
  would have given it (0 success, 1 a node failed, 2 dbt failed).
- stdin's end: the process exits with the last command's exit code. So does a command that
  was interrupted (SIGINT: a stop), as the dbt CLI would.
- argv[1]: the invocation dir of its first command (the build's `resolve`), only so that `ps`
  shows whose runner it is.
"""
import json
import sys
import threading

try:
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import env_scrubber, msg_to_json
except ImportError as err:
    # A broken or foreign Python: say so, and exit as dbt does when it cannot run (2).
    print(f"watcher dbt runner: cannot import dbt in {sys.executable}: {err}", file=sys.stderr, flush=True)
    sys.exit(2)


def exit_code(result) -> int:
    if result.success:
        return 0
    # No exception: dbt ran to its end and a node failed (ResultExit); else dbt itself failed.
    return 1 if result.exception is None else 2


def is_strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(a, str) for a in value)


def command_of(line: str):
    """A command line's argv and the events it streams (None: dbt's own stdout log)."""
    command = json.loads(line)
    if is_strings(command):
        return command, None
    if isinstance(command, dict) and is_strings(command.get("argv")):
        events = command.get("stdout_events")
        if isinstance(events, dict) and is_strings(events.get("names")) and is_strings(events.get("levels")):
            return command["argv"], (frozenset(events["names"]), frozenset(events["levels"]))
    raise ValueError("neither an array of strings nor {argv, stdout_events: {names, levels}}")


def stream_events(names, levels):
    """A dbt callback printing the chosen events as dbt's JSON log writes them (secrets scrubbed)."""
    lock = threading.Lock()  # dbt fires events from its worker threads: one line at a time

    def callback(msg) -> None:
        if msg.info.name in names or msg.info.level in levels:
            line = env_scrubber(msg_to_json(msg))
            try:
                with lock:
                    sys.stdout.write(line + "\n")
                    sys.stdout.flush()
            except OSError:
                # Nobody reads stdout any more (the worker is gone): dbt goes on, as it does when
                # its own log cannot write; an error here would fail the node that fired the event.
                pass

    return callback


def main() -> int:
    manifest = None
    last = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            argv, streamed = command_of(line)
        except ValueError as err:
            print(f"watcher dbt runner: a command line it cannot read: {err}", file=sys.stderr, flush=True)
            return 2
        callbacks = [stream_events(*streamed)] if streamed else []
        result = dbtRunner(manifest=manifest, callbacks=callbacks).invoke(argv)
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
