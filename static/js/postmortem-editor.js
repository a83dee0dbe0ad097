/*
 * postmortem-editor.js — nothing typed in a postmortem is lost.
 *
 * 1. Autosave: while someone types, the sections are posted to the server every few seconds
 *    (PostmortemDraft, one per person; the editor offers "Restore your unsaved text" from it),
 *    and once more when they leave the page.
 * 2. localStorage as a second net (offline, server down): the sections and the version they were
 *    typed against are kept under the form's data-draft-key; on load, if the browser holds text
 *    that differs from the form, a banner offers to restore it. A successful save forgets it.
 * 3. The inline article search: Enter in its box searches instead of submitting the form.
 *
 * Forms work without this file; it only adds safety nets.
 */
(function () {
  "use strict";

  // ---------- Inline article search: Enter must not submit the surrounding form ----------
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && target && target.closest && target.closest(".inline-search")) {
      event.preventDefault();
      if (window.htmx) { window.htmx.trigger(target, "search"); }
    }
  });

  var form = document.getElementById("postmortem-form");
  if (!form) { return; }

  var key = form.getAttribute("data-draft-key");
  var autosaveUrl = form.getAttribute("data-autosave-url");
  var status = document.getElementById("autosave-status");
  var banner = document.getElementById("local-draft");
  var version = form.querySelector("input[name=version]");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  var storage = null;
  try { storage = window.localStorage; } catch (error) { storage = null; }
  var AUTOSAVE_MS = 3000;
  var MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

  function textareas() {
    return Array.prototype.slice.call(form.querySelectorAll("textarea[name]"));
  }

  function collect() {
    var sections = {};
    textareas().forEach(function (el) { sections[el.name] = el.value; });
    return sections;
  }

  function differs(sections) {
    return textareas().some(function (el) {
      return el.name in sections && sections[el.name] !== el.value;
    });
  }

  // ---------- localStorage ----------
  function readLocal() {
    if (!storage) { return null; }
    try {
      var draft = JSON.parse(storage.getItem(key) || "null");
      if (draft && draft.sections && Date.now() - draft.savedAt < MAX_AGE_MS) { return draft; }
    } catch (error) { /* a corrupt draft is dropped below */ }
    storage.removeItem(key);
    return null;
  }

  function writeLocal() {
    if (!storage) { return; }
    try {
      storage.setItem(key, JSON.stringify({
        savedAt: Date.now(), version: version ? version.value : "", sections: collect()
      }));
    } catch (error) { /* storage full or disabled: the server autosave still runs */ }
  }

  if (storage && document.querySelector(".message.draft-saved")) {
    storage.removeItem(key);  // The page confirms the save: the browser copy is not needed.
  }

  var local = readLocal();
  var serverOffer = document.getElementById("server-draft");
  if (local && banner && !serverOffer && differs(local.sections)) {
    banner.querySelector("[data-draft-time]").textContent =
      "typed " + new Date(local.savedAt).toLocaleString();
    banner.hidden = false;
    banner.querySelector("[data-draft-restore]").addEventListener("click", function () {
      textareas().forEach(function (el) {
        if (el.name in local.sections) {
          el.value = local.sections[el.name];
          if (window.htmx) { window.htmx.trigger(el, "keyup"); }
        }
      });
      if (version && local.version) { version.value = local.version; }
      banner.hidden = true;
      scheduleAutosave();
      var first = textareas()[0];
      if (first) { first.focus(); }
    });
    banner.querySelector("[data-draft-discard]").addEventListener("click", function () {
      storage.removeItem(key);
      banner.hidden = true;
    });
  }

  // ---------- Server autosave ----------
  var timer = null;
  var dirty = false;

  function payload() {
    var data = new FormData(form);
    data.delete("change_note");
    return data;
  }

  function autosave() {
    timer = null;
    if (!dirty || !autosaveUrl) { return; }
    dirty = false;
    window.fetch(autosaveUrl, {
      method: "POST",
      body: payload(),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf ? csrf.value : "" }
    }).then(function (response) {
      return response.text().then(function (html) {
        if (status) { status.innerHTML = html; }
        if (!response.ok) { dirty = true; }
      });
    }).catch(function () {
      dirty = true;
      if (status) { status.textContent = "Offline: your text is kept in this browser."; }
    });
  }

  function scheduleAutosave() {
    dirty = true;
    if (timer === null) { timer = window.setTimeout(autosave, AUTOSAVE_MS); }
  }

  var localTimer = null;
  form.addEventListener("input", function (event) {
    if (!event.target || event.target.tagName !== "TEXTAREA") { return; }
    if (banner && !banner.hidden) { return; }  // Do not overwrite a draft not yet restored.
    window.clearTimeout(localTimer);
    localTimer = window.setTimeout(writeLocal, 300);
    scheduleAutosave();
  });

  form.addEventListener("submit", function () {
    window.clearTimeout(timer);
    timer = null;
    dirty = false;
    writeLocal();
  });

  window.addEventListener("pagehide", function () {
    if (dirty && autosaveUrl && navigator.sendBeacon) {
      navigator.sendBeacon(autosaveUrl, payload());
      dirty = false;
    }
  });
})();
