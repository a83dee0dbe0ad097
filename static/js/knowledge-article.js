/*
 * knowledge-article.js — on the article page after a successful save, forget the draft that the
 * editor kept in localStorage (see knowledge-editor.js).
 */
(function () {
  "use strict";

  var article = document.getElementById("article");
  if (!article || !window.localStorage) { return; }
  var prefix = "kbsite:article-draft:";
  if (document.querySelector(".message.draft-saved")) {
    window.localStorage.removeItem(prefix + article.getAttribute("data-article-id"));
  }
  if (document.querySelector(".message.draft-saved-new")) {
    window.localStorage.removeItem(prefix + "new");
  }
})();
