// As-you-type title suggestions for inputs marked data-suggest="/api/suggest" (a combobox with a
// listbox, driven by the keyboard or the mouse). The form works without this script: submitting it
// opens the paper whose title is closest.
"use strict";
(function () {
  function attach(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var endpoint = input.getAttribute("data-suggest");
    var active = -1, timer = null, asked = "";

    function items() { return list.querySelectorAll("li"); }
    function close() {
      list.hidden = true; input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant"); active = -1;
    }
    function select(i) {
      var all = items();
      if (!all.length) return;
      active = (i + all.length) % all.length;
      all.forEach(function (li, n) { li.setAttribute("aria-selected", n === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({block: "nearest"});
    }
    function show(choices) {
      list.textContent = "";
      choices.forEach(function (c, n) {
        var li = document.createElement("li");
        li.id = list.id + "-" + n; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
        var a = document.createElement("a");
        a.href = c.url; a.textContent = c.title; a.tabIndex = -1;
        li.appendChild(a); list.appendChild(li);
      });
      active = -1;
      if (choices.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); } else { close(); }
    }
    function ask() {
      var text = input.value.trim();
      if (text === asked) return;
      asked = text;
      if (!text) { close(); return; }
      fetch(endpoint + "?q=" + encodeURIComponent(text), {headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {suggestions: []}; })
        .then(function (data) { if (input.value.trim() === text) show(data.suggestions || []); })
        .catch(function () { close(); });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 120); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden) { asked = ""; ask(); } else select(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); select(active - 1); }
      else if (e.key === "Escape") { close(); }
      else if (e.key === "Enter" && active >= 0 && !list.hidden) {
        e.preventDefault(); window.location.assign(items()[active].querySelector("a").href);
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(attach);
  });
})();
