// The desk's little helpers: live preview of the text, confirmation before deleting.
(function () {
  "use strict";
  const text = document.getElementById("text");
  const preview = document.getElementById("preview");
  const form = document.getElementById("editor");
  if (text && preview && form) {
    const csrf = form.querySelector("input[name=csrf]").value;
    let timer = null;
    const refresh = function () {
      const body = new FormData();
      body.append("csrf", csrf);
      body.append("text", text.value);
      fetch("/desk/preview", { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) { preview.innerHTML = html; })
        .catch(function () {});
    };
    text.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
    refresh();
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (confirmed) {
    confirmed.addEventListener("submit", function (event) {
      if (!window.confirm(confirmed.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
