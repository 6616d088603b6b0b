// The supervision console: one page, six views, over the read-only /v1/console routes.
// Everything it loads comes from this host (ECharts and ethers from the project's npm copy).
"use strict";

// New blocks are announced by the server (server-sent events on /v1/console/heads); the
// pages poll every POLL_MS only while that stream is down, and retry it every LIVE_RETRY_MS.
const POLL_MS = 2000;
const LIVE_RETRY_MS = 2000;
// The pages whose content follows the chain: they refresh as blocks arrive.
const LIVE_PAGES = ["overview", "risk", "warnings"];
const PAGE_READS = { overview: "/v1/console/overview", risk: "/v1/console/risk", warnings: "/v1/console/warnings" };
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
    industry_missing: "Rates by industry and growth stage are not shown: no event on the chain names an enterprise's industry, and its growth stage travels only inside an off-chain sci-tech indicators record (the chain holds its hash). Rates are by city.",
    joint: "Joint-limit utilisation (joint exposure ÷ joint limit)", joint_table: "Joint credit agreements",
    agreement: "Agreement", lead: "Lead bank", participants: "Participants", joint_limit: "Joint limit (CNY)",
    joint_exposure: "Joint exposure (CNY)", utilisation: "Utilisation", flagged: "Flagged", status: "Status",
    flagged_yes: "flagged: draws stopped", flagged_no: "no",
    facilities: "Credit facilities", joint_agreements: "Joint credit agreements",
    lender: "Lender", limit: "Limit (CNY)", drawn: "Drawn (CNY)", expiry: "Expiry", pledgee: "Pledgee",
    asset: "Asset", secured: "Secured (CNY)", scorer: "Scorer", grade: "Grade", pd: "PD", points: "Points",
    reason_codes: "Reason codes", scored_date: "Scored on",
    score_form: "Open a score with its record", score_uid: "Score", score_record: "The score record its scorer gave (JSON)",
    score_note: "A score's grade and reason codes are in its record, off chain: paste the record to check it against the chain and read it.",
    score_empty: "Paste the score record (a JSON object).",
    score_not_json: "The score record is not valid JSON",
    score_not_object: "The score record must be a JSON object ({…}).",
    score_pick: "Choose the score to open.",
    score_ok: "The record matches the score attested on chain.",
    live_sse: "live: new blocks announced by the server", live_poll: "live: polling every 2 s",
    pledge_id: "Pledge", facility_id: "Facility", pledge_ids: "Pledges", enterprise: "Enterprise", city: "City",
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
    industry_missing: "未显示按行业与成长阶段的比率：链上没有任何事件记载企业所属行业，成长阶段只存在于链下的科创指标记录中（链上仅存其哈希）。比率按城市统计。",
    joint: "联合授信额度使用率（联合敞口 ÷ 联合额度）", joint_table: "联合授信协议",
    agreement: "协议", lead: "牵头行", participants: "参与行", joint_limit: "联合额度（元）",
    joint_exposure: "联合敞口（元）", utilisation: "使用率", flagged: "预警标记", status: "状态",
    flagged_yes: "已标记：暂停提款", flagged_no: "否",
    facilities: "授信", joint_agreements: "联合授信协议",
    lender: "授信机构", limit: "额度（元）", drawn: "已提款（元）", expiry: "到期", pledgee: "质权人",
    asset: "质押物", secured: "担保金额（元）", scorer: "评分机构", grade: "等级", pd: "违约概率", points: "分数",
    reason_codes: "原因代码", scored_date: "评分日期",
    score_form: "凭评分记录打开评分", score_uid: "评分", score_record: "评分机构提供的评分记录（JSON）",
    score_note: "评分的等级与原因代码在链下的评分记录中：粘贴记录即可与链上核对并查看。",
    score_empty: "请粘贴评分记录（JSON 对象）。",
    score_not_json: "评分记录不是有效的 JSON",
    score_not_object: "评分记录须为 JSON 对象（{…}）。",
    score_pick: "请选择要打开的评分。",
    score_ok: "该记录与链上存证的评分一致。",
    live_sse: "实时：服务器推送新区块", live_poll: "实时：每2秒轮询",
    pledge_id: "质押编号", facility_id: "授信编号", pledge_ids: "质押", enterprise: "企业", city: "城市",
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

const state = {
  session: 0, key: sessionStorage.getItem("console.key"), lang: localStorage.getItem("console.lang") || "en",
  me: null, page: null, charts: [], timer: null,
  // The head stream: its abort controller, whether it is up, the last head it announced,
  // and how many refreshes it and the fallback poll caused (the browser tests read them).
  live: null, streaming: false, lastHead: null, liveRefreshes: 0, polledRefreshes: 0,
  early: new Map(),
};

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
async function api(path, init) {
  const session = state.session;
  const early = !init && state.early.get(path);
  state.early.delete(path);
  const r = await (early && early.key === state.key ? early.response : fetch(path, { ...init, headers: { "X-API-Key": state.key || "", ...(init && init.headers) } }));
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

// ECharts from the project's npm copy: the common build (bars, lines, SVG; 0.7 MB) unless a
// page needs the full one (heatmap, graph, visual map; 1.1 MB). The full build replaces the
// common one for good once loaded; `echarts` is always the largest build loaded.
const ECHARTS_BUILDS = { common: "/console/assets/echarts/echarts.common.min.js", full: "/console/assets/echarts/echarts.min.js" };
const FULL_ECHARTS_PAGES = ["risk"];
const echartsBuilds = {};
const echartsLoading = {};
function loadEcharts(page) {
  const build = FULL_ECHARTS_PAGES.includes(page) ? "full" : "common";
  if (echartsBuilds.full || echartsBuilds[build]) return Promise.resolve();
  echartsLoading[build] = echartsLoading[build] || new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = ECHARTS_BUILDS[build];
    script.onload = () => {
      echartsBuilds[build] = window.echarts;
      window.echarts = echartsBuilds.full || echartsBuilds.common;
      resolve();
    };
    script.onerror = () => { echartsLoading[build] = null; reject(new Error("ECharts could not be loaded from this server")); };
    document.head.appendChild(script);
  });
  return echartsLoading[build];
}

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
    const [d] = await Promise.all([api("/v1/console/overview"), loadEcharts("overview")]);
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
    const [d] = await Promise.all([api("/v1/console/risk"), loadEcharts("risk")]);
    const joint = d.joint_limits.agreements;
    el.innerHTML = `<div class="charts"><div class="chart" id="chart-exposure"></div><div class="chart" id="chart-rates"></div>
      <div class="chart" id="chart-contagion"></div><div class="chart" id="chart-queries"></div><div class="chart" id="chart-joint"></div></div>
      <p class="note" id="industry-note">${esc(t("industry_missing"))}</p>
      <h2>${esc(t("joint_table"))} (${joint.length}; ${esc(t("flagged"))}: <span id="joint-flagged">${d.joint_limits.flagged}</span>)</h2>${agreementTable(joint)}
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
    const shown = joint.slice(0, 30);
    chart(el.querySelector("#chart-joint"), {
      title: { text: t("joint"), textStyle: { fontSize: 12 } }, tooltip: { formatter: (p) => `#${esc(p.name)}: ${pct(p.value)}` }, grid: { top: 50 },
      xAxis: { type: "category", data: shown.map((a) => String(a.agreement)), name: t("agreement") },
      yAxis: { type: "value", min: 0, max: (v) => Math.max(1, v.max), axisLabel: { formatter: (v) => pct(v) } },
      series: [{
        type: "bar", name: t("utilisation"),
        data: shown.map((a) => ({ value: a.utilisation, itemStyle: a.flagged ? { color: "#b3261e" } : undefined })),
        markLine: { silent: true, symbol: "none", data: [{ yAxis: 1 }], lineStyle: { color: "#b86e00" } },
      }],
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

function agreementTable(list) {
  return table("joint", [t("agreement"), t("enterprise"), t("lead"), t("participants"), t("status"), t("joint_limit"), t("joint_exposure"), t("utilisation"), t("flagged")],
    list.map((a) => [esc(a.agreement), a.subject ? `<a href="#enterprise/${esc(a.subject)}">${esc(short(a.subject))}</a>` : "", esc(short(a.lead)),
      a.participants.map((x) => esc(short(x))).join(", "), esc(a.status), esc(yuan(a.joint_limit_fen)), esc(yuan(a.joint_exposure_fen)),
      `<span class="${a.utilisation >= 0.9 ? "sev-medium" : ""}">${esc(pct(a.utilisation))}</span>`,
      `<span class="${a.flagged ? "sev-high" : ""}" data-flagged="${a.flagged}">${esc(a.flagged ? t("flagged_yes") : t("flagged_no"))}</span>`]),
    (a) => `data-agreement="${esc(a.agreement)}"`, list);
}

function table(cls, head, rows, rowAttrs, items) {
  if (!rows.length) return `<p class="note">${esc(t("none"))}</p>`;
  return `<table class="${cls}"><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${rows.map((r, i) => `<tr ${rowAttrs ? rowAttrs(items[i]) : ""}>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</table>`;
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
    html += `<h3>${esc(t("scores"))}</h3>` + table("scores", [t("score_uid"), t("scorer"), t("when"), t("validity")], p.scores.map((s) => [explorerLink(s.uid), esc(short(s.scorer)), esc(when(s.attested_at)), esc(s.validity)]));
    if (p.scores.length) html += scoreForm(p.scores);
    html += `<h3>${esc(t("held_owed"))}</h3>` + table("receivables", ["id", "role", "CNY", "due", "status"], p.receivables.map((r) => [explorerLink(r.id), esc(r.role), esc(yuan(r.amount_fen)), esc(when(r.due_date)), `<span class="${r.overdue ? "sev-high" : ""}">${esc(r.status)}${r.overdue ? " (overdue)" : ""}</span>`]));
    html += `<h3>${esc(t("pledges"))}</h3>` + table("pledges", [t("pledge_id"), t("kind"), t("asset"), t("pledgee"), t("secured"), t("expiry"), t("status")], p.pledges.map((x) => [esc(short(x.pledge_id)), esc(x.kind), esc(short(x.asset_id)), esc(short(x.pledgee)), esc(yuan(x.secured_amount_fen)), esc(when(x.expiry)), esc(x.status)]));
    html += `<h3>${esc(t("facilities"))}</h3>` + table("facilities", [t("facility_id"), t("kind"), t("lender"), t("limit"), t("drawn"), t("expiry"), t("status"), t("pledge_ids")], p.facilities.map((f) => [esc(short(f.facility_id)), esc(f.kind), esc(short(f.lender)), esc(yuan(f.limit_fen)), esc(yuan(f.drawn_fen)), esc(when(f.expiry)), esc(f.status), f.pledge_ids.map((x) => esc(short(x))).join(", ")]));
    html += `<h3>${esc(t("joint_agreements"))}</h3>` + agreementTable(p.joint_agreements);
    html += `<h3>${esc(t("queried_by"))}</h3>` + table("queries", ["member", "purpose", "when", "tx"], p.queried_by.map((q) => [esc(q.member), esc(q.purpose), esc(when(q.queried_at)), explorerLink(q.tx_hash)]));
    html += `<h3>${esc(t("authorisations"))}</h3>` + table("authorisations", ["member", "purpose", "expiry", "in force"], p.authorisations.map((a) => [esc(a.member), esc(a.purpose), esc(when(a.expiry)), esc(a.in_force)]));
    out.innerHTML = html;
    const form = document.getElementById("score-form");
    if (form) form.addEventListener("submit", (e) => { e.preventDefault(); openScore(); });
  } catch (err) {
    if (!(err instanceof Stale)) error.textContent = message(err);
  }
}

function scoreForm(scores) {
  return `<form id="score-form" novalidate><p class="note">${esc(t("score_note"))}</p>
    <label for="score-uid">${esc(t("score_uid"))}</label>
    <select id="score-uid">${scores.map((s) => `<option value="${esc(s.uid)}">${esc(short(s.uid))} · ${esc(when(s.attested_at))}</option>`).join("")}</select>
    <label for="score-record">${esc(t("score_record"))}</label>
    <textarea id="score-record" rows="6" spellcheck="false" placeholder='{"subject": "0x…", "grade": "A", …}'></textarea>
    <button type="submit">${esc(t("open"))}</button>
    <p class="form-error" id="score-error" role="alert"></p><div id="score-body"></div></form>`;
}

// The record is checked on the server against the score's attestation (its hash, its
// subject, the credit-score schema); the page checks only that it is a JSON object.
async function openScore() {
  const error = document.getElementById("score-error");
  const out = document.getElementById("score-body");
  error.textContent = ""; out.innerHTML = "";
  const uid = document.getElementById("score-uid").value;
  const text = document.getElementById("score-record").value.trim();
  if (!HEX32.test(uid)) { error.textContent = t("score_pick"); return; }
  if (!text) { error.textContent = t("score_empty"); return; }
  let record;
  try { record = JSON.parse(text); } catch (err) { error.textContent = `${t("score_not_json")}: ${err.message}`; return; }
  if (!record || typeof record !== "object" || Array.isArray(record)) { error.textContent = t("score_not_object"); return; }
  try {
    const d = await api(`/v1/console/scores/${encodeURIComponent(uid)}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ record }) });
    out.innerHTML = `<p id="score-verdict" class="verified">${esc(t("score_ok"))}</p>` + cards([["grade", d.grade], ["pd", (d.pd_basis_points / 100).toFixed(2) + "%"], ["points", d.points], ["scored_date", d.scored_date]])
      + `<h4>${esc(t("reason_codes"))}</h4><ol id="reason-codes">${d.reason_codes.map((c) => `<li>${esc(c)}</li>`).join("") || `<li>${esc(t("none"))}</li>`}</ol>`;
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

function refreshLive(cause) {
  if (!state.me || !LIVE_PAGES.includes(state.page) || document.hidden) return;
  if (cause === "event") state.liveRefreshes += 1; else state.polledRefreshes += 1;
  render(state.page, null);
}

function setLive(streaming) {
  state.streaming = streaming;
  document.body.dataset.live = streaming ? "sse" : "polling";
  document.getElementById("live").textContent = t(streaming ? "live_sse" : "live_poll");
}

// A frame of the head stream: "event: head" with the head and the index's block; comments
// (heartbeats) and other events are ignored.
function onFrame(frame) {
  let event = "message", data = "";
  for (const line of frame.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (event !== "head" || !data) return;
  const h = JSON.parse(data);
  const moved = state.lastHead !== null && (h.head !== state.lastHead.head || h.indexed !== state.lastHead.indexed);
  state.lastHead = h;
  if (moved) refreshLive("event");
}

// The head stream, read with fetch (an EventSource cannot send the API key). It ends when
// the server ends it (a minute's life), on an error, or on log-out; while it is down the
// pages poll, and it is opened again after LIVE_RETRY_MS.
async function live() {
  const session = state.session;
  const controller = new AbortController();
  state.live = controller;
  try {
    const r = await fetch("/v1/console/heads", { headers: { "X-API-Key": state.key || "", Accept: "text/event-stream" }, signal: controller.signal });
    if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
    setLive(true);
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done || session !== state.session) break;
      buffer += value;
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        onFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
  } catch (_) {
    // down: the poll below carries on until the stream is back
  }
  if (session !== state.session) return;
  setLive(false);
  state.live = null;
  state.liveRetry = setTimeout(live, LIVE_RETRY_MS);
}

function stopLive() {
  clearInterval(state.timer);
  clearTimeout(state.liveRetry);
  if (state.live) state.live.abort();
  state.live = null; state.lastHead = null; state.streaming = false;
}

function startLive() {
  stopLive();
  state.timer = setInterval(() => { if (!state.streaming) refreshLive("poll"); }, POLL_MS);
  live();
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
  setLive(false);
  await show();
  startLive();
  return true;
}

function logout() {
  if (state.readOnly) return;
  sessionStorage.removeItem("console.key");
  state.key = null; state.me = null; state.page = null;
  state.early.clear();
  state.session += 1;
  stopLive();
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

// A returning user's reads start as this script runs, with the chart library the page needs:
// the server answers while the browser compiles ECharts.
{
  const page = (location.hash.slice(1) || "overview").split("/")[0];
  if (PAGE_READS[page] && page !== "warnings") loadEcharts(page).catch(() => {});
}
if (state.key) {
  const page = (location.hash.slice(1) || "overview").split("/")[0];
  for (const path of ["/v1/console/me", PAGE_READS[page]].filter(Boolean)) {
    const response = fetch(path, { headers: { "X-API-Key": state.key } });
    response.catch(() => {});
    state.early.set(path, { key: state.key, response });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  applyText();
  document.getElementById("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("console.lang", state.lang);
    applyText();
    if (state.me) { setLive(state.streaming); render(state.page, null); }
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
