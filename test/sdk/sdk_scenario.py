"""A data team's pipeline code, written against the real etl-watcher SDK (etl-watcher-sdk 0.1.43),
pointed at Watcher's API. Run by test/integration/sdk.test.ts with .venv-sdk's python, one phase
at a time, so the test can look at Postgres between phases:

  failing  sync the config (with lineage), then a run whose function raises
  success  sync again, a parent run with child runs (decorator, child helper, orchestration
           wrapper, standalone start/end with parent_execution_id, a grandchild), counts at the end, then a
           watermark update; a stale feed and a late run; the freshness and timeliness checks
  auth     the same calls with no token (expects 401) and with a read token (expects 403)

Environment: WATCHER_URL, WATCHER_TOKEN (a write token; for `auth`, WATCHER_READ_TOKEN too).
Prints one JSON object (the ids it got) on the last line of stdout.
"""

import json
import os
import sys
import warnings

import pendulum
from watcher import (
    Address,
    AddressLineage,
    ETLResult,
    OrchestratedETL,
    Pipeline,
    PipelineConfig,
    SyncedPipelineConfig,
    Watcher,
    WatcherAPIError,
    WatcherContext,
)

URL = os.environ["WATCHER_URL"]

# Names as a user might type them: the server trims and lower-cases them.
PARENT_PIPELINE = "  SDK_Orders_Load "
CHILD_PIPELINE = "sdk_order_items_load"


def address(name: str, schema: str, table: str) -> Address:
    return Address(
        name=name,
        address_type_name="postgres",
        address_type_group_name="database",
        database_name=name.split(".")[0],
        schema_name=schema,
        table_name=table,
        primary_key="id",
        address_metadata={"owner": "data-eng"},
    )


def lineage(sources: list[Address], targets: list[Address]) -> AddressLineage:
    return AddressLineage(source_addresses=sources, target_addresses=targets)


def thresholds(freshness: tuple[int, str], timeliness: tuple[int, str]) -> dict:
    """A pipeline's own freshness and timeliness checks, as (number, datepart)."""
    return {
        "freshness_number": freshness[0],
        "freshness_datepart": freshness[1],
        "timeliness_number": timeliness[0],
        "timeliness_datepart": timeliness[1],
    }


def parent_config() -> PipelineConfig:
    return PipelineConfig(
        pipeline=Pipeline(
            name=PARENT_PIPELINE,
            pipeline_type_name="Extract",
            pipeline_metadata={"team": "data-eng", "schedule": "hourly"},
            **thresholds(freshness=(2, "day"), timeliness=(30, "minute")),
        ),
        address_lineage=lineage(
            [address("src_db.public.orders", "public", "orders")],
            [address("dwh.staging.orders", "staging", "orders"), address("dwh.staging.customers", "staging", "customers")],
        ),
        default_watermark="0",
        next_watermark="100",
    )


def child_config() -> PipelineConfig:
    return PipelineConfig(
        pipeline=Pipeline(name=CHILD_PIPELINE, pipeline_type_name="extract"),
        address_lineage=lineage(
            [address("dwh.staging.orders", "staging", "orders")],
            [address("dwh.marts.order_items", "marts", "order_items")],
        ),
    )


def stale_feed_config() -> PipelineConfig:
    # checked every hour for new rows, and expected to finish within a minute
    return PipelineConfig(
        pipeline=Pipeline(
            name="sdk_vendor_feed",
            pipeline_type_name="extract",
            **thresholds(freshness=(1, "hour"), timeliness=(1, "minute")),
        ),
        address_lineage=lineage([address("vendor.api.feed", "api", "feed")], [address("dwh.staging.feed", "staging", "feed")]),
    )


class ExtractFailed(RuntimeError):
    pass


def tracked(watcher: Watcher, synced: SyncedPipelineConfig):
    """The SDK's decorator for a synced pipeline: start before, end after (failed if it raises)."""
    return watcher.track_pipeline_execution(
        pipeline_id=synced.pipeline.id,
        active=synced.pipeline.active,
        watermark=synced.watermark,
        next_watermark=synced.next_watermark,
    )


def failing_phase(watcher: Watcher) -> dict:
    synced = watcher.sync_pipeline_config(parent_config())
    seen: dict = {}

    @tracked(watcher, synced)
    def extract(watcher_context: WatcherContext) -> ETLResult:
        seen["execution_id"] = watcher_context.execution_id
        raise ExtractFailed("source database unreachable")

    try:
        extract()
    except ExtractFailed as err:
        reraised = str(err) == "source database unreachable"
    else:
        raise AssertionError("the SDK swallowed the function's exception")
    return {
        "pipeline_id": synced.pipeline.id,
        "synced_watermark": synced.watermark,
        "failed_execution_id": seen["execution_id"],
        "reraised": reraised,
    }


def success_phase(watcher: Watcher) -> dict:
    synced = watcher.sync_pipeline_config(parent_config())
    child = watcher.sync_pipeline_config(child_config())
    ids: dict = {"pipeline_id": synced.pipeline.id, "child_pipeline_id": child.pipeline.id, "synced_watermark": synced.watermark}

    def load_items(watcher_context: WatcherContext) -> ETLResult:
        ids["child_helper_execution_id"] = watcher_context.execution_id
        return ETLResult(completed_successfully=True, inserts=5, total_rows=5)

    def load_airflow_items(watcher_context: WatcherContext, **_orchestration) -> ETLResult:
        ids["child_orchestrated_execution_id"] = watcher_context.execution_id
        return ETLResult(completed_successfully=True, updates=7, total_rows=7, execution_metadata={"batch": 1})

    @tracked(watcher, synced)
    def load_orders(watcher_context: WatcherContext) -> ETLResult:
        parent_id = watcher_context.execution_id
        ids["parent_execution_id"] = parent_id

        # a child through the SDK's child helper (sends parent_id)
        watcher.track_child_pipeline_execution(
            pipeline_id=child.pipeline.id,
            active=child.pipeline.active,
            parent_execution_id=parent_id,
            func=load_items,
        )

        # a child through the orchestration wrapper, as an Airflow task would run it: the SDK
        # merges the task's context into execution_metadata
        orchestrated = OrchestratedETL(URL, child_config(), auth=os.environ["WATCHER_TOKEN"])
        orchestrated.execute_etl(
            load_airflow_items,
            orchestration_context={"dag_id": "orders", "task_id": "load_items", "run_id": "manual__1"},
            parent_execution_id=parent_id,
        )

        # a child through the standalone start/end (sends parent_execution_id), and its own child
        standalone = watcher.start_pipeline_execution(
            pipeline_id=child.pipeline.id,
            start_date=pendulum.now("UTC"),
            watermark="a",
            next_watermark="b",
            parent_execution_id=parent_id,
        )
        ids["child_standalone_execution_id"] = standalone
        grandchild = watcher.start_pipeline_execution(
            pipeline_id=child.pipeline.id,
            start_date=pendulum.now("UTC"),
            parent_execution_id=standalone,
        )
        ids["grandchild_execution_id"] = grandchild
        watcher.end_pipeline_execution(
            execution_id=grandchild, completed_successfully=True, end_date=pendulum.now("UTC"), total_rows=0
        )
        watcher.end_pipeline_execution(
            execution_id=standalone,
            completed_successfully=True,
            end_date=pendulum.now("UTC"),
            updates=3,
            total_rows=3,
            execution_metadata={"step": "standalone"},
        )
        return ETLResult(
            completed_successfully=True,
            inserts=10,
            updates=2,
            soft_deletes=1,
            total_rows=13,
            execution_metadata={"source": "sdk scenario"},
        )

    outcome = load_orders()
    assert outcome.execution_id == ids["parent_execution_id"], outcome
    assert outcome.result.inserts == 10, outcome

    watcher.update_pipeline_next_watermark(pipeline_id=synced.pipeline.id, next_watermark="200")

    # for the checks: a feed whose last load (backfilled) ended two hours ago, and a run of it
    # that started five minutes ago and is still going
    feed = watcher.sync_pipeline_config(stale_feed_config())
    ids["stale_pipeline_id"] = feed.pipeline.id
    now = pendulum.now("UTC")
    old = watcher.start_pipeline_execution(pipeline_id=feed.pipeline.id, start_date=now.subtract(hours=3))
    watcher.end_pipeline_execution(
        execution_id=old, completed_successfully=True, end_date=now.subtract(hours=2), inserts=1, total_rows=1
    )
    ids["stale_execution_id"] = old
    ids["late_execution_id"] = watcher.start_pipeline_execution(
        pipeline_id=feed.pipeline.id, start_date=now.subtract(minutes=5)
    )

    watcher.trigger_freshness_check()
    watcher.trigger_timeliness_check(lookback_minutes=60)
    return ids


def expect_refused(watcher: Watcher) -> dict:
    try:
        watcher.sync_pipeline_config(child_config())
    except WatcherAPIError as err:
        return {"status": err.status_code, "message": str(err), "code": err.error_code}
    raise AssertionError("the server accepted the request")


def auth_phase() -> dict:
    # auth=None makes the SDK look for cloud credentials: the test gives this process none, so
    # it probes nothing and sends no Authorization header.
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AWS_ACCESS_KEY_ID", "AWS_REGION"):
        if os.environ.get(name):
            raise SystemExit(f"{name} is set: the SDK would contact a cloud metadata service")
    if os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount/token"):
        raise SystemExit("a Kubernetes service account is mounted: the SDK would contact a cloud metadata service")
    return {
        "no_token": expect_refused(Watcher(URL, auth=None)),
        "read_token": expect_refused(Watcher(URL, auth=os.environ["WATCHER_READ_TOKEN"])),
    }


def main() -> None:
    # the SDK only warns when the server says a pipeline is inactive, and then skips the run
    warnings.filterwarnings("error", message=".*not active.*")
    phase = sys.argv[1]
    if phase == "auth":
        summary = auth_phase()
    else:
        watcher = Watcher(URL, auth=os.environ["WATCHER_TOKEN"])
        summary = failing_phase(watcher) if phase == "failing" else success_phase(watcher)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
