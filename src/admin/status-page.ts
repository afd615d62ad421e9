// The status page at / of the admin listener: plain HTML, CSS and JS served from here (no build
// step, nothing fetched from elsewhere; the CSP says so). It polls /status.json every few seconds.
export const STATUS_POLL_MS = 3000;

export const STATUS_CSP =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vmbridge status</title>
<link rel="stylesheet" href="/status.css">
<script src="/status.js" defer></script>
</head>
<body>
<header>
<h1>vmbridge <small id="version"></small></h1>
<p id="overall" role="status" aria-live="polite" class="state unknown">Loading…</p>
</header>
<main>
<section aria-labelledby="h-deps">
<h2 id="h-deps">Dependencies</h2>
<table id="deps"><caption class="sr">Each dependency, its state and detail</caption>
<thead><tr><th scope="col">Dependency</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead>
<tbody></tbody></table>
</section>
<section aria-labelledby="h-rates">
<h2 id="h-rates">Rates (per second, last minute)</h2>
<dl id="rates"></dl>
</section>
<section aria-labelledby="h-subs">
<h2 id="h-subs">Subscribers</h2>
<dl id="subscribers"></dl>
</section>
<section aria-labelledby="h-errors">
<h2 id="h-errors">Recent warnings and errors</h2>
<ol id="errors" reversed></ol>
<p id="no-errors" hidden>None since start.</p>
</section>
</main>
<footer><p>Updated <time id="updated">never</time> · refreshes every ${STATUS_POLL_MS / 1000} s · <a href="/readyz">/readyz</a> · <a href="/metrics">/metrics</a></p></footer>
</body>
</html>
`;

export const STATUS_CSS = `
:root { color-scheme: light dark; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; } h1 small { font-weight: normal; font-size: 1rem; }
h2 { font-size: 1.15rem; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #8888; vertical-align: top; overflow-wrap: break-word; }
dl { display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; }
dd { margin: 0; font-variant-numeric: tabular-nums; }
.state { font-weight: bold; }
.state::before { content: "● "; }
.ok { color: var(--ok); } .degraded, .unknown { color: var(--warn); } .failing, .not-ready, .draining, .stale { color: var(--bad); }
#overall { font-size: 1.2rem; }
ol { padding-left: 1.5rem; } li { margin-bottom: .5rem; overflow-wrap: anywhere; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
@media (max-width: 32rem) {
  thead { display: none; }
  tr { display: grid; grid-template-columns: 1fr auto; border-bottom: 1px solid #8888; }
  th, td { border: 0; }
  tr td:nth-child(3) { grid-column: 1 / -1; padding-top: 0; font-size: .9rem; overflow-wrap: anywhere; }
}
`;

export const STATUS_JS = `'use strict';
const POLL_MS = ${STATUS_POLL_MS};
const $ = id => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
const cls = s => String(s).replace(/\\s+/g, '-');
function fill(dl, obj) {
    dl.replaceChildren(...Object.entries(obj).flatMap(([k, v]) => [el('dt', k), el('dd', String(v))]));
}
function detail(dep) {
    return Object.entries(dep).filter(([k]) => k !== 'status' && k !== 'required')
        .map(([k, v]) => k + ': ' + (typeof v === 'object' && v !== null ? JSON.stringify(v) : v)).join(' · ');
}
function render(s) {
    $('version').textContent = 'v' + s.version;
    const h = s.health;
    $('overall').textContent = h.status + (h.failing ? ' — failing: ' + h.failing.join(', ') : '');
    $('overall').className = 'state ' + cls(h.status);
    const rows = Object.entries(h.dependencies || {}).map(([name, dep]) => {
        const tr = el('tr'); tr.dataset.dep = name;
        const th = el('th', name + (dep.required ? ' (required)' : '')); th.scope = 'row';
        tr.append(th, el('td', dep.status, 'state ' + cls(dep.status)), el('td', detail(dep)));
        return tr;
    });
    $('deps').tBodies[0].replaceChildren(...rows);
    fill($('rates'), s.ratesPerSecond);
    fill($('subscribers'), Object.keys(s.subscribers).length ? s.subscribers : { none: 0 });
    $('errors').replaceChildren(...s.recentErrors.map(e => el('li', e.at + ' ' + e.level + ': ' + e.msg + (e.code ? ' (' + e.code + ')' : '') + (e.detail ? ' — ' + e.detail : ''), e.level === 'warn' ? 'degraded' : 'failing')));
    $('no-errors').hidden = s.recentErrors.length > 0;
    const t = $('updated'); t.dateTime = s.now; t.textContent = new Date(s.now).toLocaleTimeString();
}
async function poll() {
    try {
        const r = await fetch('/status.json', { cache: 'no-store' });
        render(await r.json());
    } catch (err) {
        $('overall').textContent = 'status unavailable (' + err.message + ')';
        $('overall').className = 'state stale';
    }
    setTimeout(poll, POLL_MS);
}
poll();
`;
