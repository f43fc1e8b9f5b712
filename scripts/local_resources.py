"""Creates the table, bucket, secrets, KMS keys, SQS queues and SES identity in the local
emulator from template.yaml.

The definitions come from the template's own resources (key schema, TTL, streams, bucket
lockdown, generated secrets), so local and deployed resources cannot drift apart. Names
come from the environment (TABLE_NAME, BUCKET_NAME, SENDER_ADDRESS), as the template passes
them to the functions. Secrets are named after their logical ids and get fresh random
values, as Secrets Manager generates them at stack creation; with `--env-file FILE`, the
variables the template sets to a secret's ARN (`CURSOR_SECRET_ARN: !Ref CursorSecret`) or
a key's (`WEBHOOK_KEY_ARN: !GetAtt WebhookSecretsKey.Arn`) or a queue's URL
(`WEBHOOK_QUEUE_URL: !Ref WebhookDeliveries`) are appended to FILE with the local values. Safe to run twice.
"""

import json
import os
import secrets
import string
import sys

import boto3
import yaml


class Tag:
    """A CloudFormation short-form tag (!Ref, !GetAtt, !Sub, ...), kept opaque."""

    def __init__(self, name, value):
        self.name, self.value = name, value


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags as `Tag` values."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return Tag(suffix, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return Tag(suffix, loader.construct_sequence(node, deep=True))
    return Tag(suffix, loader.construct_mapping(node, deep=True))


CfnLoader.add_multi_constructor("!", _tag)


def condition_holds(template, name):
    """Evaluates a condition of the template with its parameters' defaults, as a deploy
    that overrides none of them (`!Equals` of a `!Ref` and a literal, `!Not`)."""

    def value(v):
        if isinstance(v, Tag) and v.name == "Ref":
            return str(template["Parameters"][v.value].get("Default", ""))
        return str(v)

    def holds(c):
        if c.name == "Equals":
            return value(c.value[0]) == value(c.value[1])
        if c.name == "Not":
            return not holds(c.value[0])
        raise ValueError(f"condition !{c.name} is not modelled")

    return holds(template["Conditions"][name])


def resolve(template, v):
    """`v` with each `!If` replaced by its branch and `!Ref AWS::NoValue` left out."""
    no_value = lambda x: isinstance(x, Tag) and x.name == "Ref" and x.value == "AWS::NoValue"
    if isinstance(v, Tag) and v.name == "If":
        cond, yes, no = v.value
        return resolve(template, yes if condition_holds(template, cond) else no)
    if isinstance(v, list):
        items = [resolve(template, x) for x in v]
        return [x for x in items if not no_value(x)]
    if isinstance(v, dict):
        return {k: resolve(template, x) for k, x in v.items()}
    return v


def create_secrets(sm, template):
    """Every generated secret of the template, by logical id; returns {logical id: ARN}."""
    arns = {}
    existing = {s["Name"]: s["ARN"] for s in sm.list_secrets().get("SecretList", [])}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::SecretsManager::Secret":
            continue
        if logical_id in existing:
            arns[logical_id] = existing[logical_id]
            continue
        spec = resource["Properties"]["GenerateSecretString"]
        alphabet = string.ascii_letters + string.digits
        if not spec.get("ExcludePunctuation"):
            alphabet += string.punctuation
        value = "".join(secrets.choice(alphabet) for _ in range(spec["PasswordLength"]))
        arns[logical_id] = sm.create_secret(Name=logical_id, SecretString=value)["ARN"]
    return arns


def secret_variables(template, arns):
    """{VAR: ARN} for every function variable the template sets to `!Ref <secret>`."""
    found = {}
    for resource in template["Resources"].values():
        variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            if isinstance(value, Tag) and value.name == "Ref" and value.value in arns:
                found[name] = arns[value.value]
    return found


def create_keys(kms, template):
    """Every KMS key of the template, by logical id (found again by its alias, so running
    twice makes no second key); returns {logical id: ARN}."""
    arns = {}
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases().get("Aliases", [])}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::KMS::Key":
            continue
        alias = f"alias/{logical_id}"
        key_id = aliases.get(alias)
        if key_id is None:
            key_id = kms.create_key(Description=logical_id)["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        arns[logical_id] = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    return arns


def create_queues(sqs, template):
    """Every SQS queue of the template, named by its logical id, dead-letter queues first;
    returns {logical id: (URL, ARN)}."""
    queues = {}
    pending = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    while pending:
        for logical_id, resource in list(pending.items()):
            props = resource.get("Properties") or {}
            attributes = {}
            for name in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
                if name in props:
                    attributes[name] = str(props[name])
            redrive = props.get("RedrivePolicy")
            if redrive:
                target = redrive["deadLetterTargetArn"]
                dlq = target.value.split(".")[0] if isinstance(target, Tag) else target
                if dlq not in queues:
                    continue  # created in a later pass
                attributes["RedrivePolicy"] = json.dumps({
                    "deadLetterTargetArn": queues[dlq][1],
                    "maxReceiveCount": str(redrive["maxReceiveCount"])})
            url = sqs.create_queue(QueueName=logical_id, Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            queues[logical_id] = (url, arn)
            del pending[logical_id]
    return queues


def queue_variables(template, queues):
    """{VAR: URL} for every function variable the template sets to `!Ref <queue>`."""
    found = {}
    for resource in template["Resources"].values():
        variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            if isinstance(value, Tag) and value.name == "Ref" and value.value in queues:
                found[name] = queues[value.value][0]
    return found


def key_variables(template, arns):
    """{VAR: ARN} for every function variable the template sets to `!GetAtt <key>.Arn`."""
    found = {}
    for resource in template["Resources"].values():
        variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            if isinstance(value, Tag) and value.name == "GetAtt" and isinstance(value.value, str):
                logical_id, _, attribute = value.value.partition(".")
                if attribute == "Arn" and logical_id in arns:
                    found[name] = arns[logical_id]
    return found


def resources(template, kind):
    return [r.get("Properties") or {} for r in template["Resources"].values() if r["Type"] == kind]


def create_table(ddb, props, name):
    if name in ddb.list_tables()["TableNames"]:
        return
    args = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    ddb.create_table(**args)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def create_bucket(s3, props, name):
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if name not in existing:
        s3.create_bucket(Bucket=name)
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "BucketEncryption" in props:
        s3.put_bucket_encryption(
            Bucket=name,
            # CloudFormation and the S3 API spell the same rule differently.
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                    for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if "CorsConfiguration" in props:
        # CloudFormation and the S3 API spell the rules differently too. moto then answers
        # the browser's preflights from these rules (scripts/lib.sh turns off moto's own
        # allow-everything CORS), so the portal's browser test meets the bucket's CORS.
        s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={
                "CORSRules": [
                    {
                        **{k: rule[k] for k in ("AllowedMethods", "AllowedOrigins", "AllowedHeaders",
                                                "ExposedHeaders") if k in rule},
                        **({"MaxAgeSeconds": rule["MaxAge"]} if "MaxAge" in rule else {}),
                    }
                    for rule in props["CorsConfiguration"]["CorsRules"]
                ]
            },
        )


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "template.yaml")) as f:
        template = yaml.load(f, Loader=CfnLoader)

    (table,) = resources(template, "AWS::DynamoDB::Table")
    create_table(boto3.client("dynamodb"), resolve(template, table), os.environ["TABLE_NAME"])

    (bucket,) = resources(template, "AWS::S3::Bucket")
    create_bucket(boto3.client("s3"), bucket, os.environ["BUCKET_NAME"])

    arns = create_secrets(boto3.client("secretsmanager"), template)
    key_arns = create_keys(boto3.client("kms"), template)
    queues = create_queues(boto3.client("sqs"), template)
    if "--env-file" in sys.argv:
        path = sys.argv[sys.argv.index("--env-file") + 1]
        variables = {**secret_variables(template, arns), **key_variables(template, key_arns),
                     **queue_variables(template, queues)}
        with open(path, "a") as f:
            for name, arn in sorted(variables.items()):
                f.write(f"{name}={arn}\n")

    if resources(template, "AWS::SES::EmailIdentity"):
        ses = boto3.client("sesv2")
        try:
            ses.create_email_identity(EmailIdentity=os.environ["SENDER_ADDRESS"])
        except ses.exceptions.AlreadyExistsException:
            pass

    print(f"created table {os.environ['TABLE_NAME']}, bucket {os.environ['BUCKET_NAME']}, "
          f"secrets {', '.join(sorted(arns))}, KMS keys {', '.join(sorted(key_arns))}, "
          f"queues {', '.join(sorted(queues))}, SES identity {os.environ['SENDER_ADDRESS']}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
