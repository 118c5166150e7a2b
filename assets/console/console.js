// Switchboard console: the little script every page loads (pages work without it).
// htmx requests carry the session's CSRF token in a header, as forms carry it in a field.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});
