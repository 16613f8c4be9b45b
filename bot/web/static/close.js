// A paper page's close matches, when the page came without them (bot/lookup/close.py: found on
// first asking, then kept): fetched from the section's data-close address and listed in place of
// the link to the title look-up, which is what a reader without this script follows.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var section = document.querySelector("section[data-close]");
  if (!section) return;
  fetch(section.getAttribute("data-close"), {headers: {"Accept": "application/json"}})
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      var list = section.querySelector("ul.close");
      (data.close || []).forEach(function (hit) {
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = hit.page; a.textContent = hit.title;
        li.appendChild(a); list.appendChild(li);
      });
      if (data.close && data.close.length) { section.querySelector(".close-link").hidden = true; }
      else { section.hidden = true; }
    })
    .catch(function () { /* the link to the title look-up stays */ });
});
