"""Creates the table, bucket and SES identity in the local emulator from template.yaml.

The definitions come from the template's own resources (key schema, TTL, streams, bucket
lockdown), so local and deployed resources cannot drift apart. Names come from the
environment (TABLE_NAME, BUCKET_NAME, SENDER_ADDRESS), as the template passes them to the
functions. Safe to run twice.
"""

import os
import sys

import boto3
import yaml


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !GetAtt, !Sub) as opaque values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


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


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "template.yaml")) as f:
        template = yaml.load(f, Loader=CfnLoader)

    (table,) = resources(template, "AWS::DynamoDB::Table")
    create_table(boto3.client("dynamodb"), table, os.environ["TABLE_NAME"])

    (bucket,) = resources(template, "AWS::S3::Bucket")
    create_bucket(boto3.client("s3"), bucket, os.environ["BUCKET_NAME"])

    if resources(template, "AWS::SES::EmailIdentity"):
        ses = boto3.client("sesv2")
        try:
            ses.create_email_identity(EmailIdentity=os.environ["SENDER_ADDRESS"])
        except ses.exceptions.AlreadyExistsException:
            pass

    print(f"created table {os.environ['TABLE_NAME']}, bucket {os.environ['BUCKET_NAME']}, "
          f"SES identity {os.environ['SENDER_ADDRESS']}", file=sys.stderr)


if __name__ == "__main__":
    main()
