// On the page that frames the fundraiser widget: size each widget's iframe to its content. Load
// it from the membership site (<script src="https://members.example.org/static/js/embed-host.js"
// async></script>); it listens only to frames of that site and only to the widget's own message.
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src, document.baseURI).origin : null;
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!origin || event.origin !== origin) return;
    if (!data || data.type !== "membership:embed-height") return;
    var height = Number(data.height);
    if (!isFinite(height) || height < 60 || height > 2000) return;
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.ceil(height) + "px";
        frames[i].setAttribute("height", String(Math.ceil(height)));
      }
    }
  });
})();
