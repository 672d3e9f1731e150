/* Our own analytics: site searches and "was this page helpful?" votes, sent to the
   intake API without cookies or identity. An external file, not an inline script:
   the site's Content-Security-Policy allows no inline script but the theme's own. */
function __md_analytics() {
  function base() {
    var meta = document.querySelector('meta[name="kb-api-base"]');
    return ((meta && meta.content) || "").replace(/\/+$/, "");
  }
  function send(event) {
    var body = JSON.stringify(event);
    if (navigator.sendBeacon) {
      navigator.sendBeacon(base() + "/api/v1/events", new Blob([body], { type: "application/json" }));
    } else {
      fetch(base() + "/api/v1/events", { method: "POST", headers: { "Content-Type": "application/json" }, body: body, keepalive: true });
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.forms.search;
    if (form) {
      form.query.addEventListener("blur", function () {
        var query = this.value.trim();
        if (!query) return;
        var meta = document.querySelector(".md-search-result__meta");
        var digits = meta ? (meta.textContent.match(/\d+/) || ["0"])[0] : "0";
        send({ kind: "search", query: query.slice(0, 200), result_count: Number(digits) });
      });
    }
    document$.subscribe(function () {
      var feedback = document.forms.feedback;
      if (typeof feedback === "undefined") return;
      feedback.querySelectorAll("[type=submit]").forEach(function (button) {
        button.addEventListener("click", function (ev) {
          ev.preventDefault();
          var value = this.getAttribute("data-md-value");
          send({ kind: "page_feedback", page: document.location.pathname, value: Number(value) });
          feedback.firstElementChild.disabled = true;
          var note = feedback.querySelector(".md-feedback__note [data-md-value='" + value + "']");
          if (note) note.hidden = false;
        });
      });
      feedback.hidden = false;
    });
  });
}
