// quaywatch web console: a single page over the REST API (no build step).
// The API token lives in localStorage and is only ever sent as a bearer header; no secret is rendered.
"use strict";

const state = { token: localStorage.getItem("quaywatch.token"), admin: false };
const SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"];
const QUAY_ICON = '<svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true"><circle cx="8" cy="8" r="7" fill="#40b4e5"/><path d="M5 8a3 3 0 1 1 5.2 2l1.3 1.3" stroke="#fff" stroke-width="1.6" fill="none"/></svg>';

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
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

// ------------------------------------------------------------------ login
function renderLogin(message) {
  document.getElementById("nav").hidden = true;
  main().innerHTML = `
    <div class="card" style="max-width:520px">
      <h1>Log in</h1>
      <form id="login-form">
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="off" placeholder="qw_…" required>
        <div style="margin-top:12px"><button type="submit">Log in</button></div>
        <div id="login-error" class="error">${esc(message || "")}</div>
      </form>
      <p class="muted">The embedded server prints an admin token on its first start and keeps it in its data directory (admin-token).</p>
    </div>`;
  document.getElementById("login-form").onsubmit = async event => {
    event.preventDefault();
    state.token = document.getElementById("token").value.trim();
    try {
      await api("GET", "/projects");
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
    document.getElementById("import-bar").style.width = `${status.total ? (100 * done / status.total) : 0}%`;
    document.getElementById("import-text").textContent = status.status === "completed"
      ? `Import finished: ${status.succeeded} succeeded, ${status.failed} failed of ${status.total}`
      : `Importing ${done} / ${status.total}…`;
    document.getElementById("import-log-link").href = `#/imports/${id}`;
    if (status.status === "completed") {
      localStorage.removeItem("quaywatch.import");
      if (location.hash.startsWith("#/projects")) route();
      return;
    }
  } catch { banner.hidden = true; return; }
  clearTimeout(polling);
  polling = setTimeout(pollImport, 1000);
}

// ------------------------------------------------------------------ pages
async function renderProjects() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const origin = params.get("origin") || "";
  const data = await api("GET", `/projects${origin ? `?origin=${encodeURIComponent(origin)}` : ""}`);
  const rows = data.repositories.map(group => `
    <tr><td colspan="6" class="repo">${esc(group.name)}</td></tr>
    ${group.projects.map(p => `
      <tr class="project" data-id="${esc(p.id)}">
        <td style="padding-left:24px"><a href="#/project/${esc(p.id)}">${esc(group.name)}:${esc(p.tag)}</a>
          ${p.is_new ? '<span class="badge new">NEW</span>' : ""}</td>
        <td><span class="origin" title="Quay">${QUAY_ICON} Quay</span></td>
        <td class="muted">${esc(p.platform)}</td>
        <td>${["critical", "high", "medium", "low"].map(s => `<span class="sev ${s}" title="${s}">${p.issue_counts[s]}</span>`).join(" ")}
            <span class="muted">${p.finding_count ?? ""} total</span></td>
        <td class="muted">${esc(p.test_frequency)}</td>
        <td class="muted">${esc(p.last_tested_at || "")}</td>
      </tr>`).join("")}`).join("");
  main().innerHTML = `
    <h1>Projects</h1>
    <div class="toolbar">
      <div><label for="origin-filter">Origin</label>
        <select id="origin-filter"><option value="">All origins</option><option value="quay">Quay</option></select></div>
    </div>
    <div class="card"><table>
      <thead><tr><th>Image</th><th>Origin</th><th>Platform</th><th>Issues (C H M L)</th><th>Tests</th><th>Last tested</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="6" class="muted">No projects yet: add images.</td></tr>'}</tbody>
    </table></div>`;
  const filter = document.getElementById("origin-filter");
  filter.value = origin;
  filter.onchange = () => { location.hash = filter.value ? `#/projects?origin=${filter.value}` : "#/projects"; };
}

async function renderProject(id) {
  const project = await api("GET", `/projects/${id}`);
  const view = { sort: "severity", severity: "", fixable: false };
  const draw = () => {
    let findings = project.findings.slice();
    if (view.severity) findings = findings.filter(f => f.severity === view.severity);
    if (view.fixable) findings = findings.filter(f => f.fixed_version);
    findings.sort(view.sort === "severity"
      ? (a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.package.localeCompare(b.package)
      : (a, b) => a.package.localeCompare(b.package) || a.id.localeCompare(b.id));
    document.getElementById("findings").innerHTML = findings.map(f => `
      <tr class="finding"><td>${esc(f.id)}</td><td><span class="sev ${esc(f.severity)}">${esc(f.severity)}</span>
        ${f.cvss_score != null ? `<span class="muted">${esc(f.cvss_score)}</span>` : ""}</td>
        <td>${esc(f.package)}</td><td>${esc(f.installed_version)}</td>
        <td>${esc(f.fixed_version || f.status.replace(/_/g, " "))}</td>
        <td class="muted">${esc(f.origin === "os" ? "OS package" : f.path)}</td></tr>`).join("")
      || '<tr><td colspan="6" class="muted">No findings.</td></tr>';
  };
  main().innerHTML = `
    <h1>${esc(project.repository)}:${esc(project.tag)} <span class="muted">${esc(project.platform)}</span></h1>
    <div class="card">
      <div class="muted">${esc(project.digest || "")}</div>
      <div>OS: ${esc(project.os || "unknown")} · packages: ${esc(project.package_count)} · last tested: ${esc(project.last_tested_at || "never")}</div>
      <div class="toolbar" style="margin-top:12px">
        <div><label for="frequency">Test frequency</label>
          <select id="frequency"><option>daily</option><option>weekly</option><option>never</option></select></div>
        <button id="test-now" class="secondary">Test now</button>
        <span id="project-message" class="notice"></span>
      </div>
    </div>
    <h2>Vulnerabilities (${project.findings.length})</h2>
    <div class="toolbar">
      <div><label for="severity-filter">Severity</label><select id="severity-filter"><option value="">All</option>
        ${SEVERITIES.map(s => `<option>${s}</option>`).join("")}</select></div>
      <div><label><input type="checkbox" id="fixable"> Fixable only</label></div>
    </div>
    <div class="card"><table>
      <thead><tr><th>ID</th><th class="sortable" id="sort-severity">Severity ▾</th><th class="sortable" id="sort-package">Package</th>
        <th>Installed</th><th>Fixed in</th><th>Introduced by</th></tr></thead>
      <tbody id="findings"></tbody></table></div>`;
  const frequency = document.getElementById("frequency");
  frequency.value = project.test_frequency;
  frequency.onchange = async () => {
    await api("PATCH", `/projects/${id}`, { test_frequency: frequency.value });
    document.getElementById("project-message").textContent = `Tests: ${frequency.value}`;
  };
  document.getElementById("test-now").onclick = async () => {
    await api("POST", `/projects/${id}/test`);
    document.getElementById("project-message").textContent = "Test queued";
  };
  document.getElementById("severity-filter").onchange = e => { view.severity = e.target.value; draw(); };
  document.getElementById("fixable").onchange = e => { view.fixable = e.target.checked; draw(); };
  document.getElementById("sort-severity").onclick = () => { view.sort = "severity"; draw(); };
  document.getElementById("sort-package").onclick = () => { view.sort = "package"; draw(); };
  draw();
}

async function renderIntegrations(message) {
  if (!state.admin) { location.hash = "#/projects"; return; }
  const data = await api("GET", "/integrations");
  main().innerHTML = `
    <h1>Integrations</h1>
    <div class="card" style="max-width:560px">
      <h2>Connect Quay</h2>
      <form id="connect-form">
        <label for="quay-url">Registry URL</label><input id="quay-url" type="url" placeholder="https://quay.io" required>
        <label for="quay-username">Robot account</label><input id="quay-username" type="text" placeholder="myorg+scanner" required>
        <label for="quay-token">Robot token</label><input id="quay-token" type="password" autocomplete="off" required>
        <div style="margin-top:12px"><button type="submit" id="connect">Connect</button></div>
        <div id="connect-error" class="error"></div>
        <div id="connect-result" class="notice">${esc(message || "")}</div>
      </form>
    </div>
    <div class="card"><table>
      <thead><tr><th>Registry</th><th>Robot</th><th>Status</th><th>Repositories</th><th></th></tr></thead>
      <tbody>${data.integrations.map(i => `<tr class="integration"><td>${esc(i.url)}</td><td>${esc(i.username)}</td>
        <td>${esc(i.status)}</td><td>${esc(i.repository_count)}</td>
        <td><button class="secondary retest" data-id="${esc(i.id)}">Test</button></td></tr>`).join("")
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

async function renderImports(id) {
  id = id || localStorage.getItem("quaywatch.lastImport");
  if (!id) { main().innerHTML = `<h1>Import log</h1><div class="card muted">No import yet.</div>`; return; }
  const [status, log] = await Promise.all([api("GET", `/imports/${id}`), api("GET", `/imports/${id}/log`)]);
  main().innerHTML = `
    <h1>Import log</h1>
    <div class="card">${esc(status.status)}: ${status.succeeded} succeeded, ${status.failed} failed of ${status.total}
      <span class="muted">(started ${esc(status.created_at)})</span></div>
    <div class="card"><table><thead><tr><th>Image</th><th>Status</th><th>Project</th><th>Reason</th><th>At</th></tr></thead>
      <tbody>${log.entries.map(e => `<tr class="log-entry"><td>${esc(e.image)}</td><td>${esc(e.status)}</td>
        <td>${e.project_id ? `<a href="#/project/${esc(e.project_id)}">open</a>` : ""}</td>
        <td class="error">${esc(e.error || "")}</td><td class="muted">${esc(e.at)}</td></tr>`).join("")}</tbody></table></div>`;
}

// ------------------------------------------------------------------ routing
async function route() {
  if (!state.token) { renderLogin(); return; }
  document.getElementById("nav").hidden = false;
  const [, page, id] = (location.hash.split("?")[0] || "#/projects").split("/");
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.dataset.page === (page || "projects")));
  try {
    if (page === "project" && id) await renderProject(id);
    else if (page === "images") await renderImages();
    else if (page === "integrations") await renderIntegrations();
    else if (page === "imports") await renderImports(id);
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
