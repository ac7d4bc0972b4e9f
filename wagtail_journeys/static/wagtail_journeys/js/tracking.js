/* wagtail-journeys tracking beacon.
 *
 * <script src=".../tracking.js" data-endpoint="https://site/journeys/api"
 *         data-page-view="true" defer></script>
 *
 * Exposes window.journeys.track(name, properties). Events go out with
 * navigator.sendBeacon as text/plain JSON (a CORS-simple request, no preflight), carrying the
 * visitor id the server issued and signed, fetched once per session from GET {endpoint}/visitor.
 * The server records only the names its BROWSER_EVENTS setting allows (page and UI
 * interactions by default); purchases and other commerce must come from the site's server.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = (script && script.dataset.endpoint) || "/journeys/api";
  var STORE = "journeys_visitor";
  var visitorPromise = null;
  var queue = [];

  function read(storage) {
    try { return window[storage].getItem(STORE); } catch (e) { return null; }
  }
  function store(token) {
    ["sessionStorage", "localStorage"].forEach(function (storage) {
      try { window[storage].setItem(STORE, token); } catch (e) { /* private mode */ }
    });
  }

  /* The signed visitor id. Never baked into the page's HTML (a cached page would hand one
   * visitor's id to everyone): asked of the server once per browsing session, which answers
   * with its cookie's id (so it follows identification and key rotation) or issues one. */
  function visitor() {
    if (visitorPromise) return visitorPromise;
    var given = (script && script.dataset.visitor) || read("sessionStorage");
    if (given) { visitorPromise = Promise.resolve(given); return visitorPromise; }
    visitorPromise = fetch(endpoint + "/visitor", { credentials: "include" })
      .then(function (r) { if (!r.ok) throw new Error("visitor " + r.status); return r.json(); })
      .then(function (body) { store(body.visitor); return body.visitor; })
      .catch(function (err) {
        var known = read("localStorage");
        if (known) return known;
        throw err;
      });
    return visitorPromise;
  }

  function send(payload) {
    var body = JSON.stringify(payload);
    var url = endpoint + "/events";
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) {
      return true;
    }
    fetch(url, { method: "POST", body: body, credentials: "include", keepalive: true,
                 headers: { "Content-Type": "text/plain" } });
    return true;
  }

  function track(name, properties) {
    return visitor().then(function (token) {
      return send({ name: name, properties: properties || {}, visitor: token });
    }).catch(function (err) {
      if (window.console) window.console.warn("journeys: event not sent", err);
      return false;
    });
  }

  function pageView() {
    return track("page_view", {
      path: window.location.pathname,
      title: document.title,
      referrer: document.referrer || undefined
    });
  }

  var existing = window.journeys;
  window.journeys = { track: track, pageView: pageView, visitor: visitor };
  if (existing && existing.q) { queue = existing.q; }
  queue.forEach(function (args) { track.apply(null, args); });
  if (script && script.dataset.pageView === "true") { pageView(); }
})();
