// The API reference (Scalar, served by this server at the version package.json pins) over /openapi.json. Nothing is
// loaded from anywhere else: no web fonts, no telemetry, no AI agent, no request proxy ("Test request" calls this server).
/* global Scalar */
Scalar.createApiReference('#reference', {
  url: '/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: 'never',
})
