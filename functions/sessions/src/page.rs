//! `GET /v1/auth/verify`: the page a magic link opens.
//!
//! Mail scanners and link previewers fetch links, so opening the link must not sign anyone
//! in: the page only shows a button, and the button POSTs the token. The token is read by
//! the page's script from its own URL; the server never echoes it into the HTML.

use dispatch_domain::random;
use dispatch_http::{Reply, html};
use lambda_http::Request;
use lambda_http::http::{HeaderValue, StatusCode};

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sign in to Dispatch</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; color: #1f2328; }
button { font-size: 1rem; padding: .6rem 1.2rem; border-radius: .4rem; border: 0; background: #1f6feb; color: #fff; cursor: pointer; }
button[disabled] { opacity: .6; }
</style>
</head>
<body>
<h1>Sign in to Dispatch</h1>
<p id="message">Press the button to finish signing in.</p>
<button id="confirm" type="button">Sign in</button>
<div id="choices"></div>
<script nonce="__NONCE__">
(function () {
  var token = new URLSearchParams(location.search).get("token");
  var button = document.getElementById("confirm");
  var message = document.getElementById("message");
  var next = document.body.getAttribute("data-next");
  history.replaceState(null, "", location.pathname);
  var choices = document.getElementById("choices");
  // An invitation is accepted only by choosing it: the answer lists them, and each
  // button sends the same token again with that organization.
  function offer(invitations) {
    button.remove();
    message.textContent = "You were invited. Join an organization to sign in:";
    invitations.forEach(function (inv) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = "Join " + inv.organizationName + " as " + inv.role;
      b.addEventListener("click", function () {
        while (choices.firstChild) { choices.removeChild(choices.firstChild); }
        signIn(inv.organizationId);
      });
      choices.appendChild(b);
    });
  }
  function signIn(organizationId) {
    button.disabled = true;
    var body = { token: token || "" };
    if (organizationId) { body.organizationId = organizationId; }
    fetch(location.pathname, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) {
        message.textContent = "You are signed in.";
        button.remove();
        if (next) { location.assign(next); }
      } else if (r.status === 409) {
        return r.json().then(function (e) { offer(e.invitations || []); });
      } else {
        message.textContent = "This link is invalid, used or expired. Request a new one.";
      }
    }, function () {
      message.textContent = "Could not reach Dispatch. Try again.";
      button.disabled = false;
    });
  }
  button.addEventListener("click", function () { signIn(null); });
})();
</script>
</body>
</html>
"#;

/// Serves the confirm page. `next` is where to go after signing in (the dashboard).
pub async fn verify_page(next: Option<&str>, _req: Request) -> Reply {
    let nonce = random::base62(22);
    let mut page = PAGE.replace("__NONCE__", &nonce);
    if let Some(url) =
        next.filter(|u| u.starts_with("https://") || u.starts_with("http://localhost"))
    {
        let escaped = url
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;");
        page = page.replace("<body>", &format!("<body data-next=\"{escaped}\">"));
    }
    let mut response = html(StatusCode::OK, page)?;
    let headers = response.headers_mut();
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert("content-security-policy", v);
    }
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    Ok(response)
}
