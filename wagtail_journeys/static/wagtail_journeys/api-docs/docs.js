/* Starts Swagger UI on the API docs page with the settings the page carries as JSON
   (no inline script, so a strict Content-Security-Policy can allow it). */
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("swagger-settings").textContent);
  settings.dom_id = "#swagger-ui";
  settings.presets = [window.SwaggerUIBundle.presets.apis];
  window.SwaggerUIBundle(settings);
})();
