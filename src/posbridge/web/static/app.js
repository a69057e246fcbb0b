// posbridge dashboard: plain JavaScript over the /v1 API; no external assets.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("posbridge-key"), after: null };

async function api(path, params = {}) {
  const url = new URL("/v1" + path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v) url.searchParams.set(k, v);
  const response = await fetch(url, { headers: { Authorization: "Bearer " + state.key } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.title || response.statusText);
  return body;
}

function money(amount, currency) {
  const locale = $("locale").value;
  return new Intl.NumberFormat(locale, { style: "currency", currency: currency || "EUR" })
    .format(Number(amount));
}

function table(el, head, rows) {
  el.innerHTML = "";
  const tr = el.insertRow();
  head.forEach(([label, cls]) => { const th = document.createElement("th"); th.textContent = label; if (cls) th.className = cls; tr.append(th); });
  rows.forEach((cells) => {
    const row = el.insertRow();
    cells.forEach(([text, cls]) => { const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; });
  });
}

function range() { return { from: $("from").value, to: $("to").value }; }

async function loadRevenue() {
  const days = (await api("/reports/revenue", { group_by: "day", ...range() })).data;
  const totals = {};
  days.forEach((d) => {
    const t = (totals[d.currency] ||= { gross: 0, net: 0, vat: 0, orders: 0 });
    t.gross += Number(d.gross); t.net += Number(d.net); t.vat += Number(d.vat); t.orders += d.orders;
  });
  $("totals").innerHTML = "";
  for (const [currency, t] of Object.entries(totals)) {
    const div = document.createElement("div");
    div.dataset.currency = currency;
    div.dataset.gross = t.gross.toFixed(2);
    div.innerHTML = `<b>${money(t.gross, currency)}</b>${t.orders} orders · net ${money(t.net, currency)} · VAT ${money(t.vat, currency)}`;
    $("totals").append(div);
  }
  const svg = $("chart"), w = svg.clientWidth || 800, h = 170;
  const max = Math.max(1, ...days.map((d) => Number(d.gross)));
  const bw = days.length ? w / days.length : w;
  svg.innerHTML = days.map((d, i) => {
    const bh = (Number(d.gross) / max) * (h - 10);
    return `<rect x="${i * bw + 1}" y="${h - bh}" width="${Math.max(1, bw - 2)}" height="${bh}"><title>${d.key} ${money(d.gross, d.currency)}</title></rect>`;
  }).join("");
  for (const group of ["payment_method", "vat_rate", "location", "product"]) {
    const rows = (await api("/reports/revenue", { group_by: group, ...range() })).data.slice(0, 10);
    table($("by-" + group), [["", ""], ["orders", "num"], ["gross", "num"]],
      rows.map((r) => [[group === "vat_rate" ? r.key + " %" : (r.label ?? r.key ?? "—"), ""], [String(r.orders), "num"], [money(r.gross, r.currency), "num"]]));
  }
}

async function loadConnections() {
  const rows = (await api("/connections")).data;
  table($("connections"), [["name", ""], ["vendor", ""], ["status", ""], ["quarantined", "num"]], []);
  for (const c of rows) {
    const q = (await api(`/connections/${c.id}/quarantine`)).data.length;
    const row = $("connections").insertRow();
    [[c.name], [c.vendor], [c.status + (c.status_reason ? ": " + c.status_reason : ""), c.status === "ok" ? "status-ok" : "status-bad"], [String(q), "num"]]
      .forEach(([t, cls]) => { const td = row.insertCell(); td.textContent = t; if (cls) td.className = cls; });
  }
}

async function loadOrders(reset) {
  if (reset) { state.after = null; table($("orders"), [["number", ""], ["time", ""], ["total", "num"], ["payments", ""]], []); }
  const page = await api("/orders", { limit: 25, starting_after: state.after });
  for (const o of page.data) {
    const row = $("orders").insertRow();
    [[o.number ?? o.source_id], [new Date(o.occurred_at).toLocaleString($("locale").value)], [money(o.total_gross, o.currency), "num"], [(o.payments || []).map((p) => p.vendor_method).join(", ")]]
      .forEach(([t, cls]) => { const td = row.insertCell(); td.textContent = t; if (cls) td.className = cls; });
    row.onclick = async () => {
      const full = await api(`/orders/${o.id}`, { include: "raw" });
      $("order-detail").hidden = false;
      $("order-detail").textContent = JSON.stringify(full, null, 2);
    };
  }
  state.after = page.next_starting_after;
  $("more").hidden = !page.has_more;
}

async function refresh() {
  try {
    $("error").textContent = "";
    await Promise.all([loadRevenue(), loadConnections(), loadOrders(true)]);
    document.body.dataset.ready = "1";
  } catch (e) {
    $("error").textContent = e.message;
    if (/key/i.test(e.message)) signOut();
  }
}

function signedIn() {
  $("login").hidden = true; $("controls").hidden = false; $("app").hidden = false;
  refresh();
}

function signOut() {
  sessionStorage.removeItem("posbridge-key"); state.key = null;
  $("login").hidden = false; $("controls").hidden = true; $("app").hidden = true;
}

$("login").onsubmit = (e) => {
  e.preventDefault();
  state.key = $("key").value.trim();
  sessionStorage.setItem("posbridge-key", state.key);
  signedIn();
};
$("signout").onclick = signOut;
$("from").onchange = $("to").onchange = $("locale").onchange = refresh;
$("more").onclick = () => loadOrders(false);
$("locale").value = ["nl-BE", "nl-NL", "it-IT", "bg-BG", "sq-AL", "es-EC"].includes(navigator.language) ? navigator.language : "en";
if (state.key) signedIn();
