// The editor's photo fields: a chosen photo needs its description, and a photo over the size
// limit is refused before a long upload (the server checks both again).
(function () {
  "use strict";
  document.querySelectorAll("input[type=file][data-alt]").forEach(function (input) {
    input.addEventListener("change", function () {
      const file = input.files && input.files[0];
      const alt = document.getElementById(input.dataset.alt);
      if (alt) { alt.required = Boolean(file); }
      const tooLarge = file && file.size > Number(input.dataset.maxBytes);
      input.setCustomValidity(tooLarge ? input.dataset.tooLarge : "");
      if (tooLarge) { input.reportValidity(); }
    });
  });
})();
