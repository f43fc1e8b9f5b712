"""How close template.yaml is to CloudFormation's limits, measured on the processed template.

    template_limits.py TEMPLATE...   print the figures of each template; exit 1 when one is
                                     over this project's bounds (well under AWS's limits)

CloudFormation applies its quotas to the template after the SAM transform: at most 500
resources, 60 dynamic references, 200 parameters and outputs, and 1 MB for a template
uploaded through S3 (which `sam deploy` does: resolve_s3). The SAM transform runs here
offline (samtranslator, as cfn-lint runs it, with local code locations replaced by the
S3 URIs `sam deploy` would upload them to); nothing talks to AWS.
"""

import json
import os
import re
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from cfnlint.decode import decode  # noqa: E402  (reads !Ref, !Sub, ... short tags)
from samtranslator.translator.transform import transform  # noqa: E402

# The project's bounds, with room below AWS's quotas.
MAX_RESOURCES = 450          # AWS: 500
MAX_DYNAMIC_REFERENCES = 8   # AWS: 60
MAX_BYTES = 512 * 1024       # AWS: 1 MB through S3 (half of it)
MAX_PARAMETERS = 100         # AWS: 200
MAX_OUTPUTS = 100            # AWS: 200
MAX_EVENT_FILTERS = 5        # AWS: 5 filters per event source mapping (a quota raise goes to 10)
MAX_TABLE_INDEXES = 10       # AWS: 20 global secondary indexes per table

DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:")


class NoManagedPolicies:
    """The transform asks for managed policy ARNs only for names it does not know; the
    template uses inline policies, so nothing is asked (and nothing calls IAM)."""

    def load(self):
        return {}


def packaged(template):
    """The template as `sam deploy` uploads it: code locations become S3 URIs."""
    for r in template["Resources"].values():
        props = r.get("Properties") or {}
        if r.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://aws-sam-cli-managed-default-samclisourcebucket-0123456789ab/dispatch/0123456789abcdef0123456789abcdef"
    return template


def figures(path):
    template, errors = decode(path)
    if errors:
        raise SystemExit(f"{path}: {errors}")
    source = json.dumps(packaged(template), separators=(",", ":"))
    processed = transform(template, {}, NoManagedPolicies())
    text = json.dumps(processed, separators=(",", ":"))
    return {
        "functions": sum(1 for r in template["Resources"].values()
                         if r.get("Type") == "AWS::Serverless::Function"),
        "resources": len(processed["Resources"]),
        "dynamic references": len(DYNAMIC_REFERENCE.findall(text)),
        "packaged template bytes": len(source.encode()),
        "processed template bytes": len(text.encode()),
        "parameters": len(processed.get("Parameters", {})),
        "outputs": len(processed.get("Outputs", {})),
        "table indexes": len(table_indexes(template, {})),
        # The most filters any event source mapping has.
        "event filters": max(
            (len(((r.get("Properties") or {}).get("FilterCriteria") or {}).get("Filters") or [])
             for r in processed["Resources"].values()
             if r.get("Type") == "AWS::Lambda::EventSourceMapping"),
            default=0,
        ),
    }


def table_indexes(template, parameters):
    """The names of the table's global secondary indexes when deployed with `parameters`
    (the others at their defaults): `Fn::If` on conditions of `Fn::Equals` of a `Ref`."""
    def value(v):
        if isinstance(v, dict) and "Ref" in v:
            name = v["Ref"]
            return str(parameters.get(name, template["Parameters"][name].get("Default", "")))
        return str(v)

    def holds(c):
        if "Fn::Equals" in c:
            a, b = c["Fn::Equals"]
            return value(a) == value(b)
        if "Fn::Not" in c:
            return not holds(c["Fn::Not"][0])
        raise SystemExit(f"condition {c} is not modelled")

    names = []
    (table,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    for index in table["Properties"].get("GlobalSecondaryIndexes", []):
        if isinstance(index, dict) and "Fn::If" in index:
            cond, yes, no = index["Fn::If"]
            index = yes if holds(template["Conditions"][cond]) else no
        if isinstance(index, dict) and index.get("Ref") == "AWS::NoValue":
            continue
        names.append(index["IndexName"])
    return names


# DynamoDB creates or deletes one global secondary index per table update, and
# CloudFormation fails a stack update that asks for more. A stack made before the
# ticket-order indexes deploys TicketOrderIndexes=updated first, then the default: each
# step must add one index.
UPGRADE_STEPS = [
    {"TicketOrderIndexes": "updated"},
    {},
]
# The indexes a stack made before the ticket-order indexes has.
BEFORE_ORDER_INDEXES = ["customer-tickets"]


def upgrade_problems(template):
    problems = []
    before = set(BEFORE_ORDER_INDEXES)
    for step in UPGRADE_STEPS:
        after = set(table_indexes(template, step))
        changed = before ^ after
        if len(changed) > 1:
            problems.append(f"the upgrade step {step or 'defaults'} changes {len(changed)} "
                            f"indexes at once: {sorted(changed)}")
        before = after
    return problems


def over(f):
    bounds = [
        ("resources", MAX_RESOURCES),
        ("dynamic references", MAX_DYNAMIC_REFERENCES),
        ("packaged template bytes", MAX_BYTES),
        ("processed template bytes", MAX_BYTES),
        ("parameters", MAX_PARAMETERS),
        ("outputs", MAX_OUTPUTS),
        ("event filters", MAX_EVENT_FILTERS),
        ("table indexes", MAX_TABLE_INDEXES),
    ]
    return [f"{name} {f[name]} > {bound}" for name, bound in bounds if f[name] > bound]


def main(paths):
    failed = False
    for path in paths:
        f = figures(path)
        print(f"{path}: " + ", ".join(f"{k} {v}" for k, v in f.items()))
        template, _ = decode(path)
        problems = over(f) + upgrade_problems(template)
        for p in problems:
            print(f"  OVER: {p}", file=sys.stderr)
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
