"""Holds what each function did during the test suite against its policy in template.yaml.

    iam_check.py TEMPLATE RECORDS...   exit 1 if a function did something its policy does
                                       not grant; print what policies grant but nothing used
    iam_check.py --self-test           check the checker on a small template of its own

Records are JSON lines (tests/e2e/iam.rs writes the in-process handlers' calls,
scripts/moto_serial.py the real binaries'): function, service, operation, the index a
Query read, the kinds of a transaction's items, the secrets read.

The emulator enforces no IAM (and moto's own enforcement differs from AWS's), so this is
the model of it. It knows the rules AWS applies that no record shows:
- HeadObject is s3:GetObject; without s3:ListBucket on the bucket, S3 answers a missing
  key with 403 instead of 404, so a function that asks whether an object exists needs it;
- a transaction is authorized per item (PutItem, UpdateItem, DeleteItem,
  ConditionCheckItem; GetItem for TransactGetItems), DeleteObjects per key (DeleteObject);
- BatchGetSecretValue also needs GetSecretValue on each secret;
- a presigned URL acts with the signer's permissions when it is used.
Conditions (ses:FromAddress) are not evaluated; resources are compared by kind (the
table, an index of it, the bucket, its objects, SES identities, a secret by logical id).
"""

import json
import sys

import yaml


class Tag:
    def __init__(self, name, value):
        self.name, self.value = name, value


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return Tag(suffix, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return Tag(suffix, loader.construct_sequence(node, deep=True))
    return Tag(suffix, loader.construct_mapping(node, deep=True))


CfnLoader.add_multi_constructor("!", _tag)


def resource_kind(resource):
    """A policy resource as a kind: ("table",), ("index", name), ("bucket",), ..."""
    if resource == "*":
        return ("any",)
    if isinstance(resource, Tag):
        text = resource.value if isinstance(resource.value, str) else str(resource.value)
        if resource.name == "GetAtt" and text == "Table.Arn":
            return ("table",)
        if resource.name == "GetAtt" and text == "AttachmentsBucket.Arn":
            return ("bucket",)
        if resource.name == "Sub" and text.startswith("${Table.Arn}/index/"):
            return ("index", text.rsplit("/", 1)[1])
        if resource.name == "Sub" and text == "${AttachmentsBucket.Arn}/*":
            return ("objects",)
        # Raw inbound mail: narrower in AWS; records carry no keys, so here it is objects.
        if resource.name == "Sub" and text == "${AttachmentsBucket.Arn}/inbound/*":
            return ("objects",)
        if resource.name == "Sub" and ":ses:" in text and text.endswith(":identity/*"):
            return ("ses-identity",)
        if resource.name == "Sub" and ":ses:" in text and ":configuration-set/" in text:
            return ("ses-configuration-set",)
        if resource.name == "Ref":
            return ("secret", text)
        if resource.name == "GetAtt" and text == "WebhookSecretsKey.Arn":
            return ("webhook-key",)
        if resource.name == "GetAtt" and text.endswith(".Arn"):
            return ("queue", text[: -len(".Arn")])
    return ("unknown", repr(resource))


def policies(template):
    """{function: {(action, kind)}} from every function's inline policies."""
    grants = {}
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        # target/lambda/<function>/bootstrap.zip
        function = props["CodeUri"].split("/")[2]
        granted = set()
        documents = list(props.get("Policies") or [])
        # A role of its own (`Role: !GetAtt <Role>.Arn`): the role's inline policies.
        role = props.get("Role")
        if isinstance(role, Tag) and role.name == "GetAtt":
            role_props = template["Resources"][str(role.value).split(".")[0]]["Properties"]
            documents += [p["PolicyDocument"] for p in role_props.get("Policies") or []]
        for doc in documents:
            for st in doc.get("Statement", []):
                if st.get("Effect") != "Allow":
                    continue
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                for a in actions:
                    for r in resources:
                        granted.add((a, resource_kind(r)))
        grants[function] = granted
    return grants


SECRET_NAMES = ("CursorSecret", "PortalKeyA", "PortalKeyB")


def secret_kind(secret_id):
    """A secret id (ARN or name; locally named after its logical id) as a kind."""
    for name in SECRET_NAMES:
        if f":secret:{name}-" in secret_id or secret_id == name:
            return ("secret", name)
    return ("secret", secret_id)


# The S3 operations the functions use; anything else fails the check until it is modeled
# (a versioned read or delete, a copy, tags or ACLs need other actions than their names).
S3_OPERATIONS = {"HeadObject", "GetObject", "PutObject", "DeleteObject", "DeleteObjects",
                 "ListObjectsV2", "ListObjects"}

TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def required(record):
    """The (action, kind) pairs one recorded operation needs."""
    # "DynamoDB", "Secrets Manager", "sesv2", "ses": one spelling.
    service = record["service"].lower().replace(" ", "")
    op = record["operation"]
    if service == "dynamodb":
        if op in ("TransactWriteItems", "TransactGetItems"):
            items = record.get("items") or []
            if not items:
                # Fail closed: a transaction whose items were not seen cannot be judged.
                return {(f"dynamodb:{op} (items unknown)", ("unknown",))}
            return {("dynamodb:" + TRANSACT.get(k, k), ("table",)) for k in items}
        if op == "Query" and record.get("index"):
            return {("dynamodb:Query", ("index", record["index"]))}
        return {("dynamodb:" + op, ("table",))}
    if service == "s3":
        if op not in S3_OPERATIONS:
            return {(f"s3:{op} (not modeled)", ("unknown",))}
        if op == "HeadObject":
            return {("s3:GetObject", ("objects",)), ("s3:ListBucket", ("bucket",))}
        if op in ("ListObjectsV2", "ListObjects"):
            return {("s3:ListBucket", ("bucket",))}
        if op == "DeleteObjects":
            return {("s3:DeleteObject", ("objects",))}
        return {("s3:" + op, ("objects",))}
    if service in ("ses", "sesv2"):
        return {("ses:" + op, ("ses-identity",))}
    if service == "secretsmanager":
        secrets = record.get("secrets") or []
        if op not in ("GetSecretValue", "BatchGetSecretValue") or not secrets:
            return {(f"secretsmanager:{op} (not modeled)", ("unknown",))}
        needs = {("secretsmanager:GetSecretValue", secret_kind(s)) for s in secrets}
        if op == "BatchGetSecretValue":
            needs.add(("secretsmanager:BatchGetSecretValue", ("any",)))
        return needs
    if service == "sqs":
        # Locally a queue is named after its logical id (the suite's own copies add
        # `-<table>`): the URL's last segment says which of the template's queues it is.
        url = record.get("queue") or ""
        if op != "SendMessage" or not url:
            return {(f"sqs:{op} (not modeled)", ("unknown",))}
        return {("sqs:SendMessage", ("queue", url.rstrip("/").rsplit("/", 1)[-1].split("-")[0]))}
    if service == "kms":
        # The template has one key, the webhook secrets key (`WEBHOOK_KEY_ARN`).
        if op not in ("Encrypt", "Decrypt"):
            return {(f"kms:{op} (not modeled)", ("unknown",))}
        return {("kms:" + op, ("webhook-key",))}
    return {(f"{service}:{op}", ("unknown",))}


def is_granted(need, granted):
    action, kind = need
    return (action, kind) in granted or (action, ("any",)) in granted


def check(template, records):
    """(missing, unused, silent): needs not granted, grants never used, and functions
    with a policy that the suite never saw make a call."""
    grants = policies(template)
    used = {f: set() for f in grants}
    missing = {}
    for record in records:
        function = record["function"]
        granted = grants.get(function)
        for need in required(record):
            if granted is None or not is_granted(need, granted):
                missing.setdefault(function, set()).add(need)
            else:
                used[function].add(need if need in granted else (need[0], ("any",)))
    unused = {f: g - used[f] for f, g in grants.items() if g - used[f]}
    silent = sorted(f for f, g in grants.items() if g and not used[f])
    return missing, unused, silent


def show(need):
    action, kind = need
    return f"{action} on {':'.join(kind)}"


def self_test():
    template = yaml.load("""
Resources:
  ConfirmFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: target/lambda/confirm/bootstrap.zip
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:UpdateItem]
              Resource: !GetAtt Table.Arn
            - Effect: Allow
              Action: [s3:GetObject]
              Resource: !Sub "${AttachmentsBucket.Arn}/*"
""", Loader=CfnLoader)
    records = [
        {"function": "confirm", "service": "dynamodb", "operation": "GetItem"},
        {"function": "confirm", "service": "s3", "operation": "HeadObject"},
        {"function": "confirm", "service": "dynamodb", "operation": "TransactWriteItems",
         "items": ["Update", "ConditionCheck"]},
        {"function": "confirm", "service": "dynamodb", "operation": "Query", "index": "by-x"},
    ]
    missing, unused, _ = check(template, records)
    assert missing == {"confirm": {
        ("s3:ListBucket", ("bucket",)),                 # implicit in a 404 for HeadObject
        ("dynamodb:ConditionCheckItem", ("table",)),    # per transaction item
        ("dynamodb:Query", ("index", "by-x")),          # an index is its own resource
    }}, missing
    assert unused == {}, unused
    _, unused, silent = check(template, [])
    assert silent == ["confirm"] and len(unused["confirm"]) == 3
    # A shared role (`Role: !GetAtt …`) grants what its inline policies say, to each of
    # its functions.
    shared = yaml.load("""
Resources:
  ReadFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: target/lambda/read/bootstrap.zip
      Role: !GetAtt RoleAbc.Arn
  ListFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: target/lambda/list/bootstrap.zip
      Role: !GetAtt RoleAbc.Arn
  RoleAbc:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: access
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [dynamodb:GetItem]
                Resource: !GetAtt Table.Arn
""", Loader=CfnLoader)
    missing, _, _ = check(shared, [
        {"function": "read", "service": "dynamodb", "operation": "GetItem"},
        {"function": "list", "service": "dynamodb", "operation": "GetItem"},
        {"function": "list", "service": "dynamodb", "operation": "Query"},
    ])
    assert missing == {"list": {("dynamodb:Query", ("table",))}}, missing
    # What cannot be judged fails closed.
    unjudged = [
        {"function": "confirm", "service": "dynamodb", "operation": "TransactWriteItems"},
        {"function": "confirm", "service": "s3", "operation": "CopyObject"},
        {"function": "confirm", "service": "Secrets Manager", "operation": "GetSecretValue"},
    ]
    missing, _, _ = check(template, unjudged)
    assert len(missing["confirm"]) == 3, missing
    # A function that may seal webhook secrets cannot open them.
    sealer = yaml.load("""
Resources:
  CreateFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: target/lambda/create/bootstrap.zip
      Policies:
        - Statement:
            - Effect: Allow
              Action: [kms:Encrypt]
              Resource: !GetAtt WebhookSecretsKey.Arn
""", Loader=CfnLoader)
    missing, unused, _ = check(sealer, [
        {"function": "create", "service": "kms", "operation": "Encrypt"},
        {"function": "create", "service": "kms", "operation": "Decrypt"},
    ])
    assert missing == {"create": {("kms:Decrypt", ("webhook-key",))}}, missing
    assert unused == {}, unused
    print("iam_check: self-test passed")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    with open(argv[1]) as f:
        template = yaml.load(f, Loader=CfnLoader)
    records = []
    for path in argv[2:]:
        # Every file must be there: a recorder that stopped writing must not pass as "no calls".
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    if not records:
        print("iam: no AWS calls were recorded: the recorders are broken", file=sys.stderr)
        return 1
    missing, unused, silent = check(template, records)
    functions = {r["function"] for r in records}
    print(f"iam: {len(records)} AWS calls by {len(functions)} functions held against "
          f"their policies in {argv[1]}")
    for function, needs in sorted(unused.items()):
        print(f"  granted, never used by the suite: {function}: "
              + ", ".join(sorted(show(n) for n in needs)))
    for function in silent:
        print(f"NEVER SEEN: {function} has a policy but made no AWS call in the suite",
              file=sys.stderr)
    if missing:
        for function, needs in sorted(missing.items()):
            print(f"NOT GRANTED: {function} did {', '.join(sorted(show(n) for n in needs))}",
                  file=sys.stderr)
        print("add the actions to the function's iam in routes.toml (cargo xtask routes), "
              "or stop the function from needing them", file=sys.stderr)
        return 1
    if silent:
        print("every function with a policy must be exercised by the suite", file=sys.stderr)
        return 1
    print("iam: every call the suite saw is granted")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
