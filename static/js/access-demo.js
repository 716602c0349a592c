// The demo CMS page asks /api/v1/access (same origin, with the session cookie) and shows the
// article or the "Become a member" box. A real CMS decides on its server; this is a demo.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var article = document.getElementById("demo-article");
    if (!article) { return; }
    var status = document.getElementById("access-status");
    var messages = document.getElementById("access-messages").dataset;
    fetch(article.dataset.accessUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        var reveal = answer.allowed === true;
        document.getElementById("article-body").hidden = !reveal;
        document.getElementById("paywall").hidden = reveal;
        var text = messages.denied;
        if (answer.reason === "open") { text = messages.open; }
        else if (answer.reason === "perk") { text = messages.perk; }
        else if (answer.reason === "metered") { text = messages.metered.replace("{n}", String(answer.meter.remaining)); }
        status.textContent = text;
        article.dataset.accessReason = answer.reason;
      })
      .catch(function () { status.textContent = messages.error; });
  });
})();
