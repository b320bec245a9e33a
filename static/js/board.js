/* Batches board: drag a card onto another column to move the batch.
   A progressive enhancement: every move is also a button on the card. The drop posts the same
   move as the button (POST production:batch-move with the target status) through htmx.ajax;
   the answer replaces the board and triggers `batchChanged`, or shows why the move was refused.
   Listeners sit on the document, so they keep working after htmx swaps the board. */
(function () {
  "use strict";

  var dragged = null;

  function closest(node, selector) {
    var element = node && node.nodeType === 1 ? node : node && node.parentElement;
    return element ? element.closest(selector) : null;
  }

  function enabled() {
    var board = document.getElementById("board");
    return Boolean(board && board.dataset.dnd === "on" && window.htmx);
  }

  function clearHighlights() {
    document.querySelectorAll("#board .drag-over").forEach(function (element) {
      element.classList.remove("drag-over");
    });
  }

  function dropColumn(event) {
    var column = closest(event.target, "#board .board-column");
    if (!dragged || !column || column.dataset.status === dragged.dataset.status) {
      return null;
    }
    return column;
  }

  document.addEventListener("dragstart", function (event) {
    var card = closest(event.target, "#board .board-card[data-move-url]");
    if (!card || !enabled()) {
      return;
    }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.lot);
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
    clearHighlights();
  });

  document.addEventListener("dragover", function (event) {
    var column = dropColumn(event);
    if (!column) {
      return;
    }
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("drag-over")) {
      clearHighlights();
      column.classList.add("drag-over");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var column = closest(event.target, "#board .board-column");
    if (column && !column.contains(event.relatedTarget)) {
      column.classList.remove("drag-over");
    }
  });

  document.addEventListener("drop", function (event) {
    var column = dropColumn(event);
    if (!column) {
      return;
    }
    event.preventDefault();
    var card = dragged;
    var status = column.dataset.status;
    clearHighlights();
    if (
      status === "cancelled" &&
      !window.confirm("Cancel batch " + card.dataset.lot + "? Its open operations are cancelled too.")
    ) {
      return;
    }
    // `source` makes htmx apply the board's hx-include (the filters) and the CSRF header.
    window.htmx.ajax("POST", card.dataset.moveUrl, {
      source: card,
      target: "#board",
      swap: "outerHTML",
      values: { status: status },
    });
  });
})();
