// Portcullis web UI: copy buttons and the repository list filter. No inline script:
// the Content-Security-Policy allows this file alone.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Copy buttons: data-copy names the element whose text is copied.
  document.querySelectorAll("button.copy[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var src = document.getElementById(btn.getAttribute("data-copy"));
      if (!src || !navigator.clipboard) {
        return;
      }
      navigator.clipboard.writeText(src.textContent).then(function () {
        btn.textContent = "Copied";
      }, function () {
        btn.textContent = "Copy failed";
      });
    });
  });

  // The filter box hides the repositories of this page that do not match as you type;
  // submitting it searches every page on the server.
  var filter = document.getElementById("filter");
  var list = document.getElementById("repos");
  var status = document.getElementById("filter-status");
  if (filter && list) {
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      var shown = 0;
      var items = list.querySelectorAll("li");
      items.forEach(function (li) {
        var match = q === "" || li.textContent.toLowerCase().indexOf(q) !== -1;
        li.hidden = !match;
        if (match) { shown++; }
      });
      if (status) {
        status.textContent = q === "" ? "" : shown + " of " + items.length + " shown on this page";
      }
    });
  }
});
