// Any button with a data-print attribute prints the page (no inline script: CSP-friendly).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
