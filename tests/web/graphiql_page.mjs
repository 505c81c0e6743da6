// Drives the BFF's GraphiQL page in headless Chromium (Debian's package; playwright-core
// from clients/node_modules, no browser download), as a developer would use it:
// NearbyChargers from its preloaded tab, then LiveSession with a driver token in the
// headers editor while a session started through the API charges.
//
// Env: BFF_URL, BFF_TOKEN (a driver token), CHROMIUM (executable), SCREENSHOT_DIR.
// Prints one JSON report on stdout; tests/web/test_graphiql_page.py asserts on it.
// Exits 1 (report on stdout with "error") on an unexpected failure.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../../clients/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const BASE = process.env.BFF_URL;
const TOKEN = process.env.BFF_TOKEN;
const SHOTS = process.env.SCREENSHOT_DIR;
const WARSAW = { latitude: 52.290056, longitude: 20.907028 };

const report = { requests: [], failed: [], badResponses: [], pageErrors: [], wsFrames: [],
                 wsInit: null, nearby: null, session: null, updates: [], screenshots: [] };

function deadline(seconds) {
  const end = Date.now() + seconds * 1000;
  return () => Date.now() > end;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
// On stderr, which the pytest test shows when it fails.
const trace = (...what) => console.error(`${((Date.now() - started) / 1000).toFixed(2)}s`, ...what);

// The editors are CodeMirror 5 instances; setting their value fires GraphiQL's onChange.
async function setEditor(page, selector, text) {
  await page.locator(selector).first().waitFor({ state: "attached", timeout: 10_000 });
  await page.evaluate(([sel, value]) => {
    document.querySelector(sel).CodeMirror.setValue(value);
  }, [selector, text]);
}

const QUERY = ".graphiql-query-editor .CodeMirror";
const VARIABLES = ".graphiql-editor-tool .graphiql-editor:nth-of-type(1) .CodeMirror";
const HEADERS = ".graphiql-editor-tool .graphiql-editor:nth-of-type(2) .CodeMirror";
const RESULT = ".result-window .CodeMirror";

async function result(page) {
  const text = await page.evaluate(
    (sel) => document.querySelector(sel)?.CodeMirror.getValue() ?? "", RESULT);
  try { return text ? JSON.parse(text) : null; } catch { return { unparsed: text }; }
}

async function openTab(page, name) {
  await page.locator(".graphiql-tab-button").getByText(name, { exact: true }).click();
  // GraphiQL runs what its query editor last parsed (debounced), so wait for that.
  await page.waitForFunction(
    ([sel, op]) => document.querySelector(sel)?.CodeMirror.operationName === op,
    [QUERY, name], { timeout: 5_000 });
}

async function run(page) {
  await page.locator(".graphiql-execute-button").click();
}

async function api(query, variables, operationName) {
  const r = await fetch(`${BASE}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables, operationName }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = await r.json();
  if (body.errors) throw new Error(`${operationName}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

// A working Plugsurfing connector from the result pane, AVAILABLE ones first.
function candidates(nearby) {
  const free = [];
  const busy = [];
  for (const { node } of nearby?.data?.chargers?.edges ?? []) {
    if (node.provider !== "PLUGSURFING" || !node.remoteStartStop) continue;
    for (const c of node.connectors) (c.status === "AVAILABLE" ? free : busy).push(c.id);
  }
  return [...free, ...busy];
}

async function startSession(documents, connectors) {
  const expired = deadline(15);
  while (!expired()) {
    for (const connectorId of connectors) {
      const data = await api(documents.StartSession, { input: { connectorId } }, "StartSession");
      if (data.startSession.__typename === "StartSessionSuccess") return data.startSession.session;
    }
    await sleep(500); // every connector cooling down after other tests: wait it out
  }
  throw new Error("no connector would start a session");
}

async function main() {
  const profile = mkdtempSync(join(tmpdir(), "bff-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 900 },
    timeout: 30_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  let session = null;
  let documents = {};
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    page.on("request", (r) => {
      report.requests.push(r.url());
      trace(r.method(), r.url());
    });
    page.on("requestfailed", (r) => report.failed.push(`${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => {
      if (r.status() >= 400) report.badResponses.push(`${r.status()} ${r.url()}`);
    });
    page.on("pageerror", (e) => report.pageErrors.push(String(e)));
    page.on("websocket", (ws) => {
      report.requests.push(ws.url());
      trace("websocket", ws.url());
      ws.on("framesent", (f) => {
        const msg = JSON.parse(f.payload);
        if (msg.type === "connection_init") report.wsInit = msg.payload;
        trace("ws >", f.payload.slice(0, 120));
      });
      ws.on("framereceived", (f) => {
        report.wsFrames.push(JSON.parse(f.payload));
        trace("ws <", f.payload.slice(0, 120));
      });
      ws.on("close", () => trace("ws closed"));
    });

    const response = await page.goto(`${BASE}/graphql`, { waitUntil: "load" });
    report.status = response.status();
    await page.locator(".graphiql-tab").first().waitFor();
    report.tabs = await page.locator(".graphiql-tab").allInnerTexts();
    report.initialHeaders = await page.evaluate(
      (sel) => document.querySelector(sel).CodeMirror.getValue(), HEADERS);
    const config = JSON.parse(await page.locator("#bff-graphiql-config").textContent());
    for (const tab of config.tabs) {
      const name = /(?:query|mutation|subscription)\s+(\w+)/.exec(tab.query)?.[1];
      if (name) documents[name] = tab.query;
    }

    // The map screen's query, from its tab, with the developer's token.
    await openTab(page, "NearbyChargers");
    await setEditor(page, VARIABLES, JSON.stringify({ near: WARSAW, radiusMeters: 500, first: 20 }));
    await setEditor(page, HEADERS, JSON.stringify({ Authorization: `Bearer ${TOKEN}` }));
    await run(page);
    trace("NearbyChargers run from its tab");
    const chargersShown = deadline(15);
    while (!report.nearby?.data && !chargersShown()) {
      await sleep(100);
      report.nearby = await result(page);
    }
    await page.screenshot({ path: join(SHOTS, "graphiql-nearby.png") });
    report.screenshots.push(join(SHOTS, "graphiql-nearby.png"));

    // A session started through the API, followed live in the page over the websocket.
    session = await startSession(documents, candidates(report.nearby));
    report.session = session;
    trace("session started through the API", session.id);
    await openTab(page, "LiveSession");
    await setEditor(page, VARIABLES, JSON.stringify({ id: session.id }));
    await setEditor(page, HEADERS, JSON.stringify({ Authorization: `Bearer ${TOKEN}` }));
    await run(page);
    const seen = new Set();
    const enough = deadline(20);
    while (!enough()) {
      const shown = await result(page);
      const s = shown?.data?.sessionUpdated;
      const update = s && { status: s.status, wattHours: s.energy?.wattHours ?? null,
                            updatedAt: s.updatedAt };
      if (update && !seen.has(JSON.stringify(update))) {
        seen.add(JSON.stringify(update));
        report.updates.push(update);
      } else if (shown?.errors) {
        report.updates.push({ errors: shown.errors });
        break;
      }
      const next = report.wsFrames.filter((m) => m.type === "next").length;
      const charged = report.updates.some((u) => u.status === "CHARGING" && u.wattHours > 0);
      if (report.updates.length >= 2 && next >= 2 && charged) break;
      await sleep(100);
    }
    await page.screenshot({ path: join(SHOTS, "graphiql-live-session.png") });
    report.screenshots.push(join(SHOTS, "graphiql-live-session.png"));
    await run(page); // the button now stops the subscription
  } finally {
    if (session) await api(documents.StopSession, { id: session.id }, "StopSession").catch(() => {});
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

try {
  await main();
  console.log(JSON.stringify(report));
} catch (err) {
  report.error = String(err?.stack ?? err);
  console.log(JSON.stringify(report));
  process.exitCode = 1;
}
