/* wagtail-journeys tracking beacon.
 *
 * <script src=".../tracking.js" data-endpoint="https://site/journeys/api"
 *         data-visitor="<signed id>" data-page-view="true" defer></script>
 *
 * Exposes window.journeys.track(name, properties). Events go out with
 * navigator.sendBeacon as text/plain JSON (a CORS-simple request, no preflight), carrying the
 * visitor id the server issued and signed. Without data-visitor (a front end on another
 * origin) the id is fetched once from GET {endpoint}/visitor and kept in localStorage.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = (script && script.dataset.endpoint) || "/journeys/api";
  var STORE = "journeys_visitor";
  var visitorPromise = null;
  var queue = [];

  function stored() {
    try { return window.localStorage.getItem(STORE); } catch (e) { return null; }
  }
  function store(token) {
    try { window.localStorage.setItem(STORE, token); } catch (e) { /* private mode */ }
  }

  function visitor() {
    if (visitorPromise) return visitorPromise;
    var given = script && script.dataset.visitor;
    if (given) { store(given); visitorPromise = Promise.resolve(given); return visitorPromise; }
    var known = stored();
    if (known) { visitorPromise = Promise.resolve(known); return visitorPromise; }
    visitorPromise = fetch(endpoint + "/visitor", { credentials: "include" })
      .then(function (r) { if (!r.ok) throw new Error("visitor " + r.status); return r.json(); })
      .then(function (body) { store(body.visitor); return body.visitor; });
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
