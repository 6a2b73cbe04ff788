"""`tierflow status`: the first command an operator runs. Is it healthy, how far behind, what is
failing: the broker and the contract topics, each consumer group's lag per partition, each
service's readiness and rates (its /readyz and /metrics), the last hour's dead letters by code.

Collecting gives one JSON-able document (`--json` prints it); rendering turns it into rich
tables. A part that cannot be reached is reported as such, with the reason, never a traceback.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.box import SIMPLE_HEAD

from streams.settings import TOPIC_NAMES, Settings

# Counters turned into rates, and gauges shown as they are, per kind of service.
RATES = {
    "worker": {"inputs": "tierflow_inputs_total", "dead_letters": "tierflow_dead_letters_total"},
    "sink": {"rows": "tierflow_sink_rows_total", "messages": "tierflow_sink_messages_total"},
}
GAUGES = {
    "worker": {
        "last_commit": "tierflow_last_commit_timestamp_seconds",
        "partitions": "tierflow_assigned_partitions",
    },
    "sink": {
        "last_commit": "tierflow_sink_last_commit_timestamp_seconds",
        "partitions": "tierflow_sink_assigned_partitions",
        "data_age_s": "tierflow_sink_data_age_seconds",
    },
}
DEAD_LETTERS_READ_AT_MOST = 100_000


class KafkaProbe:
    """What `status` asks the broker: metadata, group offsets, the dead letters of a window."""

    def __init__(self, settings: Settings, timeout: float = 5.0) -> None:
        from confluent_kafka.admin import AdminClient

        self.settings, self.timeout = settings, timeout
        # Quiet: an unreachable broker is reported in the document, not as librdkafka lines.
        self.config = settings.kafka_client_config() | {"log_level": 0, "error_cb": _ignore}
        self.admin = AdminClient(self.config)

    def cluster(self) -> dict[str, Any]:
        metadata = self.admin.list_topics(timeout=self.timeout)
        topics = []
        for name in TOPIC_NAMES:
            topic = metadata.topics.get(self.settings.topic(name))
            partitions = len(topic.partitions) if topic is not None and not topic.error else 0
            topics.append(
                {"name": self.settings.topic(name), "contract": name}
                | {"exists": bool(partitions), "partitions": partitions}
            )
        return {
            "reachable": True,
            "bootstrap": self.settings.bootstrap,
            "cluster_id": metadata.cluster_id,
            "brokers": len(metadata.brokers),
            "controller_id": metadata.controller_id,
            "topics": topics,
        }

    def group(self, service: str, group: str, names: tuple[str, ...], topics: list[Any]) -> Any:
        """The group's members and, per partition, committed offset, end offset and lag."""
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
        from confluent_kafka.admin import OffsetSpec

        wanted = {self.settings.topic(name) for name in names}
        parts = [
            TopicPartition(t["name"], p)
            for t in topics
            if t["name"] in wanted
            for p in range(t["partitions"])
        ]
        request = [ConsumerGroupTopicPartitions(group, parts)]
        committed = self.admin.list_consumer_group_offsets(request)[group].result(self.timeout)
        ends = self._offsets(parts, OffsetSpec.latest())
        starts = self._offsets(parts, OffsetSpec.earliest())
        description = self.admin.describe_consumer_groups([group])[group].result(self.timeout)
        rows = []
        for tp in sorted(committed.topic_partitions, key=lambda tp: (tp.topic, tp.partition)):
            key = (tp.topic, tp.partition)
            position = tp.offset if tp.offset >= 0 else starts[key]
            rows.append(
                {"topic": tp.topic, "partition": tp.partition, "committed": tp.offset}
                | {"end": ends[key], "lag": max(ends[key] - position, 0)}
            )
        return {
            "service": service,
            "group": group,
            "state": str(description.state.name).lower(),
            "members": len(description.members),
            "lag": sum(row["lag"] for row in rows),
            "partitions": rows,
        }

    def _offsets(self, parts: list[Any], spec: Any) -> dict[tuple[str, int], int]:
        futures = self.admin.list_offsets({tp: spec for tp in parts})
        return {
            (tp.topic, tp.partition): future.result(self.timeout).offset
            for tp, future in futures.items()
        }

    def dead_letters(self, window_s: float) -> dict[str, Any]:
        """Dead letters stamped in the last `window_s` seconds, by error code (read from the
        offsets `offsets_for_times` gives for now - window, up to the end seen at the start)."""
        from confluent_kafka import Consumer, TopicPartition

        topic = self.settings.topic("dead_letters")
        consumer = Consumer(
            self.config | {"group.id": "tierflow-status", "enable.auto.commit": False}
        )
        try:
            count = len(consumer.list_topics(topic, timeout=self.timeout).topics[topic].partitions)
            since = int((time.time() - window_s) * 1000)
            starts = consumer.offsets_for_times(
                [TopicPartition(topic, p, since) for p in range(count)], timeout=self.timeout
            )
            ends = {}
            for start in starts:
                end = consumer.get_watermark_offsets(start, timeout=self.timeout)[1]
                if 0 <= start.offset < end:
                    ends[start.partition] = end
            consumer.assign([s for s in starts if s.partition in ends])
            codes: Counter[str] = Counter()
            read, deadline = 0, time.monotonic() + 4 * self.timeout
            codec = self.settings.codec()
            while ends and read < DEAD_LETTERS_READ_AT_MOST and time.monotonic() < deadline:
                for message in consumer.consume(1000, timeout=0.5):
                    if message.error() is not None or message.partition() not in ends:
                        continue
                    read += 1
                    if message.offset() + 1 >= ends[message.partition()]:
                        del ends[message.partition()]
                    try:
                        codes[codec.decode_record(message.value())[1]["error_code"]] += 1
                    except Exception:  # a message on the topic that is no DeadLetter
                        codes["(undecodable)"] += 1
            return {
                "topic": topic,
                "window_s": window_s,
                "total": sum(codes.values()),
                "by_code": dict(codes.most_common()),
                "complete": not ends,
            }
        finally:
            consumer.close()


def _ignore(_error: Any) -> None:
    """librdkafka's errors (broker down) come back as the calls' exceptions."""


def scrape(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """A service's /readyz (its JSON body) and /metrics (summed per family and sample name)."""
    from prometheus_client.parser import text_string_to_metric_families

    def get(path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(url.rstrip("/") + path, timeout=timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:  # 503: not ready, with its reasons
            return error.code, error.read()

    try:
        status, body = get("/readyz")
        _, text = get("/metrics")
        readyz = json.loads(body or b"{}")
        samples: Counter[str] = Counter()
        for family in text_string_to_metric_families(text.decode()):
            for sample in family.samples:
                samples[sample.name] += sample.value
    except OSError as error:
        return {"url": url, "reachable": False, "error": _reason(error)}
    except ValueError as error:  # it answers, but not as a tierflow service does
        reason = f"not a tierflow service ({_reason(error)})"
        return {"url": url, "reachable": False, "error": reason}
    return {
        "url": url,
        "reachable": True,
        "ready": status == 200,
        "readyz": readyz,
        "samples": dict(samples),
        "at": time.monotonic(),
    }


def _reason(error: BaseException) -> str:
    """A short reason: the Kafka error's text, the socket's, or the exception's name."""
    first = error.args[0] if error.args else None
    if hasattr(first, "str"):  # a confluent_kafka KafkaError
        return str(first.str())
    reason = getattr(error, "reason", None) or error  # urllib's URLError wraps the socket's
    text = getattr(reason, "strerror", None) or str(reason)
    return text.lower() if text else type(reason).__name__


def service(kind: str, now: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """One service's row: readiness, lag, rates (between two scrapes), its gauges."""
    if not now["reachable"]:
        return {"service": kind, "url": now["url"], "reachable": False, "error": now["error"]}
    readyz, samples = now["readyz"], now["samples"]
    row: dict[str, Any] = {
        "service": kind,
        "url": now["url"],
        "reachable": True,
        "ready": now["ready"],
        "reasons": readyz.get("reasons", []),
        "lag": readyz.get("lag"),
    }
    for name, metric in GAUGES[kind].items():
        row[name] = samples.get(metric)
    if row["partitions"] is not None:
        row["partitions"] = int(row["partitions"])
    if row["last_commit"]:
        row["last_commit_age_s"] = round(max(time.time() - row["last_commit"], 0.0), 1)
    del row["last_commit"]
    rates = {}
    if before is not None and before.get("reachable") and now["at"] > before["at"]:
        seconds = now["at"] - before["at"]
        for name, metric in RATES[kind].items():
            change = samples.get(metric, 0.0) - before["samples"].get(metric, 0.0)
            rates[f"{name}_per_s"] = round(max(change, 0.0) / seconds, 1)
    row["rates"] = rates
    return row


def collect(
    settings: Settings,
    workers: list[str],
    sinks: list[str],
    *,
    probe: Any = None,
    previous: dict[str, dict[str, Any]] | None = None,
    pause: Callable[[float], None] = time.sleep,
    scraper: Callable[[str], dict[str, Any]] | None = None,
    window_s: float = 3600.0,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The status document, and the scrapes it used (pass them back as `previous` to get
    rates without waiting: `--watch`). Without `previous`, services are scraped twice, a
    second apart, while the broker is asked."""
    targets = [("worker", url) for url in workers] + [("sink", url) for url in sinks]
    urls, scraper = workers + sinks, scraper or scrape
    with ThreadPoolExecutor(max_workers=4) as pool:
        kafka = pool.submit(_kafka_part, settings, probe, window_s)
        if previous is None:
            previous = dict(zip(urls, pool.map(scraper, urls), strict=True))
            pause(1.0)
        scrapes = dict(zip(urls, pool.map(scraper, urls), strict=True))
        report = kafka.result()
    report["services"] = [service(kind, scrapes[url], previous.get(url)) for kind, url in targets]
    report["problems"] = problems(report)
    report["healthy"] = not report["problems"]
    report["checked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report, scrapes


def _kafka_part(settings: Settings, probe: Any, window_s: float) -> dict[str, Any]:
    from sink.consumer import SINK_TOPICS, consumer_config
    from streams.app import INPUT_TOPICS, faust_app_id

    report: dict[str, Any] = {"broker": {"reachable": False, "bootstrap": settings.bootstrap}}
    report["groups"], report["dead_letters"] = [], {"error": "broker not reachable"}
    try:
        probe = probe or KafkaProbe(settings)
        cluster = probe.cluster()
    except Exception as error:
        report["broker"]["error"] = _reason(error)
        return report
    topics = cluster.pop("topics")
    report["broker"], report["topics"] = cluster, topics
    groups = (
        ("worker", faust_app_id(settings), INPUT_TOPICS),
        ("sink", consumer_config(settings)["group.id"], SINK_TOPICS),
    )
    for kind, group, names in groups:
        try:
            report["groups"].append(probe.group(kind, group, names, topics))
        except Exception as error:
            report["groups"].append({"service": kind, "group": group, "error": _reason(error)})
    try:
        report["dead_letters"] = probe.dead_letters(window_s)
    except Exception as error:
        report["dead_letters"] = {"error": _reason(error)}
    return report


def problems(report: dict[str, Any]) -> list[str]:
    """What makes the whole not healthy, one line each."""
    broker, found = report["broker"], []
    if not broker["reachable"]:
        found.append(f"broker {broker['bootstrap']} not reachable: {broker.get('error')}")
    topics = report.get("topics", [])
    found += [f"topic {t['name']} missing" for t in topics if not t["exists"]]
    inputs = [t for t in topics if t["contract"] in ("receipts", "member_events") and t["exists"]]
    if len({t["partitions"] for t in inputs}) > 1:
        found.append("input topics not co-partitioned (partition counts differ)")
    for group in report["groups"]:
        if "error" in group:
            found.append(f"{group['service']} group {group['group']}: {group['error']}")
    for row in report["services"]:
        if not row["reachable"]:
            found.append(f"{row['service']} {row['url']} not reachable: {row['error']}")
        elif not row["ready"]:
            found.append(f"{row['service']} {row['url']} not ready: {'; '.join(row['reasons'])}")
    return found


# -- the screen ---------------------------------------------------------------------------


def render(report: dict[str, Any]) -> Any:
    """The document as one screen: verdict, services, topics with each group's lag, dead
    letters."""
    from rich.console import Group
    from rich.text import Text

    if report["healthy"]:
        head = Text("tierflow status: HEALTHY", style="bold green")
    else:
        head = Text(f"tierflow status: NOT HEALTHY ({len(report['problems'])})", style="bold red")
        for problem in report["problems"]:
            head.append(f"\n  - {problem}", style="red")
    parts = [head, Text(_broker_line(report["broker"]))]
    if report["services"]:
        parts.append(_services_table(report["services"]))
    if report["broker"]["reachable"]:
        parts.append(_topics_table(report["topics"], report["groups"]))
    parts.append(_dead_letters(report["dead_letters"]))
    parts.append(Text(f"checked {report['checked_at']}", style="dim"))
    return Group(*parts)


def _broker_line(broker: dict[str, Any]) -> str:
    if not broker["reachable"]:
        return f"broker {broker['bootstrap']}: NOT REACHABLE ({broker.get('error')})"
    return (
        f"broker {broker['bootstrap']}: reachable, cluster {broker['cluster_id']}, "
        f"{broker['brokers']} broker(s), controller {broker['controller_id']}"
    )


def _services_table(services: list[dict[str, Any]]) -> Any:
    """One row a service; why one is not ready is in the problems above."""
    from rich.table import Table

    table = Table(title="services", title_justify="left", box=SIMPLE_HEAD, pad_edge=False)
    table.add_column("service", no_wrap=True)
    for column in ("ready", "lag", "rate", "last commit", "parts", "data age"):
        table.add_column(column, justify="right")
    for row in services:
        name = f"{row['service']}\n[dim]{row['url'].removeprefix('http://')}"
        if not row["reachable"]:
            table.add_row(name, "[red]down")
            continue
        rates = row["rates"]
        if row["service"] == "worker":
            rate = _per_s(rates.get("inputs_per_s"), "inputs")
            if rates.get("dead_letters_per_s"):
                rate += f"\n[yellow]{rates['dead_letters_per_s']:,} dead letters/s"
            age = ""
        else:
            # Messages are consumed as they come; rows land a batch at a time.
            rate = _per_s(rates.get("messages_per_s"), "msgs")
            age = f"{_n(row.get('data_age_s'))} s"
        commit = row.get("last_commit_age_s")
        table.add_row(
            name,
            "[green]yes" if row["ready"] else "[red]no",
            _n(row["lag"]),
            rate,
            "never" if commit is None else f"{_n(commit)} s ago",
            _n(row.get("partitions")),
            age,
        )
    return table


def _topics_table(topics: list[dict[str, Any]], groups: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="topics and consumer lag (committed offsets)", title_justify="left")
    table.box, table.pad_edge = SIMPLE_HEAD, False
    table.add_column("topic", no_wrap=True)
    table.add_column("parts", justify="right")
    names = {}
    for group in groups:
        label = f"{group['service']} lag"
        names[group["service"]] = group
        table.add_column(label if "error" not in group else f"{label} (?)", justify="right")
    table.add_column("partitions behind")
    for topic in topics:
        cells = [topic["name"], str(topic["partitions"]) if topic["exists"] else "[red]missing"]
        behind = []
        for kind, group in names.items():
            rows = [r for r in group.get("partitions", ()) if r["topic"] == topic["name"]]
            cells.append(f"{sum(r['lag'] for r in rows):,}" if rows else "-")
            late = sorted((r for r in rows if r["lag"]), key=lambda r: -r["lag"])
            if late:
                shown = ", ".join(f"p{r['partition']} {r['lag']:,}" for r in late[:2])
                more = f" +{len(late) - 2}" if len(late) > 2 else ""
                behind.append(f"{kind}: {shown}{more}")
        table.add_row(*cells, "; ".join(behind))
    caption = ", ".join(
        f"{g['service']} group {g['group']}: "
        + (g["error"] if "error" in g else f"{g['state']}, {g['members']} member(s)")
        for g in groups
    )
    table.caption, table.caption_justify = caption, "left"
    return table


def _dead_letters(letters: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    if "error" in letters:
        return Text(f"dead letters: not read ({letters['error']})", style="yellow")
    hours = letters["window_s"] / 3600
    more = "" if letters["complete"] else " (at least: not all read)"
    title = Text(f"dead letters, last {hours:g} h ({letters['topic']}): {letters['total']:,}{more}")
    if not letters["by_code"]:
        return title
    table = Table(box=SIMPLE_HEAD, pad_edge=False)
    table.add_column("error code")
    table.add_column("count", justify="right")
    for code, count in letters["by_code"].items():
        table.add_row(code, f"{count:,}")
    return Group(title, table)


def _n(value: Any) -> str:
    if value is None:
        return "?"
    return f"{value:,.0f}" if float(value).is_integer() or value >= 10 else f"{value:,.1f}"


def _per_s(value: float | None, what: str) -> str:
    return "?" if value is None else f"{value:,.1f} {what}/s"


# -- the command --------------------------------------------------------------------------


def status(
    worker: Annotated[
        list[str] | None,
        typer.Option(help="a worker's base URL (repeat for several); default: its web port"),
    ] = None,
    sink: Annotated[
        list[str] | None,
        typer.Option(help="the sink's base URL; default: TIERFLOW_SINK_PORT on this host"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
    watch: Annotated[bool, typer.Option(help="refresh until Ctrl-C")] = False,
    interval: Annotated[float, typer.Option(help="seconds between refreshes (--watch)")] = 2.0,
    window: Annotated[float, typer.Option(help="seconds of dead letters to count")] = 3600.0,
) -> None:
    """Is tierflow healthy, how far behind, what is failing: broker, topics, consumer lag,
    each service's readiness and rates, the last hour's dead letters by code. Exit status 0
    when healthy, 1 when not (--watch: 0 on Ctrl-C). With --watch --json: one document a line."""
    from rich.console import Console
    from rich.live import Live

    settings = Settings()
    workers = worker if worker is not None else [f"http://127.0.0.1:{settings.web_port}"]
    sinks = (
        sink
        if sink is not None
        else ([f"http://127.0.0.1:{settings.sink_port}"] if settings.sink_port else [])
    )
    console = Console()
    probe = _probe(settings)
    report, scrapes = collect(settings, workers, sinks, probe=probe, window_s=window)
    if not watch:
        if as_json:
            typer.echo(json.dumps(report, indent=2))
        else:
            console.print(render(report))
        raise typer.Exit(0 if report["healthy"] else 1)
    try:
        if as_json:
            while True:
                typer.echo(json.dumps(report))
                time.sleep(interval)
                report, scrapes = collect(
                    settings, workers, sinks, **_again(probe, scrapes, window)
                )
        with Live(render(report), console=console, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                report, scrapes = collect(
                    settings, workers, sinks, **_again(probe, scrapes, window)
                )
                live.update(render(report), refresh=True)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def _again(probe: Any, scrapes: dict[str, Any], window: float) -> dict[str, Any]:
    return {"probe": probe, "previous": scrapes, "window_s": window}


def _probe(settings: Settings) -> Any:
    """One probe for every refresh; None (each refresh tries again) if it cannot be made."""
    try:
        return KafkaProbe(settings)
    except Exception:  # a bad client configuration: reported by the first refresh
        return None
