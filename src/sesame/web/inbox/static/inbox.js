// Sesame inbox: live updates (Server-Sent Events) and keyboard shortcuts.
// No build step, no dependencies. Pages work without it, only not live.
"use strict";

(function () {
  // Live regions: elements with data-live="on" and data-fragment="<url>" are
  // fetched again whenever the server says something changed.
  const regions = Array.from(document.querySelectorAll('[data-live="on"][data-fragment]'));

  async function refresh(region) {
    const response = await fetch(region.dataset.fragment, { credentials: "same-origin" });
    // Sent to the login page (the session ran out): show that page itself.
    if (response.redirected) { window.location.reload(); return; }
    if (!response.ok) return;
    const html = await response.text();
    if (html !== region.dataset.shown) {
      const focused = document.activeElement && region.contains(document.activeElement)
        ? document.activeElement.getAttribute("href") : null;
      region.innerHTML = html;
      region.dataset.shown = html;
      if (focused) {
        const again = region.querySelector('a[href="' + CSS.escape(focused) + '"]');
        if (again) again.focus();
      }
    }
  }

  if (regions.length && window.EventSource) {
    const source = new EventSource(document.body.dataset.liveUrl);
    let opened = false;
    source.addEventListener("change", function () { regions.forEach(refresh); });
    source.addEventListener("open", function () {
      // After a reconnect something may have happened meanwhile.
      if (opened) regions.forEach(refresh);
      opened = true;
      document.documentElement.dataset.live = "connected";
    });
  }

  // Forms that ask before they act (delete, clear).
  document.addEventListener("submit", function (event) {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Keyboard: "/" searches, j/k move between messages, Enter opens (links do that).
  document.addEventListener("keydown", function (event) {
    const tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") {
      const search = document.getElementById("q");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (event.key !== "j" && event.key !== "k") return;
    const links = Array.from(document.querySelectorAll("table.messages td.subject a"));
    if (!links.length) return;
    const at = links.indexOf(document.activeElement);
    const next = event.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
    links[at === -1 ? 0 : next].focus();
    event.preventDefault();
  });
})();
