// The page's own script: the leaderboard table (sort, filter, seeds on hover) and drawing the charts.
// Everything it needs is in the page: the data in #report-data, the charts' library (vegaEmbed) above.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const table = data.table;
  // rows drawn at once; a larger selection says how many are hidden (filter to see them)
  const MAX_ROWS = 500;
  const state = { sortColumn: null, descending: true, entry: "", method: "", dataset: "", metric: "", space: "" };

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fillSelect(id, values, allLabel) {
    const select = document.getElementById(id);
    select.appendChild(element("option", { value: "" }, allLabel));
    for (const value of values) select.appendChild(element("option", { value: value }, value));
    if (values.length < 2) select.parentElement.hidden = true;
  }

  const unique = (values) => Array.from(new Set(values)).sort();
  const spacesOf = (row) => unique(row.cells.flatMap((cell) => (cell ? cell.spaces : [])));
  fillSelect("filter-method", unique(table.rows.map((r) => r.method)), "all");
  fillSelect("filter-dataset", unique(table.columns.map((c) => c.dataset)), "all");
  fillSelect("filter-space", unique(table.rows.flatMap(spacesOf)), "all");

  function visibleColumns() {
    const metric = state.metric.toLowerCase();
    return table.columns
      .map((column, index) => ({ column, index }))
      .filter(({ column }) => (!state.dataset || column.dataset === state.dataset) && (!metric || column.metric.toLowerCase().includes(metric)));
  }

  function visibleRows() {
    const entry = state.entry.toLowerCase();
    return table.rows.filter(
      (row) =>
        (!entry || row.entry.toLowerCase().includes(entry)) &&
        (!state.method || row.method === state.method) &&
        (!state.space || spacesOf(row).includes(state.space))
    );
  }

  function sortedRows(rows) {
    if (state.sortColumn === null) return rows;
    const sign = state.descending ? -1 : 1;
    const key = (row) => {
      if (state.sortColumn === "entry") return row.entry;
      const cell = row.cells[state.sortColumn];
      return cell && cell.mean !== null ? cell.mean : null;
    };
    // reference rows stay below the contenders; a missing value sorts last either way
    return rows.slice().sort((a, b) => {
      if (a.reference !== b.reference) return a.reference ? 1 : -1;
      const x = key(a), y = key(b);
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      return x < y ? -sign : x > y ? sign : 0;
    });
  }

  function seedsText(row, column, cell) {
    const lines = [`${row.entry}, ${column.header}`, `mean ${cell.text}; space ${cell.spaces.join(", ")}`];
    for (const [seed, value, run] of cell.seeds) lines.push(`seed ${seed}: ${value}  (${run})`);
    return lines.join("\n");
  }

  function header(columns) {
    const head = document.querySelector("#leaderboard-table thead");
    const tr = element("tr");
    const all = [{ key: "entry", label: "entry" }].concat(columns.map(({ column, index }) => ({ key: index, label: column.header })));
    for (const { key, label } of all) {
      const th = element("th", { "data-key": String(key), tabindex: "0", title: "click to sort" }, label);
      if (state.sortColumn === key) th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
      const sortBy = () => {
        if (state.sortColumn === key) state.descending = !state.descending;
        else {
          state.sortColumn = key;
          // first click: best first
          state.descending = key === "entry" ? false : table.columns[key].higher;
        }
        draw();
      };
      th.addEventListener("click", sortBy);
      th.addEventListener("keydown", (event) => { if (event.key === "Enter") sortBy(); });
      tr.appendChild(th);
    }
    head.replaceChildren(tr);
  }

  function body(rows, columns) {
    const tbody = document.querySelector("#leaderboard-table tbody");
    const fragment = document.createDocumentFragment();
    for (const row of rows.slice(0, MAX_ROWS)) {
      const tr = element("tr", row.reference ? { class: "reference" } : {});
      tr.appendChild(element("th", { scope: "row" }, row.reference ? `${row.entry} (reference)` : row.entry));
      for (const { column, index } of columns) {
        const cell = row.cells[index];
        if (!cell) {
          tr.appendChild(element("td", { class: "missing" }, "–"));
          continue;
        }
        const attributes = { title: seedsText(row, column, cell) };
        if (cell.best) attributes.class = "best";
        tr.appendChild(element("td", attributes, cell.text));
      }
      fragment.appendChild(tr);
    }
    tbody.replaceChildren(fragment);
  }

  function draw() {
    const columns = visibleColumns();
    const rows = sortedRows(visibleRows());
    header(columns);
    body(rows, columns);
    const cut = rows.length > MAX_ROWS ? ` (first ${MAX_ROWS} drawn: filter to see the others)` : "";
    document.getElementById("shown").textContent =
      `${rows.length} of ${table.rows.length} entries, ${columns.length} of ${table.columns.length} columns${cut}`;
    // the dataset and metric filters also hide the charts of other columns
    const metric = state.metric.toLowerCase();
    for (const panel of document.querySelectorAll("figure.panel")) {
      const dataset = panel.getAttribute("data-dataset");
      const panelMetric = panel.getAttribute("data-metric");
      panel.hidden = Boolean(
        (state.dataset && dataset !== state.dataset) || (metric && panelMetric && !panelMetric.toLowerCase().includes(metric))
      );
    }
  }

  for (const [id, key] of [["filter-entry", "entry"], ["filter-metric", "metric"], ["filter-method", "method"], ["filter-dataset", "dataset"], ["filter-space", "space"]]) {
    document.getElementById(id).addEventListener("input", (event) => { state[key] = event.target.value; draw(); });
  }
  draw();

  // charts: those in view first, the rest one after another in the background
  const pending = new Map();
  for (const node of document.querySelectorAll(".chart[data-chart]")) pending.set(node, Number(node.getAttribute("data-chart")));

  async function drawChart(node) {
    if (!pending.has(node)) return;
    const index = pending.get(node);
    pending.delete(node);
    try {
      await vegaEmbed(node, data.charts[index].spec, { renderer: "svg", actions: false });
      node.setAttribute("data-drawn", "true");
    } catch (error) {
      node.textContent = `chart not drawn: ${error}`;
      console.error(error);
    }
  }

  const observer = new IntersectionObserver((seen) => {
    for (const item of seen) if (item.isIntersecting) drawChart(item.target);
  }, { rootMargin: "300px" });
  for (const node of pending.keys()) observer.observe(node);

  function drawRest() {
    const next = pending.keys().next();
    if (next.done) return;
    drawChart(next.value).then(() => setTimeout(drawRest, 0));
  }
  setTimeout(drawRest, 50);
})();
