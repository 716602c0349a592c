// Inside the fundraiser widget (/fundraisers/<slug>/embed): tell the page that frames it how tall
// the widget is, whenever that changes (a narrow phone wraps the figures and the button onto more
// lines; a refreshed figure may be longer). The page's embed-host.js sizes the iframe to match.
// The height is no secret, so any framing page may hear it.
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "membership:embed-height", height: height }, "*");
  }
  window.addEventListener("load", report);
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.documentElement);
  else window.addEventListener("resize", report);
  report();
})();
