// The supervision console: one page, six views, over the read-only /v1/console routes.
// Everything it loads comes from this host (ECharts and ethers from the project's npm copy).
"use strict";

const POLL_MS = 2000;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const BATCH_RECORD = /^0x[0-9a-fA-F]{64}:\d{1,9}$/;

const TEXT = {
  en: {
    title: "Yangtze River Delta credit chain · supervision console",
    "nav.overview": "Overview", "nav.risk": "Risk indicators", "nav.warnings": "Early warnings",
    "nav.enterprise": "Enterprise profile", "nav.explorer": "Explorer", "nav.audit": "Audit",
    logout: "Log out", open: "Open",
    "login.title": "Log in with your API key", "login.key": "API key", "login.submit": "Log in",
    "login.empty": "Type your API key.", "login.bad": "This API key was not accepted",
    "enterprise.subject": "Subject id",
    "explorer.ref": "Attestation, batch, batch record (batch:n), receivable or transaction",
    "audit.run": "Run the auditor",
    head: "Chain head", finality: "Finality", indexed: "Indexed to", pending: "Pending submissions",
    attestations: "Attestations", batch_records: "Batch records", receivables: "Receivables",
    queries: "Queries", open_disputes: "Open disputes", financings: "Financings",
    members_by_city: "Members by city", active: "active", suspended: "suspended",
    enterprises: "enterprises", throughput: "Events per hour (last 24 h)",
    latest_warnings: "Latest warnings", none: "None.",
    exposure: "Cross-region exposure: holder city → debtor city (CNY outstanding)",
    rates: "Overdue and default rates by debtor city", overdue_rate: "overdue rate",
    default_rate: "default rate", contagion: "Supply-chain contagion: overdue core enterprises and the tiers exposed",
    disputes: "Disputes near or past the 20-day deadline", query_patterns: "Query patterns per member",
    without_loan: "without a following loan", odd_volume: "odd volume",
    industry_missing: "Rates by industry and growth stage: the chain holds no industry or stage of an enterprise yet.",
    rule: "Rule", severity: "Severity", entities: "Entities", transactions: "Transactions", when: "When",
    records: "Credit records", validity: "Validity", queried_by: "Who queried it",
    authorisations: "Authorisations", held_owed: "Receivables (held and owed)",
    subject_bad: "A subject id is 0x followed by 64 hexadecimal digits.",
    ref_bad: "Type a 0x-prefixed 32-byte id, or <batch id>:<record number>.",
    proof_ok: "Proof verified in this page: the leaf and the proof give the root the chain holds.",
    proof_bad: "The proof does NOT give the root the chain holds.",
    lineage: "Lineage", history: "History", kind: "Kind", updated: "Updated",
    audit_ok: "No breach: every rule holds and the chain agrees with the replay.",
    breaches: "Breaches", only_overseers: "Shown to a regulator or an auditor only.",
    scores: "Credit scores", pledges: "Pledges and facilities",
  },
  zh: {
    title: "长三角征信链 · 监管控制台",
    "nav.overview": "总览", "nav.risk": "风险指标", "nav.warnings": "风险预警",
    "nav.enterprise": "企业画像", "nav.explorer": "链上浏览", "nav.audit": "审计",
    logout: "退出", open: "打开",
    "login.title": "使用 API 密钥登录", "login.key": "API 密钥", "login.submit": "登录",
    "login.empty": "请输入 API 密钥。", "login.bad": "API 密钥未被接受",
    "enterprise.subject": "企业主体标识",
    "explorer.ref": "存证、批次、批次记录（批次:序号）、应收账款或交易",
    "audit.run": "运行审计",
    head: "链高度", finality: "最终性", indexed: "已索引至", pending: "待处理提交",
    attestations: "存证", batch_records: "批次记录", receivables: "应收账款",
    queries: "查询", open_disputes: "未决异议", financings: "融资",
    members_by_city: "各城市成员机构", active: "正常", suspended: "暂停",
    enterprises: "企业", throughput: "每小时事件数（近24小时）",
    latest_warnings: "最新预警", none: "无。",
    exposure: "跨区域风险敞口：持有方城市 → 债务方城市（未结金额，元）",
    rates: "各债务方城市逾期率与违约率", overdue_rate: "逾期率", default_rate: "违约率",
    contagion: "供应链风险传染：逾期核心企业及其多级供应商敞口",
    disputes: "临近或超过20日时限的异议", query_patterns: "各机构查询行为",
    without_loan: "查询后未融资", odd_volume: "查询量异常",
    industry_missing: "按行业与成长阶段的比率：链上尚无企业的行业与阶段信息。",
    rule: "规则", severity: "级别", entities: "涉及主体", transactions: "交易", when: "时间",
    records: "信用记录", validity: "有效性", queried_by: "查询记录",
    authorisations: "授权", held_owed: "应收账款（持有与应付）",
    subject_bad: "企业主体标识为 0x 加 64 位十六进制数字。",
    ref_bad: "请输入 0x 开头的32字节标识，或 <批次标识>:<记录序号>。",
    proof_ok: "已在本页验证证明：叶子与证明路径得出链上所存的根。",
    proof_bad: "证明未能得出链上所存的根。",
    lineage: "拆分链路", history: "历史", kind: "类型", updated: "更新于",
    audit_ok: "无违规：所有规则成立，链上状态与重放一致。",
    breaches: "违规", only_overseers: "仅对监管机构与审计机构开放。",
    scores: "信用评分", pledges: "质押与授信",
  },
};

const state = { session: 0, key: sessionStorage.getItem("console.key"), lang: localStorage.getItem("console.lang") || "en", me: null, page: null, charts: [], timer: null };

function t(name) { return (TEXT[state.lang] || TEXT.en)[name] || TEXT.en[name] || name; }
function esc(v) { return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]); }
function short(id) { const s = String(id ?? ""); return s.length > 14 ? s.slice(0, 8) + "…" + s.slice(-4) : s; }
function when(ts) { return ts ? new Date(ts * 1000).toISOString().replace("T", " ").slice(0, 16) : ""; }
function yuan(fen) { return (fen / 100).toLocaleString("en", { maximumFractionDigits: 2 }); }
function pct(x) { return (100 * x).toFixed(1) + "%"; }
function explorerLink(id) { return `<a href="#explorer/${esc(id)}" class="ref">${esc(short(id))}</a>`; }

class ApiError extends Error {
  constructor(status, body) { super((body && body.detail) || `HTTP ${status}`); this.status = status; this.body = body; }
}

class Stale extends Error {}

// A read for the session that asked: an answer that arrives after a log-out or a log-in as
// someone else is dropped (Stale), never drawn into the next session's page.
async function api(path) {
  const session = state.session;
  const r = await fetch(path, { headers: { "X-API-Key": state.key || "" } });
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (session !== state.session) throw new Stale(path);
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

// A message a person can read: the API's named error and its sentence, never a trace.
function message(err) {
  if (err instanceof ApiError) {
    const name = err.body && err.body.error ? `${err.body.error}: ` : "";
    return name + err.message;
  }
  return String(err && err.message ? err.message : err);
}

function applyText() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.getElementById("lang").textContent = state.lang === "zh" ? "English" : "中文";
}

function disposeCharts() { state.charts.forEach((c) => c.dispose()); state.charts = []; }

function chart(el, option) {
  const c = echarts.init(el, null, { renderer: "svg" });
  c.setOption({ animation: false, textStyle: { fontFamily: state.lang === "zh" ? "Noto Sans CJK SC, DejaVu Sans, sans-serif" : "DejaVu Sans, Noto Sans CJK SC, sans-serif" }, ...option });
  state.charts.push(c);
  return c;
}

function cards(pairs) {
  return `<div class="cards">${pairs.map(([k, v]) => `<div class="card" data-card="${esc(k)}">${esc(t(k))}<b>${esc(v ?? "—")}</b></div>`).join("")}</div>`;
}

function warningRows(list) {
  if (!list.length) return `<p class="note">${esc(t("none"))}</p>`;
  const rows = list.map((w) => `<tr class="warning" data-rule="${esc(w.rule)}">
    <td class="sev-${esc(w.severity)}">${esc(w.severity)}</td>
    <td>${esc(state.lang === "zh" ? w.title_zh : w.title_en)}<br><small>${esc(w.rule)}</small></td>
    <td>${w.entities.map((e) => (e.kind === "enterprise" ? `<a href="#enterprise/${esc(e.id)}">${esc(short(e.id))}</a>` : esc(short(e.id)))).join(", ")}
        ${(w.refs || []).map((r) => " · " + explorerLink(r.id)).join("")}</td>
    <td>${w.transactions.map(explorerLink).join(" ")}</td>
    <td>${esc(when(w.at))}</td></tr>`).join("");
  return `<table class="warnings"><thead><tr><th>${esc(t("severity"))}</th><th>${esc(t("rule"))}</th><th>${esc(t("entities"))}</th><th>${esc(t("transactions"))}</th><th>${esc(t("when"))}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// -- pages -----------------------------------------------------------------------------------

const PAGES = {
  async overview(el) {
    const d = await api("/v1/console/overview");
    const c = d.chain;
    el.innerHTML = cards([["head", c.head], ["finality", c.finality], ["indexed", c.indexed], ["pending", d.pending_submissions], ...Object.entries(d.totals)])
      + `<div class="charts"><div class="chart" id="chart-cities"></div><div class="chart" id="chart-throughput"></div></div>`
      + `<h2>${esc(t("latest_warnings"))}</h2>${warningRows(d.warnings)}`;
    const cityName = (x) => (state.lang === "zh" ? x.city_zh : x.city);
    disposeCharts();
    chart(el.querySelector("#chart-cities"), {
      title: { text: t("members_by_city"), textStyle: { fontSize: 13 } }, tooltip: {}, legend: { bottom: 0 },
      grid: { top: 60 }, xAxis: { type: "category", data: d.cities.map(cityName) }, yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: t("active"), type: "bar", stack: "m", data: d.cities.map((x) => x.active) },
        { name: t("suspended"), type: "bar", stack: "m", data: d.cities.map((x) => x.suspended) },
        { name: t("enterprises"), type: "bar", data: d.cities.map((x) => x.enterprises) },
      ],
    });
    chart(el.querySelector("#chart-throughput"), {
      title: { text: t("throughput"), textStyle: { fontSize: 13 } }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.throughput.map((p) => when(p.hour).slice(5)) }, yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "line", areaStyle: {}, data: d.throughput.map((p) => p.events) }],
    });
  },

  async risk(el) {
    const d = await api("/v1/console/risk");
    el.innerHTML = `<div class="charts"><div class="chart" id="chart-exposure"></div><div class="chart" id="chart-rates"></div>
      <div class="chart" id="chart-contagion"></div><div class="chart" id="chart-queries"></div></div>
      <p class="note">${esc(t("industry_missing"))}</p>
      <h2>${esc(t("disputes"))}</h2>${disputeTable(d.disputes)}`;
    disposeCharts();
    const cities = [...new Set(d.exposure.flatMap((e) => [e.holder_city, e.debtor_city]))].sort();
    chart(el.querySelector("#chart-exposure"), {
      title: { text: t("exposure"), textStyle: { fontSize: 12 } }, tooltip: {}, grid: { top: 50, bottom: 60 },
      xAxis: { type: "category", data: cities, name: "→" }, yAxis: { type: "category", data: cities },
      visualMap: { min: 0, max: Math.max(1, ...d.exposure.map((e) => e.amount_fen / 100)), calculable: true, orient: "horizontal", left: "center", bottom: 0 },
      series: [{ type: "heatmap", label: { show: true }, data: d.exposure.map((e) => [cities.indexOf(e.debtor_city), cities.indexOf(e.holder_city), e.amount_fen / 100]) }],
    });
    chart(el.querySelector("#chart-rates"), {
      title: { text: t("rates"), textStyle: { fontSize: 12 } }, tooltip: {}, legend: { bottom: 0 }, grid: { top: 60 },
      xAxis: { type: "category", data: d.rates_by_city.map((r) => r.city) }, yAxis: { type: "value", max: 1, axisLabel: { formatter: (v) => pct(v) } },
      series: [
        { name: t("overdue_rate"), type: "bar", data: d.rates_by_city.map((r) => r.overdue_rate) },
        { name: t("default_rate"), type: "bar", data: d.rates_by_city.map((r) => r.default_rate) },
      ],
    });
    chart(el.querySelector("#chart-contagion"), {
      title: { text: t("contagion"), textStyle: { fontSize: 12 } }, tooltip: {},
      series: [{
        type: "graph", layout: "force", roam: true, force: { repulsion: 160, edgeLength: 80 }, label: { show: true, formatter: (p) => short(p.data.name) },
        edgeSymbol: ["none", "arrow"],
        categories: [{ name: "core" }, { name: "tier 1" }, { name: "tier 2" }, { name: "tier 3+" }],
        data: d.contagion.nodes.map((n) => ({ name: n.id, category: Math.min(n.tier, 3), symbolSize: n.tier === 0 ? 36 : 22 })),
        links: d.contagion.links.map((l) => ({ source: l.source, target: l.target, value: l.amount_fen / 100 })),
      }],
    });
    chart(el.querySelector("#chart-queries"), {
      title: { text: t("query_patterns"), textStyle: { fontSize: 12 } }, tooltip: {}, legend: { bottom: 0 }, grid: { top: 60 },
      xAxis: { type: "category", data: d.query_patterns.map((q) => short(q.member)) }, yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: t("queries"), type: "bar", data: d.query_patterns.map((q) => q.queries) },
        { name: t("without_loan"), type: "bar", data: d.query_patterns.map((q) => ({ value: q.without_loan, itemStyle: q.odd_volume ? { color: "#b3261e" } : undefined })) },
      ],
    });
  },

  async warnings(el) {
    const d = await api("/v1/console/warnings");
    el.innerHTML = `<h2>${esc(t("nav.warnings"))} (${d.count})</h2>${warningRows(d.data)}`;
  },

  async enterprise(el, arg) {
    const list = await api("/v1/console/enterprises");
    document.getElementById("subjects").innerHTML = list.data.map((e) => `<option value="${esc(e.subject)}">${esc(e.city || "")}</option>`).join("");
    if (arg) { document.getElementById("subject").value = arg; await openEnterprise(arg); }
  },

  async explorer(el, arg) {
    if (arg) { document.getElementById("ref").value = arg; await openRef(arg); }
  },

  async audit() {},
};

function disputeTable(list) {
  if (!list.length) return `<p class="note">${esc(t("none"))}</p>`;
  return `<table class="disputes"><tr><th>#</th><th>uid</th><th>attester</th><th>deadline</th><th>days</th></tr>${list.map((x) =>
    `<tr class="${x.late ? "sev-high" : "sev-medium"}"><td>${x.dispute_id}</td><td>${explorerLink(x.uid)}</td><td>${esc(short(x.attester))}</td><td>${esc(when(x.deadline))}</td><td>${x.days_left.toFixed(1)}</td></tr>`).join("")}</table>`;
}

function table(cls, head, rows) {
  if (!rows.length) return `<p class="note">${esc(t("none"))}</p>`;
  return `<table class="${cls}"><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</table>`;
}

async function openEnterprise(subject) {
  const out = document.getElementById("enterprise-body");
  const error = document.getElementById("enterprise-error");
  error.textContent = "";
  out.innerHTML = "";
  if (!HEX32.test(subject)) { error.textContent = t("subject_bad"); return; }
  try {
    const p = await api(`/v1/console/enterprises/${encodeURIComponent(subject)}`);
    let html = `<h2 id="profile-title">${esc(p.subject)}</h2>${cards([["city", p.city], ["records", p.records.length], ["receivables", p.receivables.length], ["queries", p.queried_by.length]])}`;
    html += `<h3>${esc(t("records"))}</h3>` + table("records", ["uid", "schema", "attester", t("validity"), "disputes"], p.records.map((r) => [explorerLink(r.uid), esc(r.schema), esc(short(r.attester)), esc(r.validity), esc(r.disputes.map((x) => `#${x.dispute_id} ${x.status}`).join(", "))]));
    if (p.scores) html += `<h3>${esc(t("scores"))}</h3>` + table("scores", Object.keys(p.scores[0] || {}), p.scores.map((s) => Object.values(s).map(esc)));
    html += `<h3>${esc(t("held_owed"))}</h3>` + table("receivables", ["id", "role", "CNY", "due", "status"], p.receivables.map((r) => [explorerLink(r.id), esc(r.role), esc(yuan(r.amount_fen)), esc(when(r.due_date)), `<span class="${r.overdue ? "sev-high" : ""}">${esc(r.status)}${r.overdue ? " (overdue)" : ""}</span>`]));
    if (p.pledges) html += `<h3>${esc(t("pledges"))}</h3>` + table("pledges", Object.keys(p.pledges[0] || {}), p.pledges.map((s) => Object.values(s).map(esc)));
    html += `<h3>${esc(t("queried_by"))}</h3>` + table("queries", ["member", "purpose", "when", "tx"], p.queried_by.map((q) => [esc(q.member), esc(q.purpose), esc(when(q.queried_at)), explorerLink(q.tx_hash)]));
    html += `<h3>${esc(t("authorisations"))}</h3>` + table("authorisations", ["member", "purpose", "expiry", "in force"], p.authorisations.map((a) => [esc(a.member), esc(a.purpose), esc(when(a.expiry)), esc(a.in_force)]));
    out.innerHTML = html;
  } catch (err) {
    if (!(err instanceof Stale)) error.textContent = message(err);
  }
}

// ethers (for keccak256) is loaded the first time a proof is checked: the other pages
// need none of it.
let ethersLoaded = null;
function loadEthers() {
  if (window.ethers) return Promise.resolve();
  ethersLoaded = ethersLoaded || new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/console/assets/ethers/ethers.umd.min.js";
    script.onload = () => resolve();
    script.onerror = () => { ethersLoaded = null; reject(new Error("ethers could not be loaded from this server")); };
    document.head.appendChild(script);
  });
  return ethersLoaded;
}

function hexBytes(h) { return ethers.getBytes(h); }

// OpenZeppelin's MerkleProof: each step hashes the two 32-byte nodes in ascending order.
function processProof(leaf, proof) {
  let node = leaf;
  for (const sibling of proof) {
    const [a, b] = BigInt(node) <= BigInt(sibling) ? [node, sibling] : [sibling, node];
    node = ethers.keccak256(ethers.concat([hexBytes(a), hexBytes(b)]));
  }
  return node;
}

async function openRef(ref) {
  const out = document.getElementById("explorer-body");
  const error = document.getElementById("explorer-error");
  error.textContent = "";
  out.innerHTML = "";
  ref = ref.trim();
  if (!HEX32.test(ref) && !BATCH_RECORD.test(ref)) { error.textContent = t("ref_bad"); return; }
  try {
    const d = await api(`/v1/console/explorer/${encodeURIComponent(ref)}`);
    let html = `<h2>${esc(t("kind"))}: <span id="explored-kind">${esc(d.kind)}</span></h2>`;
    if (d.kind === "batch_record") {
      await loadEthers();
      const computed = processProof(d.leaf, d.proof);
      const ok = d.root !== null && computed.toLowerCase() === d.root.toLowerCase();
      html += `<p id="proof-verdict" class="${ok ? "verified" : "not-verified"}" data-verified="${ok}">${esc(ok ? t("proof_ok") : t("proof_bad"))}</p>`;
      html += table("proof", ["", ""], [["leaf", esc(d.leaf)], ["proof", d.proof.map(esc).join("<br>")], ["root (computed)", esc(computed)], ["root (chain)", esc(d.root)], ["subject", `<a href="#enterprise/${esc(d.subject)}">${esc(d.subject)}</a>`], ["tx", esc(d.tx_hash)]]);
    } else if (d.kind === "receivable") {
      html += `<h3>${esc(t("lineage"))}</h3>` + table("lineage", ["id", "parent", "holder", "CNY", "due", "status"], d.lineage.map((p) => [explorerLink(p.id), p.parent ? explorerLink(p.parent) : "—", esc(short(p.holder)), esc(yuan(p.amount_fen)), esc(when(p.due_date)), esc(p.status)]));
      html += `<h3>${esc(t("history"))}</h3>` + table("history", ["event", "when", "tx"], d.history.map((h) => [esc(h.name), esc(when(h.timestamp)), explorerLink(h.tx_hash)]));
    } else if (d.kind === "transaction") {
      html += table("events", ["contract", "event", "args"], d.events.map((e) => [esc(e.contract), esc(e.name), `<code>${esc(JSON.stringify(e.args))}</code>`]));
    } else {
      html += table("fields", ["", ""], Object.entries(d).filter(([k]) => k !== "kind").map(([k, v]) => [esc(k), esc(v)]));
    }
    out.innerHTML = html;
  } catch (err) {
    if (!(err instanceof Stale)) error.textContent = message(err);
  }
}

// -- navigation, login, polling --------------------------------------------------------------

async function show() {
  if (!state.me) { return; }
  const [page, ...rest] = (location.hash.slice(1) || "overview").split("/");
  const name = PAGES[page] ? page : "overview";
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : null;
  const changed = state.page !== name;
  state.page = name;
  document.querySelectorAll(".page").forEach((p) => { p.hidden = p.id !== `${name}-page`; });
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === name));
  if (changed) disposeCharts();
  await render(name, arg);
}

async function render(name, arg) {
  const el = document.getElementById(`${name}-page`);
  try {
    await PAGES[name](el, arg);
    document.getElementById("updated").textContent = `${t("updated")} ${new Date().toISOString().slice(11, 19)}`;
    el.dataset.rendered = String(Date.now());
  } catch (err) {
    if (err instanceof Stale) return;
    if (name === "enterprise" || name === "explorer") { document.getElementById(`${name}-error`).textContent = message(err); return; }
    el.innerHTML = `<p class="form-error" role="alert">${esc(err instanceof ApiError && err.status === 403 ? t("only_overseers") + " " : "")}${esc(message(err))}</p>`;
    el.dataset.rendered = String(Date.now());
  }
}

function poll() {
  clearInterval(state.timer);
  // The pages whose content follows the chain refresh as blocks arrive; forms are left alone.
  state.timer = setInterval(() => {
    if (state.me && ["overview", "risk", "warnings"].includes(state.page) && !document.hidden) render(state.page, null);
  }, POLL_MS);
}

async function login(key) {
  const error = document.getElementById("login-error");
  error.textContent = "";
  key = key.trim();
  if (!key) { error.textContent = t("login.empty"); return false; }
  state.key = key;
  state.session += 1;
  try {
    state.me = await api("/v1/console/me");
  } catch (err) {
    if (err instanceof Stale) return false; // a later log-in took over
    state.key = null; state.me = null;
    error.textContent = `${t("login.bad")} — ${message(err)}`;
    return false;
  }
  state.readOnly = Boolean(state.me.read_only);
  sessionStorage.setItem("console.key", key);
  document.getElementById("login-page").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = Boolean(state.readOnly);
  document.getElementById("who").textContent = `${state.me.role} · ${short(state.me.account)}`;
  document.body.dataset.role = state.me.role;
  poll();
  await show();
  return true;
}

function logout() {
  if (state.readOnly) return;
  sessionStorage.removeItem("console.key");
  state.key = null; state.me = null; state.page = null;
  state.session += 1;
  clearInterval(state.timer);
  disposeCharts();
  for (const name of ["overview", "risk", "warnings"]) {
    const el = document.getElementById(`${name}-page`);
    el.innerHTML = "";
    delete el.dataset.rendered;
  }
  for (const id of ["enterprise-body", "explorer-body", "audit-body", "enterprise-error", "explorer-error", "audit-error"]) document.getElementById(id).textContent = "";
  document.querySelectorAll(".page").forEach((p) => delete p.dataset.rendered);
  document.querySelectorAll(".page").forEach((p) => { p.hidden = p.id !== "login-page"; });
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  delete document.body.dataset.role;
}

document.addEventListener("DOMContentLoaded", () => {
  applyText();
  document.getElementById("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("console.lang", state.lang);
    applyText();
    if (state.me) render(state.page, null);
  });
  document.getElementById("logout").addEventListener("click", logout);
  document.getElementById("login-form").addEventListener("submit", (e) => { e.preventDefault(); login(document.getElementById("api-key").value); });
  document.getElementById("enterprise-form").addEventListener("submit", (e) => { e.preventDefault(); openEnterprise(document.getElementById("subject").value.trim()); });
  document.getElementById("explorer-form").addEventListener("submit", (e) => { e.preventDefault(); openRef(document.getElementById("ref").value); });
  document.getElementById("run-audit").addEventListener("click", async () => {
    const out = document.getElementById("audit-body");
    const error = document.getElementById("audit-error");
    error.textContent = ""; out.textContent = "…";
    try {
      const r = await api("/v1/console/audit");
      out.innerHTML = `<p id="audit-verdict" class="${r.ok ? "verified" : "not-verified"}">${esc(r.ok ? t("audit_ok") : r.verdict)}</p>`
        + `<h3>${esc(t("breaches"))} (${r.breaches.length})</h3>` + table("breaches", ["name", "detail", "block", "tx"], r.breaches.map((b) => [esc(b.name), esc(b.detail), esc(b.block), b.tx_hash ? explorerLink(b.tx_hash) : ""]));
    } catch (err) { out.textContent = ""; error.textContent = message(err); }
  });
  window.addEventListener("hashchange", show);
  // A key kept for this tab logs in at once; otherwise the read-only console
  // (`credit-chain console --manifest`) is recognised by answering without one.
  if (state.key) { login(state.key); return; }
  fetch("/v1/console/me").then(async (r) => {
    if (r.ok && !state.me) await login("read-only");
  });
});
