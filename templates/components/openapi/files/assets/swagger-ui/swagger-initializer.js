// Starts Swagger UI on the /docs page. A file of its own, not an inline
// script: the page's Content-Security-Policy allows none.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    // `DOCUMENT_PATH` in src/openapi.rs (a test there keeps them equal).
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: true,
    // No validity badge from validator.swagger.io: the page loads nothing
    // from another origin.
    validatorUrl: "none",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
};
