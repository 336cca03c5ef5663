// quaywatch web console: a single page over the REST API (no build step).
// The API token lives in localStorage and is only ever sent as a bearer header; no secret is rendered.
"use strict";

const state = { token: localStorage.getItem("quaywatch.token"), admin: false };
// Severity levels come from the API (GET /severity-levels), declared once on the server.
const LEVELS = { levels: [], rated: [], issues: [] };
let SEVERITIES = LEVELS.levels;

async function loadLevels() {
  if (LEVELS.levels.length) return;
  Object.assign(LEVELS, await api("GET", "/severity-levels"));
  SEVERITIES = LEVELS.levels;
}
// Whether a fix exists, in words (the finding's status: "fixed" means a fix is released, not that it is applied).
const STATUS_TEXT = { fixed: "fix available", affected: "no fix yet", fix_deferred: "fix deferred",
  will_not_fix: "will not fix", out_of_support: "out of support", under_investigation: "under investigation" };

function failedBadge(project) {
  return project.last_test?.status === "failed"
    ? ` <span class="badge failed" title="${esc(project.last_test.error || "")}">TEST FAILED</span>` : "";
}

function fixText(finding) {
  return finding.fixed_version ? `fix available in ${finding.fixed_version}` : (STATUS_TEXT[finding.status] || finding.status);
}
const QUAY_ICON = '<svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true"><circle cx="8" cy="8" r="7" fill="#40b4e5"/><path d="M5 8a3 3 0 1 1 5.2 2l1.3 1.3" stroke="#fff" stroke-width="1.6" fill="none"/></svg>';

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// A file the API makes (an export), saved by the browser: fetched with the bearer token, which
// a plain link could not send.
async function download(path, message) {
  const response = await fetch(path, { headers: { "Authorization": `Bearer ${state.token}` } });
  if (!response.ok) { message.textContent = `Export failed (${response.status})`; return; }
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || "export";
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Authorization": `Bearer ${state.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401) { logout(); throw new Error("Your token is not valid; log in again."); }
  if (!response.ok) { throw new Error(data?.error?.message || `request failed (${response.status})`); }
  return data;
}

const main = () => document.getElementById("main");
// Renders are async: one that finishes after a newer route began must not overwrite that page.
let routing = 0;
const stale = ticket => ticket !== routing;

// ------------------------------------------------------------------ login
function renderLogin(message) {
  document.getElementById("nav").hidden = true;
  main().innerHTML = `
    <div class="w-520 card">
      <h1>Log in</h1>
      <form id="login-form">
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="off" placeholder="qw_…" required>
        <div class="mt-12"><button type="submit">Log in</button></div>
        <div id="login-error" class="error">${esc(message || "")}</div>
      </form>
      <p class="muted">The embedded server prints an admin token on its first start and keeps it in its data directory (admin-token).</p>
    </div>`;
  document.getElementById("login-form").onsubmit = async event => {
    event.preventDefault();
    state.token = document.getElementById("token").value.trim();
    try {
      await loadLevels();  // also checks the token, cheaply
      localStorage.setItem("quaywatch.token", state.token);
      await detectRole();
      location.hash = "#/projects";
      route();
    } catch (error) {
      renderLogin(error.message);
    }
  };
}

function logout() {
  localStorage.removeItem("quaywatch.token");
  state.token = null;
  renderLogin();
}

async function detectRole() {
  try { await api("GET", "/integrations"); state.admin = true; } catch { state.admin = false; }
  document.querySelectorAll(".admin-only").forEach(el => { el.hidden = !state.admin; });
}

// ------------------------------------------------------------------ import progress (every page)
function trackImport(id) {
  localStorage.setItem("quaywatch.import", id);
  localStorage.setItem("quaywatch.lastImport", id);
  pollImport();
}

let polling = null;
async function pollImport() {
  const id = localStorage.getItem("quaywatch.import");
  const banner = document.getElementById("import-banner");
  if (!id || !state.token) { banner.hidden = true; return; }
  try {
    const status = await api("GET", `/imports/${id}`);
    const done = status.succeeded + status.failed;
    banner.hidden = false;
    const percent = status.total ? Math.round(100 * done / status.total) : 0;
    document.getElementById("import-bar").style.width = `${percent}%`;
    document.getElementById("import-progress").setAttribute("aria-valuenow", String(percent));
    document.getElementById("import-text").textContent = status.status === "completed"
      ? `Import finished: ${status.succeeded} succeeded, ${status.failed} failed of ${status.total}`
      : `Importing ${done} / ${status.total}…`;
    document.getElementById("import-log-link").href = `#/imports/${id}`;
    if (status.status === "completed") {
      localStorage.removeItem("quaywatch.import");
      setTimeout(() => { if (!localStorage.getItem("quaywatch.import")) banner.hidden = true; }, 15_000);
      if (location.hash.startsWith("#/projects")) route();
      return;
    }
  } catch { banner.hidden = true; return; }
  clearTimeout(polling);
  polling = setTimeout(pollImport, 1000);
}

// ------------------------------------------------------------------ helpers
// Times are stored in UTC (ISO 8601); people read them in their own zone.
function localTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? String(iso) : when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function countBadge(level, count) {
  return `<span class="sev ${count ? level : "zero"}" title="${level}: ${count}" aria-label="${level}: ${count}">${count}</span>`;
}

// Where each kind of id is described upstream.
function advisoryLink(id) {
  const url = /^CVE-\d+-\d+$/.test(id) ? `https://nvd.nist.gov/vuln/detail/${id}`
    : /^GHSA-/.test(id) ? `https://github.com/advisories/${id}`
    : `https://osv.dev/vulnerability/${id}`;
  return `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${esc(id)}</a>`;
}

function exploitText(f) {
  const parts = [];
  if (f.kev) parts.push(`<span class="kev" title="In CISA's Known Exploited Vulnerabilities catalog since ${esc(f.kev_date_added || "")}">KEV</span>`);
  if (f.epss) parts.push(`<span title="EPSS: probability of exploitation in the next 30 days (percentile ${(f.epss.percentile * 100).toFixed(1)})">EPSS ${(f.epss.score * 100).toFixed(f.epss.score < 0.1 ? 1 : 0)}%</span>`);
  return parts.join(" ");
}

// ------------------------------------------------------------------ pages
// The projects shown so far: the API pages them (a repository may go on in the next page).
let projectPages = { origin: null, groups: [], next: null };

async function renderProjects(more = false) {
  const ticket = routing;
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const origin = params.get("origin") || "";
  const search = params.get("search") || "";
  const query = new URLSearchParams({ ...(origin ? { origin } : {}),
    ...(more && projectPages.next ? { cursor: projectPages.next } : {}) });
  const [data, feeds] = await Promise.all([
    api("GET", `/projects${query.toString() ? `?${query}` : ""}`),
    api("GET", "/advisories/status").catch(() => null)]);  // freshness is a hint: the list shows without it
  if (stale(ticket)) return;
  if (!more || projectPages.origin !== origin) projectPages = { origin, groups: [], next: null };
  for (const group of data.repositories) {
    const last = projectPages.groups[projectPages.groups.length - 1];
    if (last && last.name === group.name) last.projects.push(...group.projects);
    else projectPages.groups.push({ name: group.name, projects: [...group.projects] });
  }
  projectPages.next = data.next_cursor || null;
  const groups = projectPages.groups.filter(g => !search || g.name.toLowerCase().includes(search.toLowerCase()));
  const rows = groups.map(group => `
    <tr><th colspan="6" scope="rowgroup" class="repo">${esc(group.name)}</th></tr>
    ${group.projects.map(p => `
      <tr class="project" data-id="${esc(p.id)}">
        <td class="indent"><a href="#/project/${esc(p.id)}">${esc(group.name)}:${esc(p.tag)}</a>
          ${p.is_new ? '<span class="badge new">NEW</span>' : ""}${p.active === false ? ' <span class="muted">(inactive)</span>' : ""}${failedBadge(p)}</td>
        <td><span class="origin" title="Quay">${QUAY_ICON} Quay</span></td>
        <td class="muted">${esc(p.platform)}</td>
        <td class="counts">${LEVELS.issues.map(s => countBadge(s, p.issue_counts[s] || 0)).join(" ")}
            <span class="muted">· ${p.issue_counts.negligible || 0} negligible · ${p.issue_counts.unknown || 0} unrated${p.ignored_count ? ` · ${p.ignored_count} ignored` : ""} · <span class="total">${p.finding_count ?? 0} total</span></span>
            ${p.ignored_count ? `<span class="muted">(${p.ignored_count} ignored)</span>` : ""}</td>
        <td class="muted">${esc(p.test_frequency)}</td>
        <td class="muted">${esc(localTime(p.last_tested_at))}</td>
      </tr>`).join("")}`).join("");
  main().innerHTML = `
    <h1>Projects</h1>
    <p><a href="#/imports" id="import-log-top">Import log</a> · what was imported, when and by whom</p>
    ${feeds ? `<p id="freshness"><a href="#/advisories">${freshnessLine(feeds)}</a></p>` : ""}
    <div class="toolbar">
      <div><label for="origin-filter">Origin</label>
        <select id="origin-filter"><option value="">All origins</option><option value="quay">Quay</option></select></div>
      <div><label for="project-search">Search repositories</label>
        <input id="project-search" type="text" placeholder="name" value="${esc(search)}"></div>
    </div>
    <div class="card"><table>
      <caption class="left muted">Issues: critical, high, medium, low; unrated findings (no source gives a severity) and the total beside them</caption>
      <thead><tr><th scope="col">Image</th><th scope="col">Origin</th><th scope="col">Platform</th><th scope="col">Issues</th>
        <th scope="col">Tests</th><th scope="col">Last tested</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="6" class="muted">${search ? "No repository matches." : "No projects yet: add images."}</td></tr>`}</tbody>
    </table></div>
    ${projectPages.next ? '<p><button id="more-projects" type="button">Show more projects</button></p>' : ""}`;
  const moreButton = document.getElementById("more-projects");
  if (moreButton) moreButton.onclick = () => renderProjects(true);
  const filter = document.getElementById("origin-filter");
  filter.value = origin;
  // The values are taken when the user acts: a re-render in between must not lose what was typed.
  const go = (originValue, searchValue) => {
    const query = new URLSearchParams({ ...(originValue ? { origin: originValue } : {}), ...(searchValue ? { search: searchValue } : {}) });
    location.hash = `#/projects${query.toString() ? `?${query}` : ""}`;
  };
  filter.onchange = () => go(filter.value, document.getElementById("project-search").value.trim());
  let timer = null;
  document.getElementById("project-search").oninput = event => {
    const typed = event.target.value.trim();
    clearTimeout(timer);
    timer = setTimeout(() => go(filter.value, typed), 300);
  };
  if (search) { const box = document.getElementById("project-search"); box.focus(); box.setSelectionRange(search.length, search.length); }
}

async function renderProject(id) {
  const ticket = routing;
  const project = await api("GET", `/projects/${id}`);
  if (stale(ticket)) return;
  const view = { sort: "severity", severity: "", fixable: false, open: new Set() };
  const epss = f => (f.epss ? f.epss.score : -1);
  const orders = {
    severity: (a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || (b.kev - a.kev) || epss(b) - epss(a) || a.package.localeCompare(b.package),
    exploit: (a, b) => (b.kev - a.kev) || epss(b) - epss(a) || SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity),
    package: (a, b) => a.package.localeCompare(b.package) || a.id.localeCompare(b.id),
  };
  const details = (f, index) => `
    <tr class="details" id="details-${index}"><td colspan="7">
      <dl class="finding-details">
        <dt>Summary</dt><dd>${esc(f.summary || "no summary in the advisories")}</dd>
        <dt>Aliases</dt><dd>${[f.id, ...f.aliases].map(advisoryLink).join(", ")}</dd>
        <dt>Severity</dt><dd>${esc(f.severity)} <span class="muted">rated by ${esc(f.severity_source === "none" ? "no source" : f.severity_source)}</span></dd>
        <dt>CVSS</dt><dd>${f.cvss_score != null ? `${esc(f.cvss_score)} <code>${esc(f.cvss_vector || "")}</code> <span class="muted">(${esc(f.cvss_source || "")})</span>` : "none"}</dd>
        <dt>Exploitation</dt><dd>${f.kev ? `known exploited (CISA KEV since ${esc(f.kev_date_added)})` : "not in CISA KEV"}${f.epss ? `; EPSS ${(f.epss.score * 100).toFixed(2)}% (percentile ${(f.epss.percentile * 100).toFixed(1)})` : ""}</dd>
        <dt>Fix</dt><dd>${esc(fixText(f))}${f.fix_advisory ? ` <span class="muted">(${esc(f.fix_advisory)})</span>` : ""}</dd>
        <dt>Found in</dt><dd><code>${esc(f.path)}</code>${f.layer ? ` <span class="muted">layer ${esc(f.layer.slice(0, 19))}…</span>` : ""}</dd>
        <dt>Advisories</dt><dd class="muted">${esc(f.advisories.join(", "))}</dd>
        <dt>Ignored</dt><dd>${f.ignored ? `${esc(f.ignored.reason)}${f.ignored.expires ? ` (until ${esc(f.ignored.expires)})` : ""}` : "no"}</dd>
      </dl>
      ${f.ignored ? "" : `<form class="ignore-form" data-id="${esc(f.id)}" data-package="${esc(f.package)}">
        <div><label for="reason-${index}">Ignore: reason</label><input id="reason-${index}" type="text" class="ignore-reason" required maxlength="2000"></div>
        <div><label for="expires-${index}">until (optional)</label><input id="expires-${index}" type="date" class="ignore-expires"></div>
        <button type="submit" class="secondary">Ignore in this project</button>
        <span class="error ignore-error" role="alert"></span></form>`}
    </td></tr>`;
  const draw = () => {
    let findings = project.findings.slice();
    if (view.severity) findings = findings.filter(f => f.severity === view.severity);
    if (view.fixable) findings = findings.filter(f => f.fixed_version);
    if (view.status) findings = findings.filter(f => f.status === view.status);
    findings.sort(orders[view.sort]);
    document.querySelectorAll("th[data-sort]").forEach(th => th.setAttribute("aria-sort", th.dataset.sort === view.sort ? "descending" : "none"));
    document.getElementById("findings").innerHTML = findings.map((f, index) => `
      <tr class="finding${f.ignored ? " ignored" : ""}" data-key="${esc(f.id)}|${esc(f.package)}">
        <td><button class="link toggle" aria-expanded="${view.open.has(`${f.id}|${f.package}`)}" aria-controls="details-${index}">${esc(f.id)}</button>
          ${f.ignored ? '<span class="muted">ignored</span>' : ""}</td>
        <td><span class="sev ${esc(f.severity)}">${esc(f.severity)}</span>
          ${f.cvss_score != null ? `<span class="muted">${esc(f.cvss_score)}</span>` : ""}
          <span class="muted source">${esc(f.severity_source === "none" ? "" : f.severity_source)}</span></td>
        <td class="exploit">${exploitText(f)}</td>
        <td>${esc(f.package)}</td><td>${esc(f.installed_version)}</td>
        <td>${f.fixed_version ? esc(f.fixed_version) : `<span class="muted nofix">${esc(STATUS_TEXT[f.status] || f.status)}</span>`}</td>
        <td class="muted">${f.from_base === true ? "base image · " : f.from_base === false ? "own layers · " : ""}${esc(f.origin === "os" ? "OS package" : f.path)}</td></tr>
      ${view.open.has(`${f.id}|${f.package}`) ? details(f, index) : ""}`).join("")
      || '<tr><td colspan="7" class="muted">No findings.</td></tr>';
    document.querySelectorAll("button.toggle").forEach(b => b.onclick = () => {
      const key = b.closest("tr").dataset.key;
      if (view.open.has(key)) view.open.delete(key); else view.open.add(key);
      draw();
    });
    document.querySelectorAll("form.ignore-form").forEach(form => form.onsubmit = async event => {
      event.preventDefault();
      const expires = form.querySelector(".ignore-expires").value;
      try {
        await api("POST", `/projects/${id}/ignores`, { vulnerability_id: form.dataset.id, package: form.dataset.package,
          reason: form.querySelector(".ignore-reason").value.trim(), ...(expires ? { expires_at: expires } : {}) });
        await renderProject(id);
      } catch (error) { form.querySelector(".ignore-error").textContent = error.message; }
    });
  };
  const counts = project.issue_counts || {};
  main().innerHTML = `
    <h1>${esc(project.repository)}:${esc(project.tag)} <span class="muted">${esc(project.platform)}</span></h1>
    <div class="card">
      <div class="muted">${esc(project.digest || "")}</div>
      <div>OS: ${esc(project.os || "unknown")} · packages: ${esc(project.package_count)} · last tested: <span id="last-tested">${esc(localTime(project.last_tested_at) || "never")}</span>${failedBadge(project)}</div>
      ${project.last_test?.status === "failed" ? `<div class="error" role="alert">The last test failed at ${esc(localTime(project.last_test.at))}: ${esc(project.last_test.error || "no reason given")}. The findings below are from the last test that succeeded.</div>` : ""}
      <div class="mt-6 counts">${LEVELS.issues.map(s => countBadge(s, counts[s] || 0)).join(" ")}
        <span class="muted">· ${counts.negligible || 0} negligible · ${counts.unknown || 0} unrated · ${project.ignored_count || 0} ignored · ${project.findings.length} total · ${counts.fixable || 0} with a fix</span></div>
      <div class="mt-12 toolbar">
        <div><label for="frequency">Test frequency</label>
          <select id="frequency"><option>daily</option><option>weekly</option><option>never</option></select></div>
        <button id="test-now" class="secondary">Test now</button>
        <div class="exports" role="group" aria-label="Export the latest test">Export:
          ${["cyclonedx", "sarif", "json", "csv"].map(f => `<button class="secondary export" data-format="${f}">${{ cyclonedx: "CycloneDX", sarif: "SARIF", json: "JSON", csv: "CSV" }[f]}</button>`).join(" ")}</div>
        <span id="project-message" class="notice" role="status" aria-live="polite"></span>
      </div>
    </div>
    <h2>Vulnerabilities (${project.findings.length})</h2>
    <div class="toolbar">
      <div><label for="severity-filter">Severity</label><select id="severity-filter"><option value="">All</option>
        ${SEVERITIES.map(s => `<option>${s}</option>`).join("")}</select></div>
      <div><label for="status-filter">Fix</label><select id="status-filter"><option value="">All</option>
        ${Object.entries(STATUS_TEXT).map(([value, text]) => `<option value="${value}">${esc(text)}</option>`).join("")}</select></div>
      <div><label><input type="checkbox" id="fixable"> Fixable only</label></div>
    </div>
    <div class="card"><table>
      <thead><tr><th scope="col">ID</th>
        <th scope="col" data-sort="severity"><button class="sort" id="sort-severity">Severity</button></th>
        <th scope="col" data-sort="exploit"><button class="sort" id="sort-exploit">Exploitation</button></th>
        <th scope="col" data-sort="package"><button class="sort" id="sort-package">Package</button></th>
        <th scope="col">Installed</th><th scope="col">Fixed in</th><th scope="col">Introduced by</th></tr></thead>
      <tbody id="findings"></tbody></table></div>
    <h2>Base image</h2>
    <div class="card" id="base-image"><span class="muted">Loading…</span></div>
    <h2>Project settings</h2>
    <div class="card">
      <form id="dockerfile-form">
        <label for="dockerfile-text">Dockerfile the image is built from ${project.dockerfile_base ? `<span class="muted">(linked: base ${esc(project.dockerfile_base)})</span>` : ""}</label>
        <textarea id="dockerfile-text" rows="5" placeholder="FROM quay.io/myorg/python:3.11-slim" class="wide-640 mono"></textarea>
        <div class="mt-6 toolbar">
          <input type="file" id="dockerfile-file" aria-label="Upload a Dockerfile">
          <button type="submit" class="secondary">Link Dockerfile</button>
          ${project.dockerfile_base ? '<button type="button" id="unlink-dockerfile" class="secondary">Unlink</button>' : ""}
        </div>
        <div id="dockerfile-message" class="notice" role="status" aria-live="polite"></div>
      </form>
      <div class="toolbar">
        <button id="toggle-active" class="secondary">${project.active === false ? "Activate" : "Deactivate"}</button>
        <span class="muted">${project.active === false ? "Inactive: not re-tested and not notified." : "Active: re-tested on its schedule and when advisories change."}</span>
      </div>
      <div class="toolbar"><div><label for="project-mail">Mail me about this project</label>
        <select id="project-mail"><option value="">as on my Email page</option><option value="all">every new issue</option>
          <option value="critical_high">critical and high only</option><option value="none">no mail</option></select></div>
        <span id="project-mail-message" class="notice" role="status" aria-live="polite"></span></div>
      <div class="toolbar"><button id="delete-project" class="danger">Delete project</button>
        <span class="muted">Removes the project and its test history; the image stays in Quay.</span></div>
      <div id="settings-error" class="error" role="alert"></div>
    </div>`;
  const frequency = document.getElementById("frequency");
  frequency.value = project.test_frequency;
  frequency.onchange = async () => {
    await api("PATCH", `/projects/${id}`, { test_frequency: frequency.value });
    document.getElementById("project-message").textContent = `Tests: ${frequency.value}`;
  };
  document.getElementById("test-now").onclick = async () => {
    const button = document.getElementById("test-now");
    const before = project.last_tested_at;
    button.disabled = true;
    await api("POST", `/projects/${id}/test`);
    document.getElementById("project-message").textContent = "Test queued";
    const started = Date.now();
    const poll = async () => {  // refresh the page when the test is done
      if (!location.hash.startsWith(`#/project/${id}`)) return;
      const now = await api("GET", `/projects/${id}`);
      if (now.last_tested_at !== before) { await renderProject(id); document.getElementById("project-message").textContent = "Test done"; return; }
      if (Date.now() - started > 300_000) { button.disabled = false; return; }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 1000);
  };
  const projectMail = document.getElementById("project-mail");
  let mailTouched = false;  // the stored setting, once read, must not undo a choice made meanwhile
  api("GET", "/me/notifications").then(mine => { if (!mailTouched) projectMail.value = mine.projects[id] || ""; }).catch(() => {});
  projectMail.onchange = async () => {
    mailTouched = true;
    const chosen = projectMail.value;
    try {
      const mine = await api("GET", "/me/notifications");
      const projects = Object.fromEntries(Object.entries(mine.projects).filter(([key]) => key !== id));
      if (chosen) projects[id] = chosen;
      await api("PUT", "/me/notifications", { email: mine.email, level: mine.level, weekly_digest: mine.weekly_digest, projects });
      document.getElementById("project-mail-message").textContent = "Saved";
    } catch (error) { document.getElementById("settings-error").textContent = error.message; }
  };
  document.getElementById("toggle-active").onclick = async () => {
    try { await api("PATCH", `/projects/${id}`, { active: project.active === false }); await renderProject(id); }
    catch (error) { document.getElementById("settings-error").textContent = error.message; }
  };
  document.getElementById("delete-project").onclick = async () => {
    if (!window.confirm(`Delete ${project.repository}:${project.tag} and its test history?`)) return;
    try { await api("DELETE", `/projects/${id}`); location.hash = "#/projects"; }
    catch (error) { document.getElementById("settings-error").textContent = error.message; }
  };
  document.getElementById("dockerfile-file").onchange = async event => {
    const file = event.target.files[0];
    if (file) document.getElementById("dockerfile-text").value = await file.text();
  };
  document.getElementById("dockerfile-form").onsubmit = async event => {
    event.preventDefault();
    const message = document.getElementById("dockerfile-message");
    try {
      const linked = await api("PUT", `/projects/${id}/dockerfile`, { content: document.getElementById("dockerfile-text").value });
      message.className = "notice";
      message.textContent = `Linked: base ${linked.base} (line ${linked.from_line}); the project is being tested again.`;
    } catch (error) { message.className = "error"; message.textContent = error.message; }
  };
  const unlink = document.getElementById("unlink-dockerfile");
  if (unlink) unlink.onclick = async () => { await api("DELETE", `/projects/${id}/dockerfile`); await renderProject(id); };
  renderBaseImage(id, ticket);
  document.getElementById("severity-filter").onchange = e => { view.severity = e.target.value; draw(); };
  document.getElementById("fixable").onchange = e => { view.fixable = e.target.checked; draw(); };
  document.getElementById("status-filter").onchange = e => { view.status = e.target.value; draw(); };
  document.querySelectorAll("button.export").forEach(button => button.onclick = () => download(
    `/projects/${id}/export?format=${button.dataset.format}`, document.getElementById("project-message")));
  for (const order of ["severity", "exploit", "package"]) {
    document.getElementById(`sort-${order}`).onclick = () => { view.sort = order; draw(); };
  }
  draw();
}

// The project's base image and better tags, current vs each candidate, counts by severity.
async function renderBaseImage(id, ticket) {
  const box = document.getElementById("base-image");
  let data;
  try { data = await api("GET", `/projects/${id}/base-image`); }
  catch (error) { if (!stale(ticket)) box.innerHTML = `<span class="muted">${esc(error.message)}</span>`; return; }
  if (stale(ticket)) return;
  // Every row adds up to its total: the issue levels, then "other" (negligible and unrated).
  const levels = LEVELS.issues;
  const total = counts => LEVELS.levels.reduce((sum, l) => sum + (counts[l] || 0), 0);
  const row = (label, image, counts, note) => `<tr class="base-row"><th scope="row">${esc(label)}</th><td>${esc(image)}</td>
    ${levels.map(l => `<td>${countBadge(l, counts[l] || 0)}</td>`).join("")}
    <td>${total(counts) - levels.reduce((sum, l) => sum + (counts[l] || 0), 0)}</td><td>${total(counts)}</td>
    <td class="muted">${esc(note)}</td></tr>`;
  const base = data.base;
  box.innerHTML = `
    <div>Built on <strong>${esc(base.repository)}:${esc(base.tag)}</strong> <span class="muted">(detected by ${esc(base.detected_by)})</span>:
      of this image's ${data.findings.base + data.findings.own} open findings, ${data.findings.base} come from the base image's layers
      and ${data.findings.own} from its own. The table counts each tag of the base image on its own.</div>
    <table class="mt-8"><thead><tr><th scope="col"></th><th scope="col">Base image tag</th>
      ${levels.map(l => `<th scope="col">${l}</th>`).join("")}<th scope="col">other</th><th scope="col">total</th><th scope="col"></th></tr></thead><tbody>
      ${row("current", `${base.repository}:${base.tag}`, base.issue_counts, "")}
      ${data.recommendations.map(r => row(r.kind, `${r.repository}:${r.tag}`, r.issue_counts,
        `${r.fewer.critical + r.fewer.high} fewer critical/high`)).join("")}
    </tbody></table>
    ${data.recommendations.length ? "" : '<div class="muted">No tag of the base repository has fewer critical and high issues.</div>'}`;
}

async function renderIntegrations(message) {
  if (!state.admin) { location.hash = "#/projects"; return; }
  const data = await api("GET", "/integrations");
  main().innerHTML = `
    <h1>Integrations</h1>
    <div class="w-560 card">
      <h2>Connect Quay</h2>
      <form id="connect-form">
        <label for="quay-url">Registry URL</label><input id="quay-url" type="url" placeholder="https://quay.io" required>
        <label for="quay-username">Robot account</label><input id="quay-username" type="text" placeholder="myorg+scanner" required>
        <label for="quay-token">Robot token</label><input id="quay-token" type="password" autocomplete="off" required>
        <div class="mt-12"><button type="submit" id="connect">Connect</button></div>
        <div id="connect-error" class="error"></div>
        <div id="connect-result" class="notice">${esc(message || "")}</div>
      </form>
    </div>
    <div class="card"><table>
      <thead><tr><th>Registry</th><th>Robot</th><th>Status</th><th>Repositories</th><th></th></tr></thead>
      <tbody>${data.integrations.map(i => `<tr class="integration"><td>${esc(i.url)}</td><td>${esc(i.username)}</td>
        <td>${esc(i.status)}</td><td>${esc(i.repository_count)}</td>
        <td><button class="secondary retest" data-id="${esc(i.id)}">Test</button>
          <a href="#/sync/${esc(i.id)}">Sync</a></td></tr>`).join("")
        || '<tr><td colspan="5" class="muted">No registry connected yet.</td></tr>'}</tbody></table></div>`;
  document.getElementById("connect-form").onsubmit = async event => {
    event.preventDefault();
    const button = document.getElementById("connect");
    button.disabled = true;
    document.getElementById("connect-error").textContent = "";
    try {
      const created = await api("POST", "/integrations", {
        kind: "quay", url: document.getElementById("quay-url").value.trim(),
        username: document.getElementById("quay-username").value.trim(),
        token: document.getElementById("quay-token").value,
      });
      await renderIntegrations(`Connected: ${created.repository_count} repositories. Quay webhook URL (shown once): ${created.webhook_url}`);
    } catch (error) {
      document.getElementById("connect-error").textContent = error.message;
      button.disabled = false;
    }
  };
  document.querySelectorAll(".retest").forEach(b => b.onclick = async () => {
    try { await api("POST", `/integrations/${b.dataset.id}/test`); await renderIntegrations("Connection OK"); }
    catch (error) { await renderIntegrations(error.message); }
  });
}

async function renderImages() {
  let integrations = [];
  try { integrations = (await api("GET", "/integrations")).integrations; } catch { /* members: ids from projects */ }
  if (!integrations.length) {
    const projects = await api("GET", "/projects");
    const ids = [...new Set(projects.repositories.flatMap(g => g.projects.map(p => p.integration_id)))];
    integrations = ids.map(id => ({ id, url: id }));
  }
  if (!integrations.length) {
    main().innerHTML = `<h1>Add images</h1><div class="card muted">Connect a Quay registry first (Integrations).</div>`;
    return;
  }
  main().innerHTML = `
    <h1>Add images</h1>
    <div class="toolbar">
      <div><label for="integration">Registry</label><select id="integration">
        ${integrations.map(i => `<option value="${esc(i.id)}">${esc(i.url)}</option>`).join("")}</select></div>
      <div><label for="search">Search repositories</label><input id="search" type="text" placeholder="name"></div>
      <button id="add-selected" disabled>Add selected repositories</button>
    </div>
    <p id="index-state" class="muted"></p>
    <div class="card" id="repositories"><span class="muted">Loading…</span></div>
    <div id="images-error" class="error"></div>`;
  const selected = new Map();
  let cursor = null;
  const update = () => { document.getElementById("add-selected").disabled = selected.size === 0; };
  const load = async (append) => {
    const integration = document.getElementById("integration").value;
    const search = document.getElementById("search").value.trim();
    const query = new URLSearchParams({ ...(search ? { search } : {}), ...(append && cursor ? { cursor } : {}) });
    const page = await api("GET", `/integrations/${integration}/images?${query}`);
    cursor = page.next_cursor;
    document.getElementById("index-state").innerHTML = (page.synced_at
      ? `Listed from the registry index of ${esc(localTime(page.synced_at))}`
      : "Listed live from the registry (no sync has run yet)")
      + ' · <button id="refresh-index" class="secondary" type="button">Refresh</button>';
    document.getElementById("refresh-index").onclick = () => refreshIndex(integration, () => load(false));
    const html = page.repositories.map(r => `
      <div class="repository" data-name="${esc(r.name)}">
        <label><input type="checkbox" class="repo-check" data-repo="${esc(r.name)}"> <span class="repo">${esc(r.name)}</span>
          <span class="muted">${r.tags.length} tags</span></label>
        <div class="tags">${r.tags.map(t => `<label><input type="checkbox" class="tag-check" data-repo="${esc(r.name)}" data-tag="${esc(t.name)}"> ${esc(t.name)}</label>`).join("")}</div>
      </div>`).join("") || '<span class="muted">No repositories match.</span>';
    const box = document.getElementById("repositories");
    box.innerHTML = (append ? box.innerHTML : "") + html + (cursor ? '<button id="more" class="secondary">More</button>' : "");
    if (cursor) document.getElementById("more").onclick = () => { document.getElementById("more").remove(); load(true); };
    box.querySelectorAll(".repo-check").forEach(c => c.onchange = () => {
      const key = c.dataset.repo;
      if (c.checked) selected.set(key, { repository: key }); else selected.delete(key);
      box.querySelectorAll(`.tag-check[data-repo="${CSS.escape(key)}"]`).forEach(t => { t.checked = false; t.disabled = c.checked; });
      update();
    });
    box.querySelectorAll(".tag-check").forEach(c => c.onchange = () => {
      const key = `${c.dataset.repo}:${c.dataset.tag}`;
      if (c.checked) selected.set(key, { repository: c.dataset.repo, tag: c.dataset.tag }); else selected.delete(key);
      update();
    });
  };
  let timer = null;
  document.getElementById("search").oninput = () => { clearTimeout(timer); timer = setTimeout(() => load(false), 250); };
  document.getElementById("integration").onchange = () => { selected.clear(); update(); load(false); };
  document.getElementById("add-selected").onclick = async () => {
    try {
      const started = await api("POST", "/imports", {
        integration_id: document.getElementById("integration").value, images: [...selected.values()] });
      trackImport(started.id);
      location.hash = "#/projects";
    } catch (error) { document.getElementById("images-error").textContent = error.message; }
  };
  await load(false);
}

// ------------------------------------------------------------------ registry sync
// Rules are edited one a line as the CLI takes them: repository=RE2 tag=RE2 newest=N max_age_days=D.
function ruleLine(rule) {
  return ["repository", "tag", "newest", "max_age_days"].filter(k => rule[k] !== undefined && rule[k] !== null)
    .map(k => `${k}=${rule[k]}`).join(" ");
}

function parseRules(text) {
  return text.split("\n").map(line => line.trim()).filter(Boolean).map(line => {
    const rule = {};
    for (const word of line.split(/\s+/)) {
      const at = word.indexOf("=");
      const key = word.slice(0, at), value = word.slice(at + 1);
      if (at < 1 || !["repository", "tag", "newest", "max_age_days"].includes(key)) {
        throw new Error(`"${word}": a rule is repository=, tag=, newest=, max_age_days=`);
      }
      rule[key] = key === "newest" || key === "max_age_days" ? Number(value) : value;
    }
    return rule;
  });
}

async function renderSync(integration, message) {
  if (!state.admin) { location.hash = "#/projects"; return; }
  const ticket = routing;
  const [policy, last] = await Promise.all([api("GET", `/integrations/${integration}/sync-policy`),
    api("GET", `/integrations/${integration}/sync`).catch(() => null)]);
  if (stale(ticket)) return;
  const plan = last ? [...last.to_import.map(e => ["import", e.repository, e.tag]),
                       ...last.to_remove.map(e => ["remove", e.repository, e.tag])] : [];
  main().innerHTML = `
    <h1>Registry sync</h1>
    <p class="muted">quaywatch follows the registry by itself: each sync lists it, imports the tags the rules want and
      (if asked) removes the projects a sync made whose tag is gone or no longer wanted.</p>
    <div class="w-560 card">
      <h2>Policy</h2>
      <form id="policy-form">
        <label><input type="checkbox" id="policy-enabled" ${policy.enabled ? "checked" : ""}> Sync on schedule</label>
        <label for="policy-frequency">Every (hours, at least 2)</label>
        <input id="policy-frequency" type="text" inputmode="numeric" value="${esc(policy.frequency_hours)}">
        <label><input type="checkbox" id="policy-remove" ${policy.remove_missing ? "checked" : ""}> Remove projects whose tag is gone or no longer wanted</label>
        <label for="policy-rules">Rules, one a line: repository=RE2 tag=RE2 newest=N max_age_days=D</label>
        <textarea id="policy-rules" rows="4" class="wide-460 mono">${esc(policy.rules.map(ruleLine).join("\n"))}</textarea>
        <div class="mt-12"><button type="submit">Save policy</button>
          <button type="button" class="secondary" id="sync-dry">Dry run</button>
          <button type="button" class="secondary" id="sync-now">Sync now</button></div>
        <div id="sync-error" class="error"></div>
        <div class="notice">${esc(message || "")}</div>
      </form>
    </div>
    <div class="card"><h2>Last sync</h2>${last ? `
      <p>${esc(last.dry_run ? "Dry run" : "Sync")} ${esc(last.status)} · started ${esc(localTime(last.started_at))}
        · ${esc(last.repositories_done)} of ${esc(last.repositories)} repositories · ${esc(last.tags)} tags
        ${last.throttled ? ` · ${esc(last.throttled)} rate-limited answers` : ""}
        ${last.error ? `<span class="error">${esc(last.error)}</span>` : ""}</p>
      <table><thead><tr><th>Action</th><th>Repository</th><th>Tag</th></tr></thead><tbody>
        ${plan.slice(0, 200).map(([action, repository, tag]) => `<tr><td>${esc(action)}</td><td>${esc(repository)}</td><td>${esc(tag)}</td></tr>`).join("")
          || '<tr><td colspan="3" class="muted">Nothing to import or remove.</td></tr>'}</tbody></table>
      ${plan.length > 200 ? `<p class="muted">and ${plan.length - 200} more (quaywatch sync show)</p>` : ""}` : '<p class="muted">No sync has run yet.</p>'}</div>`;
  const error = text => { document.getElementById("sync-error").textContent = text; };
  document.getElementById("policy-form").onsubmit = async event => {
    event.preventDefault();
    try {
      await api("PUT", `/integrations/${integration}/sync-policy`, {
        enabled: document.getElementById("policy-enabled").checked,
        frequency_hours: Number(document.getElementById("policy-frequency").value),
        remove_missing: document.getElementById("policy-remove").checked,
        rules: parseRules(document.getElementById("policy-rules").value) });
      await renderSync(integration, "Policy saved");
    } catch (failure) { error(failure.message); }
  };
  const run = dryRun => async () => {
    try {
      const started = await api("POST", `/integrations/${integration}/sync`, { dry_run: dryRun });
      for (;;) {
        const now = await api("GET", `/integrations/${integration}/sync`);
        if (now.id === started.id && now.status !== "running") break;
        await new Promise(resolve => setTimeout(resolve, 1000));
      }
      await renderSync(integration, dryRun ? "Dry run finished" : "Sync finished");
    } catch (failure) { error(failure.message); }
  };
  document.getElementById("sync-dry").onclick = run(true);
  document.getElementById("sync-now").onclick = run(false);
}

// A dry-run sync brings the integration's index up to date (it imports and removes nothing).
async function refreshIndex(integration, then) {
  const button = document.getElementById("refresh-index");
  button.disabled = true;
  button.textContent = "Refreshing…";
  try {
    const started = await api("POST", `/integrations/${integration}/sync`, { dry_run: true });
    for (;;) {
      const last = await api("GET", `/integrations/${integration}/sync`);
      if (last.id === started.id && last.status !== "running") {
        if (last.status === "failed") throw new Error(last.error || "the sync failed");
        break;
      }
      button.textContent = `Refreshing… ${last.repositories_done || 0} of ${last.repositories || "?"}`;
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    await then();
  } catch (error) {
    document.getElementById("images-error").textContent = error.message;
    button.disabled = false;
    button.textContent = "Refresh";
  }
}

// ------------------------------------------------------------------ advisories
function freshnessLine(status) {
  if (!status.published_at) return `<span class="error">No advisories are loaded yet: nothing can be matched.</span>`;
  const failing = status.feeds.filter(f => f.last_result === "failed").length;
  const stale = status.feeds.filter(f => f.stale).length;
  const warnings = [failing ? `${failing} feed${failing > 1 ? "s" : ""} failing` : "",
                    stale ? `${stale} not updated for 2 days` : ""].filter(Boolean).join(", ");
  return `Advisories updated ${esc(localTime(status.published_at))}, checked ${esc(localTime(status.checked_at))}`
    + (warnings ? ` · <span class="error">${esc(warnings)}</span>` : "");
}

async function renderAdvisories() {
  const ticket = routing;
  const status = await api("GET", "/advisories/status");
  if (stale(ticket)) return;
  main().innerHTML = `
    <h1>Advisory feeds</h1>
    <p id="freshness">${freshnessLine(status)}</p>
    <div class="card"><table>
      <caption class="left muted">Each feed: its last result, when its content last changed and when it was last checked</caption>
      <thead><tr><th scope="col">Feed</th><th scope="col">Last result</th><th scope="col">Changed</th>
        <th scope="col">Checked</th><th scope="col">Problem</th></tr></thead>
      <tbody>${status.feeds.map(f => `<tr class="feed"><td>${esc(f.name)}</td><td>${esc(f.last_result)}</td>
        <td class="muted">${esc(localTime(f.changed_at))}</td><td class="muted">${esc(localTime(f.checked_at))}</td>
        <td class="error">${esc(f.error || (f.stale ? "not updated for 2 days" : ""))}</td></tr>`).join("")
        || '<tr><td colspan="5" class="muted">No feed has been read yet.</td></tr>'}</tbody></table></div>
    <div class="card"><table>
      <caption class="left muted">What the store holds: advisories per ecosystem, ratings per source, exploit signals</caption>
      <thead><tr><th scope="col">Source</th><th scope="col">Records</th><th scope="col">Newest modified</th></tr></thead>
      <tbody>${status.contents.map(c => `<tr class="content"><td>${esc(c.name)}</td><td>${esc(c.records)}</td>
        <td class="muted">${esc(c.newest_modified ? localTime(c.newest_modified) : "")}</td></tr>`).join("")}</tbody></table></div>`;
}

async function renderImports(id) {
  const ticket = routing;
  if (!id) {
    const history = await api("GET", "/imports?limit=50");
    if (stale(ticket)) return;
    main().innerHTML = `
      <h1>Import log</h1>
      <div class="card"><table><thead><tr><th scope="col">Started</th><th scope="col">By</th><th scope="col">Images</th>
        <th scope="col">Result</th><th scope="col">Status</th></tr></thead>
        <tbody>${history.imports.map(i => `<tr class="import-entry"><td><a href="#/imports/${esc(i.id)}">${esc(localTime(i.created_at))}</a></td>
          <td class="muted">${esc(i.created_by ? "a user" : i.source === "webhook" ? "Quay webhook" : "")}</td>
          <td>${esc(i.images.join(", "))}${i.total > i.images.length ? ` <span class="muted">and ${i.total - i.images.length} more</span>` : ""}</td>
          <td>${i.succeeded} succeeded, ${i.failed} failed of ${i.total}</td><td>${esc(i.status)}</td></tr>`).join("")
          || '<tr><td colspan="5" class="muted">No import yet.</td></tr>'}</tbody></table></div>`;
    return;
  }
  const [status, log] = await Promise.all([api("GET", `/imports/${id}`), api("GET", `/imports/${id}/log`)]);
  if (stale(ticket)) return;
  main().innerHTML = `
    <h1>Import log</h1>
    <p><a href="#/imports">All imports</a></p>
    <div class="card">${esc(status.status)}: ${status.succeeded} succeeded, ${status.failed} failed of ${status.total}
      <span class="muted">(started ${esc(localTime(status.created_at))})</span></div>
    <div class="card"><table><thead><tr><th scope="col">Image</th><th scope="col">Status</th><th scope="col">Project</th>
      <th scope="col">Reason</th><th scope="col">At</th></tr></thead>
      <tbody>${log.entries.map(e => `<tr class="log-entry"><td>${esc(e.image)}</td><td>${esc(e.status)}</td>
        <td>${e.project_id ? `<a href="#/project/${esc(e.project_id)}">open</a>` : ""}</td>
        <td class="error">${esc(e.error || "")}</td><td class="muted">${esc(localTime(e.at))}</td></tr>`).join("")}</tbody></table></div>`;
  if (status.status !== "completed") {  // follow a running import until it is done
    setTimeout(() => { if (location.hash === `#/imports/${id}`) renderImports(id).catch(() => {}); }, 1000);
  }
}

async function renderOrganisation(message) {
  if (!state.admin) { location.hash = "#/projects"; return; }
  const ticket = routing;
  const [channels, policy, integrations, baseSources, members] = await Promise.all([
    api("GET", "/organisation/channels"), api("GET", "/organisation/notification-policy"), api("GET", "/integrations"),
    api("GET", "/organisation/base-images"), api("GET", "/organisation/members")]);
  const baseRepositories = Object.fromEntries(baseSources.sources.map(s => [s.integration_id, s.repositories]));
  if (stale(ticket)) return;
  main().innerHTML = `
    <h1>Organisation</h1>
    <div id="organisation-message" class="notice" role="status" aria-live="polite">${esc(message || "")}</div>
    <div class="card"><h2>Notification policy</h2>
      <form id="policy-form">
        <label for="min-severity">Notify new findings of at least</label>
        <select id="min-severity"><option value="">any severity</option>${LEVELS.rated.map(s => `<option value="${s}">${s}</option>`).join("")}</select>
        <div><label><input type="checkbox" id="kev-only"> Known exploited only (CISA KEV)</label></div>
        <div><label><input type="checkbox" id="fixable-only"> Fixable only</label></div>
        <div class="mt-8"><button type="submit">Save policy</button></div>
      </form></div>
    <div class="card"><h2>Notification channels</h2>
      <form id="channels-form">
        <label for="channel-urls">Webhook or Slack URLs (https) and email addresses, one per line</label>
        <textarea id="channel-urls" rows="3" class="wide-460">${esc(channels.channels.map(c => c.url || c.to).join("\n"))}</textarea>
        <div class="mt-8"><button type="submit">Save channels</button></div>
      </form></div>
    <div class="card"><h2>Base image sources</h2>
      <p class="muted">Repositories your images are built on: quaywatch detects them as base images and proposes better tags from them.</p>
      <form id="base-form">
        ${integrations.integrations.map(i => `<label for="base-${esc(i.id)}">${esc(i.url)}: repositories, one per line</label>
          <textarea id="base-${esc(i.id)}" class="wide-460 base-repositories" data-id="${esc(i.id)}" rows="2"
            placeholder="myorg/python">${esc((baseRepositories[i.id] || []).join("\n"))}</textarea>`).join("")
          || '<div class="muted">Connect a registry first.</div>'}
        <div class="mt-8"><button type="submit">Save base image sources</button></div>
      </form></div>
    <div class="card"><h2>API tokens</h2>
      <div class="toolbar"><div><label for="token-role">Role</label><select id="token-role"><option>member</option><option>admin</option></select></div>
        <div><label for="token-email">Their email (optional)</label><input id="token-email" type="email" placeholder="ann@example.com"></div>
        <button id="create-token" class="secondary">Create a token for a new team member</button></div>
      <div id="new-token" class="notice"></div></div>
    <div class="card"><h2>Members' mail</h2>
      <table id="members"><thead><tr><th scope="col">Address</th><th scope="col">Role</th><th scope="col">New issues</th>
        <th scope="col">Weekly digest</th><th scope="col">Per-project settings</th></tr></thead><tbody>
      ${members.members.filter(m => m.email).map(m => `<tr><td>${esc(m.email)}</td><td>${esc(m.role)}</td><td>${esc(MAIL_TEXT[m.level])}</td>
        <td>${m.weekly_digest ? "yes" : "no"}</td><td>${Object.keys(m.projects).length}</td></tr>`).join("")
        || '<tr><td colspan="5" class="muted">No member has given an address yet (each sets theirs on the Email page).</td></tr>'}</tbody></table>
      <div class="toolbar mt-8"><button id="send-digest" class="secondary">Send the weekly digest now</button>
        <span id="digest-message" class="notice" role="status" aria-live="polite"></span></div></div>
    <div class="card"><h2>Quay webhook URLs</h2>
      <table><thead><tr><th scope="col">Registry</th><th scope="col"></th></tr></thead><tbody>
      ${integrations.integrations.map(i => `<tr><td>${esc(i.url)} <span class="muted">${esc(i.username)}</span></td>
        <td><button class="secondary rotate" data-id="${esc(i.id)}">Rotate webhook URL</button></td></tr>`).join("")
        || '<tr><td colspan="2" class="muted">No registry connected yet.</td></tr>'}</tbody></table>
      <div id="webhook-url" class="notice"></div></div>
    <div id="organisation-error" class="error" role="alert"></div>`;
  document.getElementById("min-severity").value = policy.min_severity || "";
  document.getElementById("kev-only").checked = policy.known_exploited_only;
  document.getElementById("fixable-only").checked = policy.fixable_only;
  const failed = error => { document.getElementById("organisation-error").textContent = error.message; };
  document.getElementById("policy-form").onsubmit = async event => {
    event.preventDefault();
    try {
      await api("PUT", "/organisation/notification-policy", { min_severity: document.getElementById("min-severity").value || null,
        known_exploited_only: document.getElementById("kev-only").checked, fixable_only: document.getElementById("fixable-only").checked });
      await renderOrganisation("Notification policy saved");
    } catch (error) { failed(error); }
  };
  document.getElementById("channels-form").onsubmit = async event => {
    event.preventDefault();
    const urls = document.getElementById("channel-urls").value.split("\n").map(u => u.trim()).filter(Boolean);
    try {
      await api("PUT", "/organisation/channels", { channels: urls.map(url => /^https?:\/\//.test(url)
        ? { type: url.includes("hooks.slack.com") ? "slack" : "webhook", url } : { type: "email", to: url }) });
      await renderOrganisation("Channels saved");
    } catch (error) { failed(error); }
  };
  document.getElementById("base-form").onsubmit = async event => {
    event.preventDefault();
    const sources = [...document.querySelectorAll("textarea.base-repositories")]
      .map(t => ({ integration_id: t.dataset.id, repositories: t.value.split("\n").map(r => r.trim()).filter(Boolean) }))
      .filter(source => source.repositories.length);
    try { await api("PUT", "/organisation/base-images", { sources }); await renderOrganisation("Base image sources saved"); }
    catch (error) { failed(error); }
  };
  document.getElementById("create-token").onclick = async () => {
    try {
      const email = document.getElementById("token-email").value.trim();
      const created = await api("POST", "/tokens", { role: document.getElementById("token-role").value, ...(email ? { email } : {}) });
      document.getElementById("new-token").textContent = `New ${created.role} token (shown once; hand it over now): ${created.token}`;
    } catch (error) { failed(error); }
  };
  document.getElementById("send-digest").onclick = async () => {
    try {
      const sent = await api("POST", "/organisation/digest");
      document.getElementById("digest-message").textContent = `Digest sent to ${sent.sent} member(s)`;
    } catch (error) { failed(error); }
  };
  document.querySelectorAll("button.rotate").forEach(b => b.onclick = async () => {
    try {
      const rotated = await api("POST", `/integrations/${b.dataset.id}/webhook-token`);
      document.getElementById("webhook-url").textContent = `New webhook URL (shown once; the old one stops working): ${rotated.webhook_url}`;
    } catch (error) { failed(error); }
  });
}

// ------------------------------------------------------------------ email (every member: their own mail)
const MAIL_TEXT = { all: "every new issue", critical_high: "critical and high only", none: "no mail" };

async function renderEmail(message) {
  const ticket = routing;
  const mine = await api("GET", "/me/notifications");
  if (stale(ticket)) return;
  const overrides = Object.entries(mine.projects);
  main().innerHTML = `
    <h1>Email</h1>
    ${mine.mail_configured ? "" : '<div class="card notice">This server sends no mail yet (its operator starts it with --smtp-url); your choices are kept for when it does.</div>'}
    <div class="w-560 card">
      <form id="email-form">
        <label for="email-address">Your address</label>
        <input id="email-address" type="email" placeholder="you@example.com" value="${esc(mine.email || "")}">
        <label for="email-level">Mail me when a test finds new issues</label>
        <select id="email-level">${Object.entries(MAIL_TEXT).map(([value, text]) => `<option value="${value}">${esc(text)}</option>`).join("")}</select>
        <div><label><input type="checkbox" id="email-digest" ${mine.weekly_digest ? "checked" : ""}> The weekly digest (Mondays): counts and their change, the most urgent fixes, failed tests</label></div>
        <div class="mt-8"><button type="submit">Save</button></div>
        <div id="email-message" class="notice" role="status" aria-live="polite">${esc(message || "")}</div>
        <div id="email-error" class="error" role="alert"></div>
      </form>
    </div>
    <div class="card"><h2>Per-project settings</h2>
      <p class="muted">Set on a project's page ("Mail me about this project").</p>
      <table><tbody>${overrides.map(([project, level]) => `<tr><td><a href="#/project/${esc(project)}">${esc(project)}</a></td>
        <td>${esc(MAIL_TEXT[level])}</td><td><button class="secondary remove-override" data-id="${esc(project)}">Use my default</button></td></tr>`).join("")
        || '<tr><td class="muted">None: every project follows the setting above.</td></tr>'}</tbody></table></div>`;
  document.getElementById("email-level").value = mine.level;
  const save = async projects => {
    try {
      await api("PUT", "/me/notifications", { email: document.getElementById("email-address").value.trim() || null,
        level: document.getElementById("email-level").value, weekly_digest: document.getElementById("email-digest").checked, projects });
      await renderEmail("Saved");
    } catch (error) { document.getElementById("email-error").textContent = error.message; }
  };
  document.getElementById("email-form").onsubmit = event => { event.preventDefault(); save(mine.projects); };
  document.querySelectorAll("button.remove-override").forEach(b => b.onclick = () =>
    save(Object.fromEntries(overrides.filter(([project]) => project !== b.dataset.id))));
}

// ------------------------------------------------------------------ routing
async function route() {
  routing += 1;
  if (!state.token) { renderLogin(); return; }
  document.getElementById("nav").hidden = false;
  try { await loadLevels(); } catch { /* an expired token: the page's own request says so */ }
  const [, page, id] = (location.hash.split("?")[0] || "#/projects").split("/");
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.dataset.page === (page || "projects")));
  try {
    if (page === "project" && id) await renderProject(id);
    else if (page === "images") await renderImages();
    else if (page === "integrations") await renderIntegrations();
    else if (page === "sync" && id) await renderSync(id);
    else if (page === "imports") await renderImports(id);
    else if (page === "advisories") await renderAdvisories();
    else if (page === "organisation") await renderOrganisation();
    else if (page === "email") await renderEmail();
    else await renderProjects();
  } catch (error) {
    if (state.token) main().innerHTML = `<div class="card error">${esc(error.message)}</div>`;
  }
}

document.getElementById("logout").onclick = logout;
window.addEventListener("hashchange", route);
(async () => {
  if (state.token) { try { await detectRole(); } catch { /* handled by route */ } }
  await route();
  pollImport();
})();
