// The customer portal example (examples/portal) in headless Chromium against a running
// Dispatch API (scripts/browser starts one with scripts/dev):
//
// - served from an origin in the brand's portalOrigins, a customer lists tickets, creates
//   one, replies, and uploads a file through the presigned flow; each step is checked on
//   the page and through the API with the key;
// - served from any other origin, the same page with the same token is refused by CORS:
//   the browser blocks the call and the page says so.
//
// Needs DISPATCH_URL, DISPATCH_KEY and BRAND_ID (the export line scripts/dev prints).
// Chromium comes from the OS: /usr/bin/chromium, or CHROMIUM_PATH.
// Leaves screenshots in target/browser-artifacts/. Exits non-zero on the first failure.
import { createServer } from 'node:http';
import { mkdir, readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../..', import.meta.url));
const exampleDir = join(root, 'examples', 'portal');
const artifactsDir = join(root, 'target', 'browser-artifacts');

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set: run scripts/browser, or export the line scripts/dev prints.`);
    process.exit(2);
  }
  return value;
};
const apiUrl = env('DISPATCH_URL').replace(/\/+$/, '');
const apiKey = env('DISPATCH_KEY');
const brandId = env('BRAND_ID');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// ---- A tiny harness: named checks, the first failure stops the run ---------------------

let passed = 0;
const diagnostics = [];

async function check(name, fn) {
  try {
    await fn();
  } catch (error) {
    console.error(`not ok - ${name}\n  ${String(error?.message ?? error).split('\n').join('\n  ')}`);
    if (diagnostics.length) console.error(`  browser said:\n    ${diagnostics.slice(-15).join('\n    ')}`);
    throw Object.assign(new Error(name), { reported: true });
  }
  passed += 1;
  console.log(`ok - ${name}`);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function assertEqual(actual, expected, what) {
  assert(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// ---- The API, called from Node with the key --------------------------------------------

async function callApi(method, path, { body, headers = {}, auth = `Bearer ${apiKey}` } = {}) {
  const response = await fetch(apiUrl + path, {
    method,
    headers: {
      ...(auth ? { Authorization: auth } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* left as text */ }
  return { status: response.status, headers: response.headers, body: json ?? text };
}

async function expectStatus(method, path, status, options) {
  const r = await callApi(method, path, options);
  assert(r.status === status,
    `${method} ${path}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const adminTicket = (id) => expectStatus('GET', `/v1/brands/${brandId}/tickets/${id}`, 200);

// The answer a browser gets before it sends `Authorization` from `origin`.
const preflight = (origin, method = 'GET') => callApi('OPTIONS', '/v1/portal/tickets', {
  auth: null,
  headers: {
    Origin: origin,
    'Access-Control-Request-Method': method,
    'Access-Control-Request-Headers': 'authorization,content-type',
  },
});

// ---- The example, served as static files -----------------------------------------------

const contentTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
};

async function serveExample() {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = normalize(join(exampleDir, path === '/' ? 'index.html' : decodeURIComponent(path)));
    if (!file.startsWith(exampleDir + sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const bytes = await readFile(file);
      res.writeHead(200, {
        'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-store',
      }).end(bytes);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

// ---- The run ---------------------------------------------------------------------------

const servers = [];
let browser;

async function main() {
  const allowed = await serveExample();
  const refused = await serveExample();
  servers.push(allowed, refused);
  // Two origins of the same files: they differ in host name and port, as a real portal
  // and a stranger's page would.
  const originA = `http://localhost:${allowed.address().port}`;
  const originB = `http://127.0.0.1:${refused.address().port}`;
  console.log(`# API ${apiUrl}, brand ${brandId}`);
  console.log(`# allowed origin ${originA}, other origin ${originB}`);

  // Origins travel inside the token, so they are set before it is minted.
  await check('the brand allows only the portal origin', async () => {
    const brand = await expectStatus('PATCH', `/v1/brands/${brandId}`, 200,
      { body: { portalOrigins: [originA] } });
    assertEqual(JSON.stringify(brand.portalOrigins), JSON.stringify([originA]), 'portalOrigins');
  });

  const email = `portal-${Date.now()}-${process.pid}@example.com`;
  let minted;
  await check('a portal token is minted for a new customer', async () => {
    minted = await expectStatus('POST', `/v1/brands/${brandId}/portal/token`, 201,
      { body: { email, name: 'Pat Portal' } });
    assert(typeof minted.token === 'string' && minted.token.startsWith('pt_'),
      `token should start with pt_: ${JSON.stringify(minted)}`);
    assertEqual(minted.accessToken, minted.token, 'accessToken');
    assertEqual(minted.email, email, 'email');
  });

  await check('a preflight from the portal origin is allowed, with the authorization header', async () => {
    const r = await preflight(originA, 'POST');
    assert(r.status >= 200 && r.status < 300, `preflight answered ${r.status}`);
    assertEqual(r.headers.get('access-control-allow-origin'), originA, 'access-control-allow-origin');
    const allowedHeaders = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    assert(allowedHeaders.split(',').map((h) => h.trim()).includes('authorization'),
      `access-control-allow-headers should list authorization, got ${JSON.stringify(allowedHeaders)}`);
  });

  await check('a preflight from any other origin gets no access-control-allow-origin', async () => {
    const r = await preflight(originB);
    assertEqual(r.headers.get('access-control-allow-origin'), null, 'access-control-allow-origin');
    const direct = await callApi('GET', '/v1/portal/tickets',
      { auth: `Bearer ${minted.token}`, headers: { Origin: originB } });
    assertEqual(direct.headers.get('access-control-allow-origin'), null,
      'access-control-allow-origin on the GET itself');
  });

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // The machine is root (no sandbox) with no outside network (nothing in the background).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
  // Generous: under `cargo lambda watch` a function starts on its first call.
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') diagnostics.push(`[console] ${m.text()}`); });
  page.on('pageerror', (e) => diagnostics.push(`[page error] ${e.message}`));
  const fragment = `#api=${encodeURIComponent(apiUrl)}&token=${encodeURIComponent(minted.token)}`;

  await check('on the portal origin the page lists the customer\'s tickets (none yet)', async () => {
    await page.goto(`${originA}/${fragment}`);
    await page.locator('#ticket-list[data-loaded="true"]').waitFor({ state: 'attached' });
    await page.locator('#list-empty').waitFor();
    assert(await page.locator('#error').isHidden(),
      `#error shows: ${await page.locator('#error').textContent()}`);
  });

  const title = `Printer on fire ${Date.now()}`;
  let ticketId;
  await check('a ticket created on the page opens, and the API has it for this customer', async () => {
    await page.locator('#new-title').fill(title);
    await page.locator('#new-body').fill('It started after the last update.');
    await page.locator('#new-submit').click();
    await page.locator('#detail-title', { hasText: title }).waitFor();
    ticketId = new URLSearchParams(new URL(page.url()).hash.slice(1)).get('ticket');
    assert(ticketId?.startsWith('tkt_'), `the page should open the ticket, url is ${page.url()}`);
    const meta = await page.locator('#detail-title').textContent();
    assert(/^[A-Z]+-\d+ · /.test(meta), `the title should start with the ticket number: ${meta}`);
    assertEqual(await page.locator('#detail-body').textContent(), 'It started after the last update.', 'body on the page');
    const ticket = await adminTicket(ticketId);
    assertEqual(ticket.title, title, 'title');
    assertEqual(ticket.customerId, minted.customerId, 'customerId');
    assertEqual(ticket.source, 'portal', 'source');
  });

  const reply = 'Here is the error it prints: E-42.';
  await check('a reply added on the page shows up, and the API counts it', async () => {
    await page.locator('#comment-body').fill(reply);
    await page.locator('#comment-submit').click();
    await page.locator('[data-testid="comment"]', { hasText: reply }).waitFor();
    assertEqual(await page.locator('[data-testid="comment"]').count(), 1, 'comments on the page');
    assertEqual((await adminTicket(ticketId)).commentCount, 1, 'commentCount');
  });

  const fileText = `printer log\n${'paper jam\n'.repeat(20)}`;
  await check('a file attached on the page is uploaded, confirmed, and downloadable', async () => {
    await page.locator('#attachment-file').setInputFiles({
      name: 'printer-log.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from(fileText),
    });
    const item = page.locator('[data-testid="attachment"][data-status="UPLOADED"]', { hasText: 'printer-log.txt' });
    await item.waitFor();
    await page.locator('#upload-status', { hasText: 'Uploaded printer-log.txt' }).waitFor();
    assert(await page.locator('#error').isHidden(), `#error shows: ${await page.locator('#error').textContent()}`);
    assertEqual((await adminTicket(ticketId)).attachmentCount, 1, 'attachmentCount');
    const listed = await expectStatus('GET', `/v1/brands/${brandId}/tickets/${ticketId}/attachments`, 200);
    const attachments = Array.isArray(listed) ? listed : listed.data;
    assertEqual(attachments.length, 1, 'attachments listed by the API');
    assertEqual(attachments[0].status, 'UPLOADED', 'attachment status');
    assertEqual(attachments[0].size, Buffer.byteLength(fileText), 'attachment size');
    // The page's own download link brings back the bytes the browser sent.
    const href = await item.locator('a').getAttribute('href');
    const download = await fetch(href);
    assertEqual(download.status, 200, 'download status');
    assertEqual(await download.text(), fileText, 'downloaded content');
  });

  await mkdir(artifactsDir, { recursive: true });
  const screenshot = join(artifactsDir, 'portal.png');
  await page.screenshot({ path: screenshot, fullPage: true });

  await check('back on the list, the ticket shows with its reply', async () => {
    await page.locator('#back').click();
    const item = page.locator(`[data-testid="ticket-item"][data-ticket-id="${ticketId}"]`);
    await item.waitFor();
    const text = await item.textContent();
    assert(text.includes(title) && text.includes('1 reply'), `list item reads: ${text}`);
  });

  await check('on any other origin the same page and token are refused by CORS', async () => {
    const stranger = await context.newPage();
    const blocked = [];
    stranger.on('console', (m) => { if (m.text().includes('CORS policy')) blocked.push(m.text()); });
    stranger.on('pageerror', (e) => diagnostics.push(`[page error] ${e.message}`));
    await stranger.goto(`${originB}/${fragment}`);
    const error = stranger.locator('#error');
    await error.waitFor();
    const message = await error.textContent();
    assert(message.includes('Network error'), `#error should report a network error, it reads: ${message}`);
    assertEqual(await stranger.locator('[data-testid="ticket-item"]').count(), 0, 'tickets rendered');
    assertEqual(await stranger.locator('#ticket-list').getAttribute('data-loaded'), null, 'list loaded');
    await stranger.screenshot({ path: join(artifactsDir, 'portal-other-origin.png'), fullPage: true });
    // Chromium says why on the console; this tells a CORS refusal from an API that is down.
    for (let i = 0; i < 20 && blocked.length === 0; i++) await stranger.waitForTimeout(100);
    assert(blocked.length > 0, 'Chromium should log a CORS policy error for the list call');
  });

  console.log(`# screenshots in ${artifactsDir} (portal.png: the working page)`);
  console.log(`# customer ${email} created ticket ${ticketId} with 1 reply and 1 file from ${originA}; ${originB} was refused`);
}

let failed = 0;
try {
  await main();
} catch (error) {
  failed = 1;
  if (!error.reported) console.error(`not ok - ${error.stack ?? error}`);
} finally {
  await browser?.close().catch(() => {});
  for (const server of servers) server.close();
}
console.log(`portal: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
