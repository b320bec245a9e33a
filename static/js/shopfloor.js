// Shop floor: a machine page polls its live region every 5 s (the server answers 204 when
// nothing changed). This only adds a courtesy on top: while an operator is typing a quantity
// or has the pause reasons open, skip the poll so a change elsewhere cannot wipe the input.
// A form left alone for a minute stops holding the page back.
(function () {
  "use strict";
  const HOLD_MS = 60 * 1000;
  let lastTouched = 0;

  function touched() {
    lastTouched = Date.now();
  }
  document.addEventListener("input", touched);
  document.addEventListener("focusin", touched);
  document.addEventListener("toggle", touched, true); // <details> opened or closed

  function changed(field) {
    if (field.type === "radio" || field.type === "checkbox") {
      return field.checked !== field.defaultChecked;
    }
    return "defaultValue" in field && field.value !== field.defaultValue;
  }

  function editing(region) {
    if (Date.now() - lastTouched > HOLD_MS) {
      return false;
    }
    const active = document.activeElement;
    return (
      (active && region.contains(active) && active.matches("input, select, textarea")) ||
      region.querySelector("details[open]") !== null ||
      Array.from(region.querySelectorAll("input, select, textarea")).some(changed)
    );
  }

  document.addEventListener("htmx:confirm", function (event) {
    const elt = event.detail.elt;
    if (event.detail.verb === "get" && elt.hasAttribute("data-poll") && editing(elt)) {
      event.preventDefault();
    }
  });
})();
