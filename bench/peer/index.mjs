// The peer implementation for the benchmark: API-key-authenticated GET /v1/brands the way
// most teams would write it (Node.js + AWS SDK v3 DynamoDB client), on a minimal Lambda
// Runtime API loop (what aws-lambda-ric does, without the native addon). Same table, same
// items, same answer shape as the Rust brands-list function.
import { createHash } from "node:crypto";
import { DynamoDBClient, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const table = process.env.TABLE_NAME;
const ddb = new DynamoDBClient({});

function reply(statusCode, body) {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

async function handle(event) {
  const auth = event.headers?.authorization ?? "";
  const key = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  if (!/^sk_(live|test)_[A-Za-z0-9]{49}$/.test(key)) return reply(401, { code: "invalid_credential" });
  const hash = createHash("sha256").update(key).digest("hex");
  const grant = await ddb.send(new GetItemCommand({
    TableName: table,
    Key: { pk: { S: `APIKEY#${hash}` }, sk: { S: "APIKEY" } },
    ConsistentRead: true,
  }));
  if (!grant.Item) return reply(401, { code: "invalid_api_key" });
  const org = grant.Item.orgId.S;
  const mode = grant.Item.mode.S;
  const brands = await ddb.send(new QueryCommand({
    TableName: table,
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
    ExpressionAttributeValues: { ":pk": { S: `ORG#${org}#${mode}` }, ":prefix": { S: "BRAND#" } },
    ConsistentRead: true,
  }));
  return reply(200, (brands.Items ?? []).map((b) => ({
    id: b.id.S, accountId: b.orgId.S, name: b.name.S, slug: b.slug.S, ticketPrefix: b.ticketPrefix.S,
    nextTicketNumber: Number(b.nextTicketNumber.N), portalOrigins: (b.portalOrigins?.L ?? []).map((o) => o.S),
    metadata: JSON.parse(b.metadata?.S ?? "{}"),
    createdAt: new Date(Number(b.createdAt.N) * 1000).toISOString().replace(".000", ""),
    updatedAt: new Date(Number(b.updatedAt.N) * 1000).toISOString().replace(".000", ""),
  })));
}

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const id = next.headers.get("lambda-runtime-aws-request-id");
  const event = await next.json();
  let result;
  try {
    result = await handle(event);
  } catch (err) {
    await fetch(`${api}/invocation/${id}/error`, { method: "POST", body: JSON.stringify({ errorMessage: String(err) }) });
    continue;
  }
  await fetch(`${api}/invocation/${id}/response`, { method: "POST", body: JSON.stringify(result) });
}
