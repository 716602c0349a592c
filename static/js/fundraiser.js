/* Keeps every fundraiser progress block ([data-progress-url]) current without a reload:
   polls the progress API, sends the last ETag (a 304 changes nothing), updates the bar. */
(function () {
  "use strict";
  var INTERVAL = 5000;

  function formatter(block) {
    var currency = block.getAttribute("data-currency");
    var locale = block.getAttribute("data-locale") || undefined;
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency: currency });
    } catch (e) {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency });
    }
  }

  function major(minor, fmt) {
    var digits = fmt.resolvedOptions().maximumFractionDigits;
    return minor / Math.pow(10, digits);
  }

  function setText(root, selector, text) {
    var nodes = root.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = text; }
  }

  function apply(block, data) {
    var fmt = formatter(block);
    var bar = block.querySelector("progress.fundraiser-bar");
    if (bar) {
      bar.max = data.goal;
      bar.value = Math.max(0, Math.min(data.raised, data.goal));
      bar.textContent = data.percent + "%";
    }
    var raised = block.querySelector('[data-field="raised"]');
    if (raised) {
      raised.textContent = fmt.format(major(data.raised, fmt));
      raised.setAttribute("data-minor", String(data.raised));
    }
    setText(block, '[data-field="percent"]', String(data.percent));
    setText(block, '[data-field="backers"]', String(data.backers));
    (data.outlets || []).forEach(function (outlet) {
      setText(document, '[data-outlet="' + outlet.slug + '"]', fmt.format(major(outlet.raised, fmt)));
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
