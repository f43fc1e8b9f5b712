"""Lambda's event source mappings, locally: the table's stream and the SQS queues → the
functions that read them.

In AWS, Lambda polls the table's DynamoDB stream and invokes each function the template
gives a `DynamoDB` event (`brand-cleanup`, `webhook-events`) with batches of records that
pass the event's `FilterCriteria`, and polls each queue a function has an `SQS` event on
(`webhook-deliver`). The emulator has the stream and the queues but nothing polls them; this
does, from template.yaml's own event definitions (batch size, filters, retries, batch item
failures), and hands each function the event shape Lambda would:

  {"Records": [{"eventID", "eventName", "eventVersion", "eventSource": "aws:dynamodb",
                "awsRegion", "dynamodb": {"ApproximateCreationDateTime": <epoch seconds>,
                "Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes",
                "StreamViewType"}, "eventSourceARN"}]}
  {"Records": [{"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                "md5OfBody", "eventSource": "aws:sqs", "eventSourceARN", "awsRegion"}]}

  python scripts/event_sources.py serve --invoke-url http://127.0.0.1:9000
      polls until stopped and invokes each function through `cargo lambda watch`'s Lambda
      Invoke endpoint (scripts/dev runs it); a failing stream batch is retried, split in
      halves (BisectBatchOnFunctionError) up to MaximumRetryAttempts, then reported and
      skipped (in AWS it goes to the OnFailure queue); a queue message is deleted once its
      function handled it (with ReportBatchItemFailures: unless it is listed as failed),
      else it comes back after its visibility timeout (and after maxReceiveCount to the DLQ)
  python scripts/event_sources.py once --invoke-url URL --table NAME --queue ID=URL --state F
      one such pass (the suite runs it against its in-process functions), continuing the
      stream from the positions in F
  python scripts/event_sources.py batches --table NAME --function brand-cleanup
      prints, one JSON event per line, the batches the function would get for the table's
      records so far

Queues are found by their logical id (scripts/local_resources.py names them so), or given
with --queue LOGICAL_ID=URL. The environment is the one scripts/lib.sh writes (endpoint,
region, dummy credentials). Filter patterns: exact values, nested objects, and
`exists`/`prefix` operators; any other operator is refused, so a template change the local
stack cannot honour fails loudly.
"""

import base64
import datetime
import json
import os
import sys
import time
import urllib.error
import urllib.request

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from local_resources import CfnLoader, Tag  # noqa: E402

import yaml  # noqa: E402


def stream_mappings(template):
    """[(function, properties)] for every `DynamoDB` event on the table's stream."""
    found = []
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        function = props["CodeUri"].split("/")[2]  # target/lambda/<function>/bootstrap.zip
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            stream = event["Properties"]["Stream"]
            if not (isinstance(stream, Tag) and stream.value == "Table.StreamArn"):
                raise SystemExit(f"{function}: only the table's stream is modeled locally")
            found.append((function, event["Properties"]))
    return found


def queue_mappings(template):
    """[(function, properties, queue logical id)] for every `SQS` event."""
    found = []
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        function = props["CodeUri"].split("/")[2]
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            queue = event["Properties"]["Queue"]
            if not (isinstance(queue, Tag) and queue.value.endswith(".Arn")):
                raise SystemExit(f"{function}: a queue event must name a queue of the template")
            found.append((function, event["Properties"], queue.value.split(".")[0]))
    return found


class Queue:
    """An SQS queue read as Lambda's SQS event source does."""

    def __init__(self, url):
        self.url = url
        self.client = boto3.client("sqs")
        self.arn = self.client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def receive(self, size):
        """Up to `size` messages (at most 10), as the records of one SQS event."""
        messages = self.client.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=max(1, min(int(size), 10)),
            AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0,
        ).get("Messages") or []
        return [{
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes") or {},
            "messageAttributes": m.get("MessageAttributes") or {},
            "md5OfBody": m.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": os.environ.get("AWS_REGION", "us-east-1"),
        } for m in messages]

    def delete(self, records):
        for record in records:
            self.client.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])


def patterns_of(properties):
    filters = ((properties.get("FilterCriteria") or {}).get("Filters")) or []
    return [json.loads(f["Pattern"]) for f in filters]


def matches(pattern, value):
    """Lambda's event filtering (the subset the template uses, and refuses the rest)."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(field_matches(rule, value.get(key), key in value)
                   for key, rule in pattern.items())
    raise SystemExit(f"a filter pattern must be an object: {pattern!r}")


def field_matches(rule, value, present):
    if isinstance(rule, dict):
        return present and matches(rule, value)
    if not isinstance(rule, list):
        raise SystemExit(f"a filter rule must be a list or an object: {rule!r}")
    for option in rule:
        if isinstance(option, dict):
            (operator, operand), = option.items()
            if operator == "exists":
                if present == bool(operand):
                    return True
            elif operator == "prefix":
                if isinstance(value, str) and value.startswith(operand):
                    return True
            else:
                raise SystemExit(f"filter operator {operator!r} is not modeled locally")
        elif present and not isinstance(value, (dict, list)) and value == option:
            return True
    return False


def passes(patterns, record):
    """No filters: every record. Otherwise a record passes when any filter matches."""
    return not patterns or any(matches(p, record) for p in patterns)


def lambda_json(value):
    """A boto3 value as it appears in a Lambda event: bytes in base64, times in seconds."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: lambda_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lambda_json(v) for v in value]
    return value


class Stream:
    """A table's stream, read shard by shard from where the last read stopped."""

    def __init__(self, table, positions=None):
        self.arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.client = boto3.client("dynamodbstreams")
        # Shard id → last sequence number read.
        self.positions = dict(positions or {})

    def records(self):
        """Every record after the saved positions, oldest first per shard."""
        out = []
        shards = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            after = self.positions.get(shard_id)
            if after is None:
                it = self.client.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id,
                                                    ShardIteratorType="TRIM_HORIZON")
            else:
                it = self.client.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id,
                                                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                                    SequenceNumber=after)
            iterator = it["ShardIterator"]
            while iterator:
                page = self.client.get_records(ShardIterator=iterator, Limit=1000)
                records = page.get("Records") or []
                for record in records:
                    record = lambda_json(record)
                    record["eventSourceARN"] = self.arn
                    out.append(record)
                    self.positions[shard_id] = record["dynamodb"]["SequenceNumber"]
                if not records:
                    break
                iterator = page.get("NextShardIterator")
        return out


def batches(mapping, records):
    """The events one mapping's function gets for these records."""
    _, properties = mapping
    size = int(properties.get("BatchSize", 100))
    patterns = patterns_of(properties)
    chosen = [r for r in records if passes(patterns, r)]
    return [{"Records": chosen[i:i + size]} for i in range(0, len(chosen), size)]


def invoke(invoke_url, function, event):
    """Lambda's Invoke API as `cargo lambda watch` serves it: (ok, what it answered)."""
    request = urllib.request.Request(
        f"{invoke_url}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            body = response.read().decode(errors="replace")
            failed = response.headers.get("X-Amz-Function-Error")
            return (not failed, body)
    except urllib.error.HTTPError as e:
        return (False, f"HTTP {e.code}: {e.read().decode(errors='replace')}")
    except OSError as e:
        return (False, str(e))


def deliver(invoke_url, function, properties, event, log):
    """One batch to one function, as Lambda retries it: again, split in halves, then given
    up (reported) after MaximumRetryAttempts."""
    retries = int(properties.get("MaximumRetryAttempts", 10))
    bisect = bool(properties.get("BisectBatchOnFunctionError", False))
    pending = [event["Records"]]
    while pending:
        records = pending.pop(0)
        for attempt in range(retries + 1):
            ok, answer = invoke(invoke_url, function, {"Records": records})
            if ok:
                log(f"{function}: {len(records)} record(s) → {answer.strip()[:200]}")
                break
            log(f"{function}: attempt {attempt + 1} failed: {answer.strip()[:300]}")
            if bisect and len(records) > 1:
                half = len(records) // 2
                pending[:0] = [records[:half], records[half:]]
                break
            time.sleep(min(0.2 * 2 ** attempt, 2.0))
        else:
            log(f"{function}: GAVE UP on {len(records)} record(s) after {retries + 1} attempts "
                f"(in AWS they go to the OnFailure destination)")


def load_template():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "template.yaml")) as f:
        return yaml.load(f, Loader=CfnLoader)


class Poller:
    """Every event source of the template: the table's stream and the queues."""

    def __init__(self, invoke_url, table, queue_urls, positions=None, log=print):
        template = load_template()
        self.invoke_url = invoke_url
        self.log = log
        self.streams = stream_mappings(template)
        self.stream = Stream(table, positions) if self.streams else None
        self.queues = []
        for function, properties, logical_id in queue_mappings(template):
            url = queue_urls.get(logical_id)
            if url is None:
                raise SystemExit(f"no URL for queue {logical_id} (--queue {logical_id}=URL)")
            self.queues.append((function, properties, Queue(url)))

    def once(self):
        """One pass: new stream records, then what each queue has now. Returns how many
        records and messages were handed to functions."""
        handed = 0
        records = self.stream.records() if self.stream else []
        for mapping in self.streams:
            function, properties = mapping
            for event in batches(mapping, records):
                deliver(self.invoke_url, function, properties, event, self.log)
                handed += len(event["Records"])
        for function, properties, queue in self.queues:
            records = queue.receive(properties.get("BatchSize", 10))
            if not records:
                continue
            handed += len(records)
            ok, answer = invoke(self.invoke_url, function, {"Records": records})
            if not ok:
                # Nothing is deleted: each message comes back after its visibility timeout.
                self.log(f"{function}: {len(records)} message(s) failed: {answer.strip()[:300]}")
                continue
            failed = set()
            if "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []):
                try:
                    failures = json.loads(answer).get("batchItemFailures") or []
                    failed = {f["itemIdentifier"] for f in failures}
                except (ValueError, AttributeError, KeyError, TypeError):
                    failed = {r["messageId"] for r in records}
            queue.delete([r for r in records if r["messageId"] not in failed])
            self.log(f"{function}: {len(records)} message(s), {len(failed)} failed → {answer.strip()[:200]}")
        return handed


def serve(invoke_url, table, queue_urls, interval):
    def log(line):
        print(f"[event-sources] {line}", flush=True)

    poller = Poller(invoke_url, table, queue_urls, log=log)
    log(f"polling the stream of {table} for {', '.join(f for f, _ in poller.streams)} and "
        f"{', '.join(q.url for _, _, q in poller.queues)} for {', '.join(f for f, _, _ in poller.queues)}")
    while True:
        try:
            poller.once()
        except Exception as e:  # the emulator restarting, a transient error: poll again
            log(f"polling failed: {e}")
            time.sleep(1)
            continue
        time.sleep(interval)


def once(invoke_url, table, queue_urls, state_path):
    """One pass, continuing from (and updating) the stream positions in `state_path`."""
    positions = {}
    if state_path and os.path.exists(state_path):
        with open(state_path) as f:
            positions = json.load(f)
    lines = []
    poller = Poller(invoke_url, table, queue_urls, positions, log=lines.append)
    handed = poller.once()
    if state_path and poller.stream:
        with open(state_path, "w") as f:
            json.dump(poller.stream.positions, f)
    print(json.dumps({"handed": handed, "log": lines}))


def print_batches(table, function):
    mappings = [m for m in stream_mappings(load_template()) if m[0] == function]
    if not mappings:
        raise SystemExit(f"{function} reads no stream in template.yaml")
    records = Stream(table).records()
    for mapping in mappings:
        for event in batches(mapping, records):
            print(json.dumps(event))


def option(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def queue_urls_from_args():
    """--queue LOGICAL_ID=URL (repeatable); by default each queue of the template by its
    logical id, as scripts/local_resources.py names them."""
    urls = {}
    for i, arg in enumerate(sys.argv):
        if arg == "--queue":
            logical_id, _, url = sys.argv[i + 1].partition("=")
            urls[logical_id] = url
    if not urls:
        sqs = boto3.client("sqs")
        for _, _, logical_id in queue_mappings(load_template()):
            urls[logical_id] = sqs.get_queue_url(QueueName=logical_id)["QueueUrl"]
    return urls


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    table = option("--table", os.environ.get("TABLE_NAME"))
    if command == "serve":
        serve(option("--invoke-url", "http://127.0.0.1:9000"), table, queue_urls_from_args(),
              float(option("--interval", "0.5")))
    elif command == "once":
        once(option("--invoke-url"), table, queue_urls_from_args(), option("--state"))
    elif command == "batches":
        print_batches(table, option("--function"))
    elif command == "self-test":
        self_test()
    else:
        raise SystemExit(__doc__)


def self_test():
    brand = {"eventName": "REMOVE", "dynamodb": {"OldImage": {"type": {"S": "brand"}}}}
    ticket = {"eventName": "REMOVE", "dynamodb": {"OldImage": {"type": {"S": "ticket"}}}}
    insert = {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "brand"}}}}
    ttl = {"eventName": "REMOVE", "userIdentity": {"principalId": "dynamodb.amazonaws.com"},
           "dynamodb": {"OldImage": {"type": {"S": "attachment"}}}}
    user_delete = {"eventName": "REMOVE", "dynamodb": {"OldImage": {"type": {"S": "attachment"}}}}
    cleanup = next(m for m in stream_mappings(load_template()) if m[0] == "brand-cleanup")
    patterns = patterns_of(cleanup[1])
    assert passes(patterns, brand) and passes(patterns, ttl)
    assert not passes(patterns, ticket)
    assert not passes(patterns, insert)
    assert not passes(patterns, user_delete), "only TTL removals of pending uploads"
    assert passes([], ticket), "no filters: every record"
    assert passes([{"eventName": [{"prefix": "INS"}]}], insert)
    assert passes([{"userIdentity": [{"exists": False}]}], brand)
    assert not passes([{"userIdentity": [{"exists": False}]}], ttl)
    try:
        passes([{"eventName": [{"anything-but": "REMOVE"}]}], insert)
        raise AssertionError("an unmodeled operator must be refused")
    except SystemExit:
        pass
    events = next(m for m in stream_mappings(load_template()) if m[0] == "webhook-events")
    ticket_insert = {"eventName": "INSERT", "dynamodb": {"NewImage": {"type": {"S": "ticket"}}}}
    comment_modify = {"eventName": "MODIFY", "dynamodb": {"NewImage": {"type": {"S": "comment"}}}}
    assert passes(patterns_of(events[1]), ticket_insert)
    assert not passes(patterns_of(events[1]), comment_modify)
    assert [q for _, _, q in queue_mappings(load_template())] == ["WebhookDeliveries"]
    assert lambda_json({"B": b"\x00\xff"}) == {"B": "AP8="}
    events = batches(("f", {"BatchSize": 2}), [brand, brand, brand])
    assert [len(e["Records"]) for e in events] == [2, 1]
    print("event_sources: self-test passed")


if __name__ == "__main__":
    main()
