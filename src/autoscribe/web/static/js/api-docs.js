/* /docs: Swagger UI (vendored, static/vendor/swagger-ui/) over this server's OpenAPI description.
   A file rather than an inline script: the page's Content-Security-Policy allows no inline script. */
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    window.ui = window.SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      domNode: root,
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      // The default validator badge sends the whole description to validator.swagger.io.
      validatorUrl: null,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    });
  });
})();
