/* AutoScribe dashboard behaviour that htmx does not cover: the dialog, copy buttons.
   Loaded as a file (the Content-Security-Policy allows no inline script). Every feature also
   works without it: dialog links are ordinary pages, copy fields are selectable text. */
(function () {
  "use strict";

  function modal() { return document.getElementById("modal"); }
  function modalBody() { return document.getElementById("modal-body"); }

  function announce(text) {
    var region = document.getElementById("live-status");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function focusInto(container) {
    var target = container.querySelector("[autofocus]") ||
      container.querySelector("input:not([type=hidden]):not([readonly]), select, textarea, button, a[href]");
    if (target) target.focus();
  }

  // A fragment loaded into the dialog opens it; a later swap (form errors) keeps it open and
  // moves focus to the first field reported invalid. After settling, not swapping: htmx wires up
  // the new content's forms only then, and a form used before that would be sent as a page.
  document.addEventListener("htmx:afterSettle", function (event) {
    var body = modalBody();
    // Emptied: the dialog was closed between the swap and now; it stays closed.
    if (!body || event.target !== body || !body.firstElementChild) return;
    var dialog = modal();
    if (!dialog.open) dialog.showModal();
    var invalid = body.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus(); else focusInto(body);
  });

  // A problem answered to a dialog's request (a page that expired, access withdrawn meanwhile)
  // is shown in the dialog, in the words of the error page, rather than nothing happening.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var body = modalBody();
    if (!body || event.detail.target !== body) return;
    var status = event.detail.xhr.status;
    if (status === 403 || status === 404 || status === 410 || status >= 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The server could not be reached: say so where the user is looking (the worklist keeps polling
  // and recovers by itself).
  document.addEventListener("htmx:sendError", function (event) {
    var body = modalBody();
    if (body && event.detail.target === body) {
      var note = document.createElement("p");
      note.className = "alert";
      note.setAttribute("role", "alert");
      note.textContent = "The server could not be reached. Check your connection and try again.";
      body.prepend(note);
      if (!modal().open) modal().showModal();
    } else {
      announce("The server could not be reached; retrying.");
    }
  });

  // Invite user: choosing the Radiologist role with a valid NPI (as the check under the NPI field
  // says, .npi-ok) ticks "Can create reports"; a box ticked this way is unticked again when that
  // no longer holds. Once the person has set the box themselves, it is theirs.
  function suggestReports(form) {
    if (!form || !form.querySelector("[data-suggest-reports]")) return;
    var role = form.querySelector("#clinicRole");
    var box = form.querySelector("#canCreateReports");
    if (!role || !box || box.hasAttribute("data-touched")) return;
    var suggest = role.value === "Radiologist" && !!form.querySelector("#npi-feedback .npi-ok");
    if (suggest && !box.checked) {
      box.checked = true;
      box.setAttribute("data-suggested", "");
      announce("Can create reports is ticked: a radiologist with a valid NPI.");
    } else if (!suggest && box.hasAttribute("data-suggested")) {
      box.checked = false;
      box.removeAttribute("data-suggested");
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "canCreateReports") {
      target.setAttribute("data-touched", "");
    } else if (target.id === "clinicRole") {
      suggestReports(target.form);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "npi-feedback") suggestReports(event.target.closest("form"));
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-modal]");
    if (closer) {
      event.preventDefault();
      var dialog = modal();
      if (dialog && dialog.open) dialog.close();
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      copyFrom(copy);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var dialog = modal();
    if (!dialog) return;
    dialog.addEventListener("close", function () { modalBody().innerHTML = ""; });
    // A click on the backdrop (outside the dialog's box) closes it, like Escape.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();
    });
  });

  function copyFrom(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = "value" in source ? source.value : source.textContent;
    var label = button.getAttribute("data-copied-label") || "Copied";
    function done() {
      var original = button.textContent;
      button.textContent = label;
      announce(label);
      window.setTimeout(function () { button.textContent = original; }, 2000);
    }
    function fallback() {
      if (source.select) { source.focus(); source.select(); }
      try { document.execCommand("copy"); done(); } catch (e) { announce("Select the text and copy it"); }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }
})();
