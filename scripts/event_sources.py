"""Lambda's event source mappings, locally: the table's stream → the functions that read it.

In AWS, Lambda polls the table's DynamoDB stream and invokes each function the template
gives a `DynamoDB` event (`BrandCleanupFunction`) with batches of records that pass the
event's `FilterCriteria`. The emulator has the stream but nothing polls it; this does, from
template.yaml's own event definitions (stream, batch size, filters, retries), and hands
each function the event shape Lambda would:

  {"Records": [{"eventID", "eventName", "eventVersion", "eventSource": "aws:dynamodb",
                "awsRegion", "dynamodb": {"ApproximateCreationDateTime": <epoch seconds>,
                "Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes",
                "StreamViewType"}, "eventSourceARN"}]}

  python scripts/event_sources.py serve --invoke-url http://127.0.0.1:9000
      polls until stopped and invokes each function through `cargo lambda watch`'s Lambda
      Invoke endpoint (scripts/dev runs it); a failing batch is retried, split in halves
      (BisectBatchOnFunctionError) up to MaximumRetryAttempts, then reported and skipped
      (in AWS it goes to the OnFailure queue)
  python scripts/event_sources.py batches --table NAME --function brand-cleanup [--after STATE]
      prints, one JSON event per line, the batches the function would get for the table's
      records so far (the suite invokes the handler in-process with them); with --after,
      only records after the sequence numbers in STATE, which it then updates

The environment is the one scripts/lib.sh writes (endpoint, region, dummy credentials).
Filter patterns: exact values, nested objects, and `exists`/`prefix` operators; any other
operator is refused, so a template change the local stack cannot honour fails loudly.
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


def serve(invoke_url, table, interval):
    mappings = stream_mappings(load_template())
    stream = Stream(table)

    def log(line):
        print(f"[event-sources] {line}", flush=True)

    log(f"polling {stream.arn} for {', '.join(f for f, _ in mappings)}")
    while True:
        try:
            records = stream.records()
        except Exception as e:  # the emulator restarting, a transient error: poll again
            log(f"reading the stream failed: {e}")
            time.sleep(1)
            continue
        for mapping in mappings:
            function, properties = mapping
            for event in batches(mapping, records):
                deliver(invoke_url, function, properties, event, log)
        time.sleep(interval)


def print_batches(table, function, state_path):
    mappings = [m for m in stream_mappings(load_template()) if m[0] == function]
    if not mappings:
        raise SystemExit(f"{function} reads no stream in template.yaml")
    positions = {}
    if state_path and os.path.exists(state_path):
        with open(state_path) as f:
            positions = json.load(f)
    stream = Stream(table, positions)
    records = stream.records()
    for mapping in mappings:
        for event in batches(mapping, records):
            print(json.dumps(event))
    if state_path:
        with open(state_path, "w") as f:
            json.dump(stream.positions, f)


def option(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    table = option("--table", os.environ.get("TABLE_NAME"))
    if command == "serve":
        serve(option("--invoke-url", "http://127.0.0.1:9000"), table,
              float(option("--interval", "0.5")))
    elif command == "batches":
        print_batches(table, option("--function"), option("--after"))
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
    (cleanup,) = stream_mappings(load_template())
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
    assert lambda_json({"B": b"\x00\xff"}) == {"B": "AP8="}
    events = batches(("f", {"BatchSize": 2}), [brand, brand, brand])
    assert [len(e["Records"]) for e in events] == [2, 1]
    print("event_sources: self-test passed")


if __name__ == "__main__":
    main()
