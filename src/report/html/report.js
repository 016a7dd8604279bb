"use strict";
(function () {
  // Data are text: every value goes into the page through textContent, never as markup.
  var data = JSON.parse(document.getElementById("tg-data").textContent);
  var rows = data.findings;
  var LIMIT = 2000;
  var $ = function (id) { return document.getElementById(id); };
  var text = function (tag, value, cls) {
    var e = document.createElement(tag);
    e.textContent = value == null ? "" : String(value);
    if (cls) e.className = cls;
    return e;
  };
  var place = function (f) {
    return f.offset != null ? f.file + " (byte " + f.offset + ")" : f.file + ":" + f.line + ":" + f.column;
  };
  var columns = [
    { name: "Rule", key: function (f) { return f.rule; }, cls: "nowrap" },
    { name: "File", key: place },
    { name: "Token", key: function (f) { return f.masked; }, code: true, cls: "nowrap" }
  ];
  if (data.has_severity) columns.push({ name: "Severity", key: function (f) { return f.severity || ""; } });
  if (data.has_status) columns.push({ name: "Status", key: function (f) { return f.status || ""; } });
  if (data.has_commits) {
    columns.push(
      { name: "Commit", key: function (f) { return (f.commit || "").slice(0, 10); }, code: true,
        cls: "nowrap" },
      { name: "Date", key: function (f) { return (f.date || "").slice(0, 16).replace("T", " "); },
        cls: "nowrap" },
      { name: "Author", key: function (f) { return (f.author || "").replace(/ <[^<]*>$/, ""); } },
      { name: "Message", key: function (f) { return f.subject || ""; } }
    );
  }
  columns.push({ name: "Allowed by", key: function (f) { return f.allowed_by || ""; }, allowedOnly: true });

  var head = document.querySelector("#findings thead tr");
  var sortBy = null, sortDir = 1;
  columns.forEach(function (c, i) {
    var th = text("th", c.name);
    th.dataset.col = String(i);
    th.addEventListener("click", function () {
      sortDir = sortBy === i ? -sortDir : 1;
      sortBy = i;
      head.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      render();
    });
    head.appendChild(th);
  });

  var selects = {
    provider: $("f-provider"), rule: $("f-rule"), severity: $("f-severity"), status: $("f-status")
  };
  Object.keys(selects).forEach(function (key) {
    var seen = {};
    rows.forEach(function (f) { if (f[key] != null) seen[f[key]] = (seen[f[key]] || 0) + 1; });
    var values = Object.keys(seen).sort();
    if (values.length === 0) return;
    selects[key].hidden = false;
    values.forEach(function (v) {
      var o = text("option", v + " (" + seen[v] + ")");
      o.value = v;
      selects[key].appendChild(o);
    });
    selects[key].addEventListener("change", render);
  });
  $("f-state").addEventListener("change", render);
  $("q").addEventListener("input", render);

  var haystack = function (f) {
    return [f.file, f.rule, f.provider, f.masked, f.token_id, f.fingerprint, f.commit, f.author,
            f.date, f.subject, f.severity, f.status, f.allowed_by].join("\n").toLowerCase();
  };
  rows.forEach(function (f) { f._text = haystack(f); });

  function matches(f, q, state) {
    if (state === "blocking" && f.allowed_by) return false;
    if (state === "allowed" && !f.allowed_by) return false;
    for (var key in selects) {
      var want = selects[key].value;
      if (want && f[key] !== want) return false;
    }
    return !q || q.every(function (w) { return f._text.indexOf(w) >= 0; });
  }

  function render() {
    var q = $("q").value.toLowerCase().split(/\s+/).filter(Boolean);
    var state = $("f-state").value;
    var list = rows.filter(function (f) { return matches(f, q, state); });
    if (sortBy !== null) {
      var key = columns[sortBy].key;
      list.sort(function (a, b) {
        var x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
      });
    }
    var showAllowed = state !== "blocking";
    head.querySelectorAll("th").forEach(function (th) {
      th.hidden = !!columns[Number(th.dataset.col)].allowedOnly && !showAllowed;
    });
    var body = document.createElement("tbody");
    list.slice(0, LIMIT).forEach(function (f) {
      var tr = document.createElement("tr");
      if (f.allowed_by) tr.className = "allowed";
      columns.forEach(function (c) {
        if (c.allowedOnly && !showAllowed) return;
        var td = text("td", "", c.cls);
        if (c.code) td.appendChild(text("code", c.key(f)));
        else td.textContent = c.key(f);
        if (c.name === "Message" && f.commit) td.title = f.commit;
        if (c.name === "Date" && f.date) td.title = f.date;
        if (c.name === "Author" && f.author) td.title = f.author;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    $("findings").replaceChild(body, $("findings").tBodies[0]);
    $("shown").textContent = list.length + " of " + rows.length + " shown";
    var more = $("more");
    more.hidden = list.length <= LIMIT;
    more.textContent = "The first " + LIMIT + " are listed: search or filter to see the others.";
  }
  render();
})();
