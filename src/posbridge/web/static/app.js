// posbridge dashboard: plain JavaScript over the /v1 API; no external assets.
// Amounts stay decimal strings: sums run on BigInt millionths, formatting takes the string.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("posbridge-key"), after: null };
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

async function api(path, params = {}, init = {}) {
  const url = new URL("/v1" + path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v) url.searchParams.set(k, v);
  const headers = { Authorization: "Bearer " + state.key, ...(init.headers || {}) };
  const response = await fetch(url, { ...init, headers });
  const body = await response.json();
  if (!response.ok) throw new Error(body.title || response.statusText);
  return body;
}

// "12.30" → 12300000n (millionths); and back to a decimal string with 2+ decimals.
function micros(text) {
  const [whole, frac = ""] = String(text).split(".");
  const sign = whole.startsWith("-") ? -1n : 1n;
  return sign * (BigInt(whole.replace("-", "") || "0") * 1000000n + BigInt((frac + "000000").slice(0, 6)));
}
function decimal(m) {
  const sign = m < 0n ? "-" : "", abs = m < 0n ? -m : m;
  const frac = String(abs % 1000000n).padStart(6, "0").replace(/0{1,4}$/, "");
  return `${sign}${abs / 1000000n}.${frac.padEnd(2, "0")}`;
}
function money(amount, currency) {
  return new Intl.NumberFormat($("locale").value, { style: "currency", currency: currency || "EUR" })
    .format(String(amount));
}
function when(iso) { return new Date(iso).toLocaleString($("locale").value); }
function day(iso) { return new Date(iso + "T12:00:00").toLocaleDateString($("locale").value); }

function table(el, head, rows) {
  el.innerHTML = "";
  const tr = el.insertRow();
  head.forEach(([label, cls]) => { const th = document.createElement("th"); th.textContent = label; if (cls) th.className = cls; tr.append(th); });
  return rows.map((cells) => {
    const row = el.insertRow();
    cells.forEach(([content, cls]) => {
      const td = row.insertCell();
      if (content instanceof Node) td.append(content); else td.textContent = content ?? "—";
      if (cls) td.className = cls;
    });
    return row;
  });
}

function range() { return { from: $("from").value, to: $("to").value }; }

async function loadRevenue() {
  const days = (await api("/reports/revenue", { group_by: "day", ...range() })).data;
  const totals = {};
  days.forEach((d) => {
    const t = (totals[d.currency] ||= { gross: 0n, net: 0n, vat: 0n, orders: 0 });
    t.gross += micros(d.gross); t.net += micros(d.net); t.vat += micros(d.vat); t.orders += d.orders;
  });
  $("totals").innerHTML = "";
  for (const [currency, t] of Object.entries(totals)) {
    const div = document.createElement("div");
    div.dataset.currency = currency;
    div.dataset.gross = decimal(t.gross);
    div.innerHTML = `<b>${money(decimal(t.gross), currency)}</b>${t.orders} orders · net ${money(decimal(t.net), currency)} · VAT ${money(decimal(t.vat), currency)}`;
    $("totals").append(div);
  }
  const svg = $("chart"), w = svg.clientWidth || 800, h = 170;
  const max = Math.max(1, ...days.map((d) => Number(d.gross)));
  const bw = days.length ? w / days.length : w;
  svg.innerHTML = days.map((d, i) => {
    const bh = (Number(d.gross) / max) * (h - 10);  // pixels only: amounts stay strings
    return `<rect x="${i * bw + 1}" y="${h - bh}" width="${Math.max(1, bw - 2)}" height="${bh}"><title>${d.key} ${money(d.gross, d.currency)}</title></rect>`;
  }).join("");
  for (const group of ["payment_method", "vat_rate", "location", "device", "product"]) {
    const rows = (await api("/reports/revenue", { group_by: group, ...range() })).data.slice(0, 10);
    table($("by-" + group), [["", ""], ["orders", "num"], ["gross", "num"]],
      rows.map((r) => [[group === "vat_rate" ? r.key + " %" : (r.label ?? r.key ?? "—"), ""], [String(r.orders), "num"], [money(r.gross, r.currency), "num"]]));
  }
}

async function loadHeatMap() {
  const cells = (await api("/reports/heatmap", range())).data;
  const grid = DAYS.map(() => Array(24).fill(0));
  cells.forEach((c) => { grid[c.weekday][c.hour] += c.orders; });
  const max = Math.max(1, ...grid.flat());
  const head = [["", ""], ...Array.from({ length: 24 }, (_, h) => [String(h), "num"])];
  table($("heatmap"), head, grid.map((hours, d) => [[DAYS[d], ""], ...hours.map((n) => [n ? String(n) : "", "num"])]))
    .forEach((row, d) => Array.from(row.cells).slice(1).forEach((td, h) => {
      td.style.background = `rgba(61, 110, 232, ${(grid[d][h] / max).toFixed(2)})`;
      td.title = `${DAYS[d]} ${h}:00 — ${grid[d][h]} orders`;
    }));
}

async function loadReconciliation() {
  const body = await api("/reconciliation", range());
  $("verified-summary").textContent = `${body.days_verified} verified · ${body.days_unverified} unverified`;
  const bad = body.data.filter((d) => !d.verified);
  table($("reconciliation"), [["connection", ""], ["day", ""], ["orders", "num"], ["gross", "num"], ["why unverified", ""]],
    bad.slice(0, 50).map((d) => [[d.connection], [day(d.business_date)], [String(d.orders), "num"], [d.gross, "num"], [d.reason]]));
}

function gauge(quota) {
  if (quota.limit == null) return "unlimited";
  const meter = document.createElement("meter");
  meter.max = quota.limit; meter.value = quota.used; meter.high = quota.limit * 0.8;
  const span = document.createElement("span");
  span.append(meter, ` ${quota.used} / ${quota.limit}`);
  return span;
}

async function loadConnections() {
  const rows = (await api("/connections")).data;
  table($("connections"), [["name", ""], ["vendor", ""], ["status", ""], ["fresh as of", ""], ["quota today", ""], ["last error", ""], ["quarantined", "num"], ["", ""]],
    rows.map((c) => {
      const h = c.health || {};
      const replay = document.createElement("button");
      replay.textContent = "Replay"; replay.type = "button"; replay.dataset.connection = c.id;
      replay.disabled = !h.quarantined;
      replay.onclick = async () => {
        replay.disabled = true;
        const result = await api(`/connections/${c.id}/quarantine/replay`, {}, { method: "POST" });
        await loadConnections();
        $("replay-status").textContent = `${c.name}: replayed — ${result.fixed} fixed, ${result.still_failing.length} still failing`;
      };
      return [[c.name], [c.vendor], [c.status + (c.status_reason ? ": " + c.status_reason : ""), c.status === "ok" ? "status-ok" : "status-bad"],
        [h.fresh_as_of ? when(h.fresh_as_of) : "never"], [h.quota ? gauge(h.quota) : "—"],
        [(h.last_run && h.last_run.error) || Object.values(h.stream_errors || {})[0] || "", "error-cell"],
        [String(h.quarantined ?? 0), "num"], [replay]];
    }));
}

function showOrder(full) {
  $("order-detail").hidden = false;
  $("order-title").textContent = `Order ${full.number ?? full.source_id} · ${when(full.occurred_at)} · ${money(full.total_gross, full.currency)}`;
  table($("order-lines"), [["item", ""], ["qty", "num"], ["VAT %", "num"], ["gross", "num"]],
    (full.lines || []).map((l) => [[l.name ?? l.product_source_id], [l.quantity, "num"], [l.tax_rate, "num"], [money(l.gross, full.currency), "num"]]));
  table($("order-payments"), [["method", ""], ["amount", "num"]],
    (full.payments || []).map((p) => [[p.vendor_method], [money(p.amount, p.currency), "num"]]));
  table($("order-taxes"), [["rate", "num"], ["net", "num"], ["VAT", "num"]],
    (full.taxes || []).map((t) => [[t.rate + " %", "num"], [money(t.net, full.currency), "num"], [money(t.tax, full.currency), "num"]]));
  $("order-raw").textContent = JSON.stringify({ raw: full.raw }, null, 2);
}

async function loadOrders(reset) {
  if (reset) { state.after = null; table($("orders"), [["number", ""], ["time", ""], ["total", "num"], ["payments", ""]], []); }
  const page = await api("/orders", { limit: 25, starting_after: state.after, number: $("number").value.trim() });
  for (const o of page.data) {
    const [row] = [$("orders").insertRow()];
    [[o.number ?? o.source_id], [when(o.occurred_at)], [money(o.total_gross, o.currency), "num"], [(o.payments || []).map((p) => p.vendor_method).join(", ")]]
      .forEach(([t, cls]) => { const td = row.insertCell(); td.textContent = t; if (cls) td.className = cls; });
    row.onclick = async () => showOrder(await api(`/orders/${o.id}`, { include: "raw" }));
  }
  state.after = page.next_starting_after;
  $("more").hidden = !page.has_more;
}

async function refresh() {
  try {
    $("error").textContent = "";
    delete document.body.dataset.ready;
    await Promise.all([loadRevenue(), loadHeatMap(), loadReconciliation(), loadConnections(), loadOrders(true)]);
    document.body.dataset.ready = "1";
  } catch (e) {
    $("error").textContent = e.message;
    if (/key/i.test(e.message)) signOut();
  }
}

async function signedIn() {
  $("login").hidden = true; $("controls").hidden = false; $("app").hidden = false;
  try {
    const account = await api("/account");
    $("account").textContent = account.name;
    $("locale").value = account.locale;
  } catch (e) {
    $("error").textContent = e.message;
    if (/key/i.test(e.message)) { signOut(); return; }
  }
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
$("from").onchange = $("to").onchange = refresh;
$("locale").onchange = async () => {
  await api("/account", {}, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ locale: $("locale").value }) });
  refresh();
};
$("search").onsubmit = (e) => { e.preventDefault(); loadOrders(true); };
$("more").onclick = () => loadOrders(false);
if (state.key) signedIn();
