// Machines pages. Loaded with `defer`; no inline script (the CSP forbids it).
(function () {
  "use strict";

  // A form the person has started to fill in (compared with what the server rendered).
  function isDirty(form) {
    for (const el of form.elements) {
      if (el.type === "hidden" || el.type === "submit" || el.type === "button") continue;
      if (el instanceof HTMLSelectElement) {
        const marked = Array.from(el.options).findIndex((o) => o.defaultSelected);
        if (el.selectedIndex !== (marked === -1 ? 0 : marked)) return true;
      } else if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked !== el.defaultChecked) return true;
      } else if ("defaultValue" in el && el.value !== el.defaultValue) {
        return true;
      }
    }
    return false;
  }

  // A live region (polled, or refreshed on machineChanged) is not replaced while someone is
  // changing a status inside it: an unfolded status form, focus in a form, or typed input.
  // The next poll after they are done refreshes it.
  function busy(region) {
    if (region.querySelector("details[open]")) return true;
    const active = document.activeElement;
    if (active && region.contains(active) && active.closest("form")) return true;
    return Array.from(region.querySelectorAll("form")).some(
      (form) => !form.closest("details:not([open])") && isDirty(form)
    );
  }

  function isLiveRefresh(detail) {
    return detail.elt.matches("[data-live-region]") && detail.requestConfig.verb === "get";
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (isLiveRefresh(event.detail) && busy(event.detail.elt)) event.preventDefault();
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const detail = event.detail;
    // Someone started a change while the refresh was on its way: keep their form.
    if (isLiveRefresh(detail) && busy(detail.elt)) detail.shouldSwap = false;
  });
})();
