/*
 * knowledge-editor.js — nothing typed in the article form is lost on reload.
 *
 * The form's values are kept in localStorage under the form's data-draft-key (one draft per
 * article, "new" for a new one) together with the version they were typed against. When the
 * page loads with different text, a banner offers to restore it. Restoring also restores the
 * version: if someone saved meanwhile, the save is refused with a diff and the text stays.
 * The draft is removed once the article page confirms the save (knowledge-article.js).
 */
(function () {
  "use strict";

  var form = document.getElementById("article-form");
  if (!form || !window.localStorage) { return; }
  var key = form.getAttribute("data-draft-key");
  var banner = document.getElementById("draft-restore");
  var MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrfmiddlewaretoken" && el.type !== "submit" && el.type !== "button";
    });
  }

  function collect() {
    var values = {};
    fields().forEach(function (el) {
      if (el.type === "select-multiple") {
        values[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function sameContent(a, b) {
    var names = Object.keys(a).concat(Object.keys(b));
    for (var i = 0; i < names.length; i++) {
      var name = names[i];
      if (name === "version") { continue; }
      if (JSON.stringify(a[name] === undefined ? "" : a[name]) !== JSON.stringify(b[name] === undefined ? "" : b[name])) {
        return false;
      }
    }
    return true;
  }

  function read() {
    try {
      var draft = JSON.parse(window.localStorage.getItem(key) || "null");
      if (draft && draft.values && Date.now() - draft.savedAt < MAX_AGE_MS) { return draft; }
    } catch (error) { /* a corrupt draft is dropped below */ }
    window.localStorage.removeItem(key);
    return null;
  }

  function write() {
    try {
      window.localStorage.setItem(key, JSON.stringify({ savedAt: Date.now(), values: collect() }));
    } catch (error) { /* storage full or disabled: the server still has the last save */ }
  }

  function apply(values) {
    fields().forEach(function (el) {
      if (!(el.name in values)) { return; }
      var value = values[el.name];
      if (el.type === "select-multiple") {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = value.indexOf(o.value) !== -1; });
      } else {
        el.value = value;
      }
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  var draft = read();
  var loaded = collect();
  if (draft && !sameContent(draft.values, loaded)) {
    var time = banner.querySelector("[data-draft-time]");
    time.textContent = "typed " + new Date(draft.savedAt).toLocaleString();
    banner.hidden = false;
    banner.querySelector("[data-draft-restore]").addEventListener("click", function () {
      apply(draft.values);
      banner.hidden = true;
      write();
      form.querySelector("textarea, input:not([type=hidden])").focus();
    });
    banner.querySelector("[data-draft-discard]").addEventListener("click", function () {
      window.localStorage.removeItem(key);
      banner.hidden = true;
    });
  } else if (draft) {
    write();  // Same text (say, after a refused save): keep it against the version shown now.
  }

  var timer = null;
  function schedule() {
    if (banner && !banner.hidden) { return; }  // Do not overwrite a draft not yet restored.
    window.clearTimeout(timer);
    timer = window.setTimeout(write, 300);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  form.addEventListener("submit", function () { window.clearTimeout(timer); write(); });
})();
