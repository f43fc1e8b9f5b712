// A customer portal on the Dispatch portal API, in plain browser JavaScript.
//
// The page reads the API address and the customer's portal token from the URL fragment
// (#api=…&token=pt_…&ticket=tkt_…). Browsers never send the fragment to a web server, so
// the token stays out of server and proxy logs. Every call goes straight from the browser
// to the API with `Authorization: Bearer pt_…`; the API answers CORS only for the origins
// listed in the brand's `portalOrigins`.
//
// Everything the API returns is shown with textContent, never innerHTML: ticket titles and
// comments are typed by people.
'use strict';

const $ = (id) => document.getElementById(id);

// ---- The fragment: api, token and the open ticket -------------------------------------

// Decoded by hand rather than with URLSearchParams, which would turn a "+" in a token
// into a space.
function readFragment() {
  const params = {};
  for (const part of location.hash.replace(/^#/, '').split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const key = i < 0 ? part : part.slice(0, i);
    params[decodeURIComponent(key)] = i < 0 ? '' : decodeURIComponent(part.slice(i + 1));
  }
  return params;
}

function fragmentFor(params) {
  return '#' + Object.entries(params)
    .filter(([, v]) => v)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

// The fragment that opens `ticketId` (or the list, without one), keeping api and token.
function linkTo(ticketId) {
  const { api, token } = readFragment();
  return fragmentFor({ api, token, ticket: ticketId });
}

// ---- Calling the API -------------------------------------------------------------------

async function api(method, path, body) {
  const { api: base, token } = readFragment();
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(base.replace(/\/+$/, '') + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    // fetch rejects without a status when the browser blocks the answer (the API sent no
    // Access-Control-Allow-Origin for this page's origin) or nothing answered at all.
    // The page cannot tell the two apart: the browser hides the reason on purpose.
    throw new Error(
      `Network error: the API refused this origin (${location.origin}) or could not be ` +
      `reached at ${base}. Add the origin to the brand's portalOrigins, then mint a new token.`);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON; reported below */ }
  if (!response.ok) throw new Error(describeFailure(response, data));
  return data;
}

// "400 The request has invalid fields: title is required", from the API's error body.
function describeFailure(response, data) {
  if (response.status === 401) {
    return 'Your portal token is missing, invalid or expired. Ask for a new link.';
  }
  const message = `${response.status} ${data?.message ?? response.statusText}`;
  if (!Array.isArray(data?.errors) || !data.errors.length) return message;
  return message.replace(/\.$/, '') + ': ' +
    data.errors.map((e) => `${e.field} ${e.message}`).join('; ');
}

// ---- Small view helpers ----------------------------------------------------------------

function showError(error) {
  $('error').textContent = error instanceof Error ? error.message : String(error);
  $('error').hidden = false;
}

function clearError() {
  $('error').textContent = '';
  $('error').hidden = true;
}

function show(viewId) {
  for (const id of ['setup-view', 'list-view', 'detail-view']) $(id).hidden = id !== viewId;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

const when = (iso) => new Date(iso).toLocaleString();
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function formatSize(bytes) {
  if (bytes < 1024) return plural(bytes, 'byte');
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// Ignores answers that arrive after the customer has moved on to another view.
let currentRender = 0;

// ---- The ticket list -------------------------------------------------------------------

async function renderList() {
  const mine = ++currentRender;
  show('list-view');
  const list = $('ticket-list');
  list.replaceChildren();
  list.removeAttribute('data-loaded');
  $('list-loading').hidden = false;
  $('list-empty').hidden = true;
  $('load-more').hidden = true;
  await loadTicketPage(mine, null);
}

async function loadTicketPage(mine, cursor) {
  const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
  try {
    const page = await api('GET', `/v1/portal/tickets${query}`);
    if (mine !== currentRender) return;
    const list = $('ticket-list');
    for (const ticket of page.tickets ?? page.data) list.append(ticketItem(ticket));
    $('list-empty').hidden = list.children.length > 0;
    const more = $('load-more');
    more.hidden = !page.pagination?.hasMore;
    more.onclick = () => loadTicketPage(mine, page.pagination.nextCursor);
    list.setAttribute('data-loaded', 'true');
  } catch (error) {
    if (mine === currentRender) showError(error);
  } finally {
    if (mine === currentRender) $('list-loading').hidden = true;
  }
}

function ticketItem(ticket) {
  return el('li', { 'data-testid': 'ticket-item', 'data-ticket-id': ticket.id },
    el('a', { href: linkTo(ticket.id) }, `${ticket.ticketNumber} · ${ticket.title}`),
    el('span', { className: 'meta' },
      ` ${ticket.status} · ${plural(ticket.commentCount, 'reply', 'replies')} · updated ${when(ticket.updatedAt)}`));
}

async function createTicket(event) {
  event.preventDefault();
  clearError();
  const form = event.target;
  const title = $('new-title').value.trim();
  const body = $('new-body').value.trim();
  $('new-submit').disabled = true;
  try {
    const ticket = await api('POST', '/v1/portal/tickets', body ? { title, body } : { title });
    form.reset();
    location.hash = linkTo(ticket.id); // opens it (hashchange)
  } catch (error) {
    showError(error);
  } finally {
    $('new-submit').disabled = false;
  }
}

// ---- One ticket ------------------------------------------------------------------------

async function renderTicket(ticketId) {
  const mine = ++currentRender;
  show('detail-view');
  for (const id of ['detail-title', 'detail-meta', 'detail-body', 'upload-status']) {
    $(id).textContent = '';
  }
  $('comment-list').replaceChildren();
  $('attachment-list').replaceChildren();
  $('detail-title').textContent = 'Loading…';
  try {
    const path = `/v1/portal/tickets/${encodeURIComponent(ticketId)}`;
    const [ticket, attachments] = await Promise.all([
      api('GET', path),
      api('GET', `${path}/attachments`),
    ]);
    if (mine !== currentRender) return;
    $('detail-title').textContent = `${ticket.ticketNumber} · ${ticket.title}`;
    $('detail-meta').textContent =
      `${ticket.brand?.name ?? ''} · ${ticket.status} · ${ticket.priority} priority · opened ${when(ticket.createdAt)}`;
    $('detail-body').textContent = ticket.body ?? '';
    $('comment-list').replaceChildren(...(ticket.comments ?? []).map(commentItem));
    $('attachment-list').replaceChildren(...attachments.map(attachmentItem));
  } catch (error) {
    if (mine === currentRender) {
      $('detail-title').textContent = 'This ticket could not be loaded';
      showError(error);
    }
  }
}

function commentItem(comment) {
  const who = comment.authorType === 'CUSTOMER' ? 'You' : (comment.authorName || 'Support');
  return el('li', { 'data-testid': 'comment', 'data-comment-id': comment.id },
    el('p', { className: 'meta' }, `${who} · ${when(comment.createdAt)}`),
    el('p', { className: 'body' }, comment.body));
}

function attachmentItem(attachment) {
  const name = attachment.downloadUrl
    ? el('a', { href: attachment.downloadUrl, rel: 'noopener' }, attachment.filename)
    : el('span', {}, attachment.filename);
  const state = attachment.status === 'UPLOADED' ? '' : ' · upload not finished';
  return el('li', {
    'data-testid': 'attachment',
    'data-attachment-id': attachment.id,
    'data-status': attachment.status,
  }, name, el('span', { className: 'meta' }, ` ${formatSize(attachment.size)}${state}`));
}

async function addComment(event) {
  event.preventDefault();
  clearError();
  const ticketId = readFragment().ticket;
  const body = $('comment-body').value.trim();
  if (!body) return;
  $('comment-submit').disabled = true;
  try {
    const comment = await api('POST',
      `/v1/portal/tickets/${encodeURIComponent(ticketId)}/comments`, { body });
    $('comment-list').append(commentItem(comment));
    event.target.reset();
  } catch (error) {
    showError(error);
  } finally {
    $('comment-submit').disabled = false;
  }
}

// The presigned upload: the API records the file and signs one PUT for exactly this size
// and type; the bytes go from the browser straight to storage, then the API checks them.
async function uploadAttachment(ticketId, file) {
  const base = `/v1/portal/tickets/${encodeURIComponent(ticketId)}/attachments`;
  const contentType = file.type || 'application/octet-stream';
  const created = await api('POST', base, { filename: file.name, contentType, size: file.size });
  // The upload must carry the signed headers, except those only the browser may set
  // (it sends Content-Length itself, from the body).
  const headers = { 'content-type': contentType };
  for (const [name, value] of Object.entries(created.uploadHeaders ?? {})) {
    const lower = name.toLowerCase();
    if (lower !== 'content-length' && lower !== 'host') headers[lower] = value;
  }
  let put;
  try {
    put = await fetch(created.uploadUrl, {
      method: created.uploadMethod || 'PUT',
      headers,
      body: file,
    });
  } catch {
    throw new Error(`Network error: the upload of ${file.name} did not reach storage.`);
  }
  if (!put.ok) throw new Error(`The upload of ${file.name} was refused (${put.status}).`);
  return api('POST', `${base}/${encodeURIComponent(created.attachmentId)}/confirm`, {});
}

async function attachFile(event) {
  clearError();
  const input = event.target;
  const file = input.files[0];
  if (!file) return;
  const ticketId = readFragment().ticket;
  const status = $('upload-status');
  input.disabled = true;
  status.textContent = `Uploading ${file.name}…`;
  try {
    const attachment = await uploadAttachment(ticketId, file);
    // Listed again: the list is what carries the download links.
    const attachments = await api('GET',
      `/v1/portal/tickets/${encodeURIComponent(ticketId)}/attachments`);
    $('attachment-list').replaceChildren(...attachments.map(attachmentItem));
    status.textContent = `Uploaded ${attachment.filename}.`;
  } catch (error) {
    status.textContent = '';
    showError(error);
  } finally {
    input.value = '';
    input.disabled = false;
  }
}

// ---- Routing on the fragment -----------------------------------------------------------

function route() {
  clearError();
  const { api: base, token, ticket } = readFragment();
  if (!base || !token) {
    currentRender++;
    show('setup-view');
  } else if (ticket) {
    renderTicket(ticket);
  } else {
    renderList();
  }
}

$('new-ticket-form').addEventListener('submit', createTicket);
$('comment-form').addEventListener('submit', addComment);
$('attachment-file').addEventListener('change', attachFile);
$('back').addEventListener('click', () => { location.hash = linkTo(null); });
window.addEventListener('hashchange', route);
route();
