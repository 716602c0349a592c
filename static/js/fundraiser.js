/* Keeps every fundraiser progress block ([data-progress-url]) current without a reload:
   polls the progress API, sends the last ETag (a 304 changes nothing), updates the bar.
   The URL asks for the page's language (?lang=), and every figure shown is one of the answer's
   `display` strings, written by the server as the rest of the page: this script never formats
   a number itself, so a page cannot mix two ways of writing one. */
(function () {
  "use strict";
  var INTERVAL = 5000;

  function setText(root, selector, text) {
    var nodes = root.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = text; }
  }

  /* "12 backers" with the number in bold, from the server's sentence and its number. */
  function setCounted(root, text, number) {
    var spans = root.querySelectorAll('[data-field="backers-text"]');
    for (var i = 0; i < spans.length; i++) {
      var at = text.indexOf(number);
      if (at < 0) { spans[i].textContent = text; continue; }
      var strong = document.createElement("strong");
      strong.setAttribute("data-field", "backers");
      strong.textContent = number;
      spans[i].replaceChildren(document.createTextNode(text.slice(0, at)), strong,
                               document.createTextNode(text.slice(at + number.length)));
    }
  }

  function apply(block, data) {
    var shown = data.display;
    if (!shown) { return; }  /* an answer without the page's strings: keep what is shown */
    var bar = block.querySelector("progress.fundraiser-bar");
    if (bar) {
      bar.max = data.goal;
      bar.value = Math.max(0, Math.min(data.raised, data.goal));
      bar.textContent = shown.percent;
    }
    setText(block, '[data-field="raised"]', shown.raised);
    setText(block, '[data-field="percent"]', shown.percent);
    setCounted(block, shown.backers_text, shown.backers);
    (data.outlets || []).forEach(function (outlet) {
      if (shown.outlets && shown.outlets[outlet.slug]) {
        setText(document, '[data-outlet="' + outlet.slug + '"]', shown.outlets[outlet.slug]);
      }
      var obar = document.querySelector('[data-outlet-bar="' + outlet.slug + '"]');
      if (obar) { obar.value = Math.max(0, Math.min(outlet.raised, obar.max)); }
    });
    var stones = document.querySelectorAll(".milestones li[data-amount]");
    for (var i = 0; i < stones.length; i++) {
      var reached = data.raised >= Number(stones[i].getAttribute("data-amount"));
      stones[i].classList.toggle("reached", reached);
      stones[i].classList.toggle("ahead", !reached);
    }
  }

  function watch(block) {
    var url = block.getAttribute("data-progress-url");
    var etag = null;
    function poll() {
      if (document.hidden) { return; }
      var headers = {};
      if (etag) { headers["If-None-Match"] = etag; }
      fetch(url, { headers: headers, cache: "no-store", credentials: "omit" })
        .then(function (response) {
          if (response.status === 304 || !response.ok) { return null; }
          etag = response.headers.get("ETag");
          return response.json();
        })
        .then(function (data) { if (data) { apply(block, data); } })
        .catch(function () { /* offline for a moment: try again next time */ });
    }
    poll();
    setInterval(poll, INTERVAL);
    document.addEventListener("visibilitychange", poll);
  }

  function start() {
    var blocks = document.querySelectorAll("[data-progress-url]");
    for (var i = 0; i < blocks.length; i++) { watch(blocks[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
