(function () {
  "use strict";
  var table = document.getElementById("actions-table");
  var controls = document.getElementById("controls");
  if (!table || !controls || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var texts = null; // each row's text, lower case, made on the first filter
  var query = document.createElement("input");
  query.type = "search";
  query.placeholder = "Filter: any text";
  query.setAttribute("aria-label", "Filter the actions by any text");
  var result = document.createElement("select");
  result.setAttribute("aria-label", "Show the actions with this result");
  var seen = {}, values = [];
  rows.forEach(function (tr) {
    var v = tr.getAttribute("data-result") || "";
    if (!seen[v]) { seen[v] = true; values.push(v); }
  });
  values.sort();
  [""].concat(values).forEach(function (v) {
    var o = document.createElement("option");
    o.value = v;
    o.textContent = v === "" ? "every result" : v;
    result.appendChild(o);
  });
  var count = document.createElement("span");
  count.setAttribute("aria-live", "polite");
  function filter() {
    var q = query.value.toLowerCase(), r = result.value, shown = 0;
    if (q && !texts) { texts = rows.map(function (tr) { return tr.textContent.toLowerCase(); }); }
    rows.forEach(function (tr, i) {
      var ok = (!r || tr.getAttribute("data-result") === r) && (!q || texts[i].indexOf(q) >= 0);
      tr.hidden = !ok;
      if (ok) { shown++; }
    });
    count.textContent = shown + " of " + rows.length + " actions shown";
  }
  query.addEventListener("input", filter);
  result.addEventListener("change", filter);
  controls.appendChild(query);
  controls.appendChild(result);
  controls.appendChild(count);
  filter();

  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      var numeric = th.getAttribute("data-numeric") === "1";
      var keyed = rows.map(function (tr, i) {
        var t = tr.cells[col] ? tr.cells[col].textContent : "";
        return { tr: tr, i: i, k: numeric ? (t === "" ? -Infinity : Number(t)) : t };
      });
      keyed.sort(function (a, b) {
        var c = numeric ? a.k - b.k : a.k.localeCompare(b.k);
        return (asc ? c : -c) || a.i - b.i;
      });
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      rows = keyed.map(function (x) { return x.tr; });
      texts = null;
      var frag = document.createDocumentFragment();
      rows.forEach(function (tr) { frag.appendChild(tr); });
      body.appendChild(frag);
    });
  });
})();
