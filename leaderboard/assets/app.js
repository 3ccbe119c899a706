/* medzoo leaderboard: sortable, filterable tables. Small, dependency-free, works from file://.
   Sorting: click a column header; each <tbody> is sorted on its own, so oracle (upper-bound) rows never
   mix with honest ones. Filtering: the algorithm menu and the text box hide the rows that do not match. */
(function () {
  "use strict";

  function key(row, index) {
    var cell = row.children[index];
    if (!cell) { return null; }
    var v = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    return v;
  }

  function compare(kind, a, b) {
    if (kind === "num") {
      var x = a === "" || a === null ? NaN : parseFloat(a);
      var y = b === "" || b === null ? NaN : parseFloat(b);
      if (isNaN(x) && isNaN(y)) { return 0; }
      if (isNaN(x)) { return 1; }   /* missing values last, whichever the direction */
      if (isNaN(y)) { return -1; }
      return x - y;
    }
    return String(a).localeCompare(String(b));
  }

  function sortBy(th) {
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var kind = th.getAttribute("data-sort");
    var descending = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    Array.prototype.forEach.call(table.tBodies, function (body) {
      var rows = Array.prototype.filter.call(body.rows, function (r) { return !r.classList.contains("divider"); });
      var dividers = Array.prototype.filter.call(body.rows, function (r) { return r.classList.contains("divider"); });
      rows.sort(function (r1, r2) {
        var a = key(r1, index), b = key(r2, index);
        var missing1 = a === "" || a === null, missing2 = b === "" || b === null;
        if (kind === "num" && (missing1 || missing2)) { return compare(kind, a, b); }
        var c = compare(kind, a, b);
        return descending ? -c : c;
      });
      dividers.concat(rows).forEach(function (r) { body.appendChild(r); });
    });
  }

  function applyFilters() {
    var select = document.getElementById("f-algorithm");
    var text = document.getElementById("f-text");
    var algorithm = select ? select.value : "";
    var needle = text ? text.value.trim().toLowerCase() : "";
    var shown = 0, total = 0;
    document.querySelectorAll("table.lb tbody tr").forEach(function (row) {
      if (row.classList.contains("divider")) { return; }
      total += 1;
      var ok = (!algorithm || row.getAttribute("data-algorithm") === algorithm) &&
               (!needle || row.textContent.toLowerCase().indexOf(needle) !== -1);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var count = document.getElementById("f-count");
    if (count) { count.textContent = (algorithm || needle) ? shown + " of " + total + " rows" : ""; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("th[data-sort] button").forEach(function (button) {
      button.addEventListener("click", function () { sortBy(button.parentNode); });
    });
    ["f-algorithm", "f-text"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.addEventListener("input", applyFilters); el.addEventListener("change", applyFilters); }
    });
  });
}());
