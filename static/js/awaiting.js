/* A page that waits for Stripe's webhook (the [data-awaiting] block of /checkout/success and of a
   gift's thank-you page) looks again every few seconds and, once the answer has changed, puts the
   new content in place. The block is a polite live region, so a screen reader reads the news;
   nothing reloads under the reader, as a <meta http-equiv="refresh"> would. */
(function () {
  "use strict";
  var INTERVAL = 3000;
  var TRIES = 100; // five minutes; after that the reader reloads if they wish

  function watch(block) {
    var left = TRIES;
    function again() {
      left -= 1;
      if (left > 0) { setTimeout(look, INTERVAL); }
    }
    function look() {
      fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          var page = html && new DOMParser().parseFromString(html, "text/html");
          var fresh = page && page.getElementById(block.id);
          if (fresh && !fresh.hasAttribute("data-awaiting")) {
            block.innerHTML = fresh.innerHTML;
            block.removeAttribute("data-awaiting");
            document.title = page.title;
          } else {
            again();
          }
        })
        .catch(again);
    }
    setTimeout(look, INTERVAL);
  }

  function start() {
    var block = document.querySelector("[data-awaiting][id]");
    if (block && window.fetch && window.DOMParser) { watch(block); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
