/* wagtail-journeys tracking beacon.
 *
 * <script src=".../tracking.js" data-endpoint="https://site/journeys/api"
 *         data-page-view="true" [data-consent="required"] defer></script>
 *
 * Exposes window.journeys.track(name, properties). Events go out with
 * navigator.sendBeacon as text/plain JSON (a CORS-simple request, no preflight), carrying the
 * visitor id the server issued and signed, fetched once per session from GET {endpoint}/visitor.
 * The server records only the names its BROWSER_EVENTS setting allows (page and UI
 * interactions by default); purchases and other commerce must come from the site's server.
 *
 * Consent (data-consent="required", written by {% journeys_tracking %} when the site sets
 * TRACKING_CONSENT_REQUIRED): until journeys.consent.grant(), the script sends nothing and
 * keeps no visitor id; grant() starts it (a page view if data-page-view), withdraw() stops
 * it and clears its storage. Both go through POST {endpoint}/consent, which sets the signed
 * consent cookie; journeys.consent.status() reads that cookie ("granted", "denied" or
 * "unknown"), or, for a front end on another origin that cannot read it, the answer the
 * endpoint gave last (kept in localStorage: a consent choice is no tracking identifier).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var endpoint = data.endpoint || "/journeys/api";
  var required = data.consent === "required";
  var consentCookie = data.consentCookie || "journeys_consent";
  var STORE = "journeys_visitor";
  var CHOICE = "journeys_consent";
  var sameOrigin = (function () {
    try { return new URL(endpoint, window.location.href).origin === window.location.origin; }
    catch (e) { return true; }
  })();
  var visitorPromise = null;
  var queue = [];

  function read(storage, key) {
    try { return window[storage].getItem(key || STORE); } catch (e) { return null; }
  }
  function store(token) {
    ["sessionStorage", "localStorage"].forEach(function (storage) {
      try { window[storage].setItem(STORE, token); } catch (e) { /* private mode */ }
    });
  }
  function forget() {
    visitorPromise = null;
    ["sessionStorage", "localStorage"].forEach(function (storage) {
      try { window[storage].removeItem(STORE); } catch (e) { /* private mode */ }
    });
  }
  function mirror(choice) {
    if (sameOrigin) return;  // the cookie itself is readable: one source of truth
    try {
      if (choice) window.localStorage.setItem(CHOICE, choice);
      else window.localStorage.removeItem(CHOICE);
    } catch (e) { /* private mode */ }
  }

  /* The visitor's recorded choice: "granted", "denied" or "unknown". The cookie's value is
   * "<choice>:<time>:<signature>"; only the server can sign it, so reading it is enough. */
  function status() {
    var choice = null;
    if (sameOrigin) {
      (document.cookie ? document.cookie.split("; ") : []).forEach(function (pair) {
        if (pair.indexOf(consentCookie + "=") === 0) {
          choice = pair.slice(consentCookie.length + 1).split(":")[0];
        }
      });
    } else {
      choice = read("localStorage", CHOICE);
    }
    return choice === "granted" || choice === "denied" ? choice : "unknown";
  }

  function allowed() {
    return !required || status() === "granted";
  }

  function noConsent() {
    return new Error("no consent to tracking (journeys.consent.grant())");
  }

  /* The signed visitor id. Never baked into the page's HTML (a cached page would hand one
   * visitor's id to everyone): asked of the server once per browsing session, which answers
   * with its cookie's id (so it follows identification and key rotation) or issues one. */
  function visitor() {
    if (!allowed()) return Promise.reject(noConsent());
    if (visitorPromise) return visitorPromise;
    var given = data.visitor || read("sessionStorage");
    if (given) { visitorPromise = Promise.resolve(given); return visitorPromise; }
    visitorPromise = fetch(endpoint + "/visitor", { credentials: "include" })
      .then(function (r) {
        if (r.status === 403 && required) {
          // The server holds no consent (expired, or cookies cleared): ask again.
          mirror(null);
          forget();
          throw noConsent();
        }
        if (!r.ok) throw new Error("visitor " + r.status);
        return r.json();
      })
      .then(function (body) { store(body.visitor); return body.visitor; })
      .catch(function (err) {
        var known = allowed() && read("localStorage");
        if (known) return known;
        visitorPromise = null;
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

  /* Before consent (when required), events are dropped, not queued: what a visitor does
   * before accepting is not to be recorded afterwards either. */
  function track(name, properties) {
    if (!allowed()) return Promise.resolve(false);
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

  /* POST the choice; the server sets (or deletes) the cookies. Resolves to the status. */
  function choose(granted, options) {
    var body = { granted: granted };
    if (options && options.wording) body.wording = String(options.wording).slice(0, 5000);
    return fetch(endpoint + "/consent", {
      method: "POST", credentials: "include", body: JSON.stringify(body),
      headers: { "Content-Type": "text/plain" }
    }).then(function (r) {
      if (!r.ok) throw new Error("consent " + r.status);
      return r.json();
    }).then(function (answer) {
      mirror(answer.status);
      if (granted && answer.visitor) {
        store(answer.visitor);
        visitorPromise = Promise.resolve(answer.visitor);
      }
      if (!granted) forget();
      return answer.status;
    });
  }

  function grant(options) {
    if (status() === "granted") return Promise.resolve("granted");
    var started = allowed();
    return choose(true, options).then(function (answer) {
      if (!started && data.pageView === "true") pageView();
      return answer;
    });
  }

  function withdraw(options) {
    forget();
    return choose(false, options);
  }

  if (required && status() !== "granted") forget();  // e.g. withdrawn on the server's side

  var existing = window.journeys;
  window.journeys = {
    track: track,
    pageView: pageView,
    visitor: visitor,
    consent: { grant: grant, withdraw: withdraw, status: status, required: required }
  };
  if (existing && existing.q) { queue = existing.q; }
  queue.forEach(function (args) { track.apply(null, args); });
  if (data.pageView === "true" && allowed()) { pageView(); }
})();
