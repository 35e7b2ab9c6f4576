// The relay's stand-in for the `form-data` package (package.json `overrides`), which only axios depends on.
// axios 1.x prefers the global FormData when there is one (`lib/env/classes/FormData.js`) and streams a
// spec-compliant FormData itself (`formDataToStream`); it imports `form-data` only for Node versions without
// one. Node 24 has it, so this hands axios the built-in class, and the bundles shed form-data and mime-db
// (about 140 KiB minified) that the relay, which never sends multipart forms, would load on every cold start.
module.exports = globalThis.FormData;
