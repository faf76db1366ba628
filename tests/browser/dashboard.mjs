// The dashboard in a real browser. Starts trackdoc on a free loopback port with a temporary
// database, makes an API key and tracked links for two jobs, clicks them (people in a browser,
// and one mail scanner), then drives Debian's chromium (headless, through playwright-core): a
// wrong key is refused, the right one signs in, the overview shows the job with its human
// clicks, a Calendly booking made through the job's tracked link (a webhook signed here with the
// server's signing key) shows on the overview and on the job and link pages, the job page
// lists its links, the phone layout does not scroll sideways, every asset comes from trackdoc,
// and signing out ends the session. Screenshots (desktop and 390 px)
// go to a temporary folder, or to $TRACKDOC_SHOTS. Every process started here is stopped at
// the end, also on failure.
import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BIN = process.env.TRACKDOC_BIN || "build/asan/trackdoc";
const JOB = "5e1f0c2a-7b3d-4c8e-9a10-0000000000a1";
const QUIET_JOB = "9d2e4f60-1a2b-4c3d-8e9f-0000000000b2";
const BROWSER_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/126.0.0.0 Safari/537.36";
const SCANNER_UA = "Mozilla/5.0 (compatible; Proofpoint URL Defense)";
// A click this soon after its link was made counts as a scanner (the classifier's too-soon
// signal, 5 s by default): the people of this test click after it.
const TOO_SOON_MS = 5000;
// The Calendly webhook signing key the server is started with (TRACKDOC_CALENDLY_SIGNING_KEY).
const CALENDLY_KEY = "browser-calendly-signing-key-4Zp8";

let passed = 0;
let failed = 0;

function ok(name, cond, detail = "") {
  if (cond) {
    passed++;
    console.log(`ok - browser: ${name}`);
  } else {
    failed++;
    console.log(`not ok - browser: ${name}${detail ? ": " + String(detail).replace(/\n/g, " | ") : ""}`);
  }
  return cond;
}

function comment(text) {
  for (const line of String(text).split("\n")) console.log(`# ${line}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the server

function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("TRACKDOC_")) env[k] = v;
  env.ASAN_OPTIONS = env.ASAN_OPTIONS || "detect_leaks=1";
  return { ...env, ...extra };
}

function makeKey(db) {
  const r = spawnSync(BIN, ["apikey", "create", "--name", "browser-test", "--json", "--db", db], {
    env: childEnv(),
    encoding: "utf8",
    timeout: 60000,
  });
  if (r.status !== 0) throw new Error(`apikey create exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout).key;
}

// Starts `trackdoc serve` on port 0 and resolves with { proc, base, stderr() }.
function startServer(dir, db) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--db", db, "--trust-proxy"], {
      cwd: dir,
      env: childEnv({ TRACKDOC_CALENDLY_SIGNING_KEY: CALENDLY_KEY }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error("no listening line within 20 s: " + err)), 20000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+) /);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: m[1], stderr: () => err });
      }
    });
    proc.stderr.on("data", (d) => (err += d));
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`trackdoc serve exited with ${code} before listening: ${err.slice(-500)}`));
    });
  });
}

// Stops the server with SIGTERM (SIGKILL after 15 s); resolves with its exit code.
function stopServer(srv) {
  return new Promise((resolve) => {
    if (!srv || srv.proc.exitCode !== null) return resolve(srv ? srv.proc.exitCode : null);
    const kill = setTimeout(() => srv.proc.kill("SIGKILL"), 15000);
    srv.proc.removeAllListeners("exit");
    srv.proc.on("exit", (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    srv.proc.kill("SIGTERM");
  });
}

async function api(base, key, path, body) {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// Follows a tracked link as a client would; resolves with the status (302 expected).
async function click(base, id, ua, ip, extra = {}) {
  const res = await fetch(`${base}/track/${id}`, {
    redirect: "manual",
    headers: { "User-Agent": ua, "X-Forwarded-For": ip, ...extra },
  });
  return res.status;
}

// Delivers a Calendly invitee.created webhook for a booking made from the tracked link id,
// signed as Calendly signs it: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Resolves
// with { status, json }.
async function book(base, id) {
  const body = JSON.stringify({
    event: "invitee.created",
    created_at: new Date().toISOString(),
    created_by: "https://api.calendly.com/users/BROWSERUSER",
    payload: {
      uri: "https://api.calendly.com/scheduled_events/BROWSER1/invitees/BROWSERINV1",
      email: "rita.recruiter@example.com",
      name: "Rita Recruiter",
      status: "active",
      rescheduled: false,
      old_invitee: null,
      new_invitee: null,
      questions_and_answers: [],
      scheduled_event: {
        uri: "https://api.calendly.com/scheduled_events/BROWSER1",
        name: "30 Minute Interview",
        start_time: "2031-05-06T14:00:00.000000Z",
        end_time: "2031-05-06T14:30:00.000000Z",
        location: { type: "zoom" },
      },
      tracking: {
        utm_campaign: JOB,
        utm_source: "trackdoc",
        utm_medium: "calendly",
        utm_content: id,
        utm_term: null,
        salesforce_uuid: null,
      },
    },
  });
  const t = Math.floor(Date.now() / 1000);
  const mac = createHmac("sha256", CALENDLY_KEY).update(`${t}.${body}`).digest("hex");
  const res = await fetch(`${base}/webhooks/calendly`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Calendly-Webhook-Signature": `t=${t},v1=${mac}` },
    body,
  });
  let json = {};
  try {
    json = await res.json();
  } catch (e) {
    json = { unreadable: String(e) };
  }
  return { status: res.status, json };
}

// The value and the note of the figure card labelled label ("" when there is none).
async function card(page, label) {
  const c = page.locator(".kpi", { has: page.locator("p.label", { hasText: new RegExp(`^${label}$`) }) });
  if ((await c.count()) !== 1) return { value: "", note: "", count: await c.count() };
  return {
    value: (await c.locator("p.value").innerText()).trim(),
    note: (await c.locator("p.note").innerText()).trim(),
    count: 1,
  };
}

// ---- the browser checks

async function noSideScroll(page) {
  return page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
}

async function run(state) {
  const dir = mkdtempSync(join(tmpdir(), "trackdoc-browser-"));
  state.dir = dir;
  const db = join(dir, "trackdoc.db");
  const shots = process.env.TRACKDOC_SHOTS || join(dir, "screenshots");
  mkdirSync(shots, { recursive: true });

  const key = makeKey(db);
  state.srv = await startServer(dir, db);
  const base = state.srv.base;
  comment(`server ${base}, folder ${dir}`);

  const made = await api(base, key, "/api/link-tracking/create", {
    job_id: JOB,
    link_type: "resume",
    links: [
      { original_url: "https://calendly.com/jane-doe/30min", link_function: "Calendly" },
      { original_url: "https://www.linkedin.com/in/jane-doe", link_function: "LinkedIn" },
      { original_url: "https://jane-doe.example.dev/", link_function: "Portfolio" },
    ],
  });
  await api(base, key, "/api/link-tracking/create", {
    job_id: QUIET_JOB,
    link_type: "cover_letter",
    original_url: "https://calendly.com/jane-doe/30min",
    link_function: "Calendly",
  });
  const created = Date.now();
  const [calendly, linkedin] = made.links.map((l) => l.tracking_id);

  // The browser starts meanwhile: the wrong key first, while the too-soon window passes.
  const profile = join(dir, "profile");
  state.browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    timeout: 60000,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const ctx = state.browser;
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.setDefaultTimeout(15000);
  const foreign = [];
  page.on("request", (req) => {
    const u = req.url();
    if (!u.startsWith(base) && !u.startsWith("data:") && !u.startsWith("about:")) foreign.push(u);
  });

  let resp = await page.goto(base + "/dashboard");
  ok("/dashboard without a session shows the sign-in page",
     page.url() === base + "/dashboard/login" && resp.status() === 200,
     `${page.url()} ${resp.status()}`);
  ok("the key field has a label", (await page.getByLabel("API key").count()) === 1);

  await page.getByLabel("API key").fill("td_0000000000000000000000000000000000000000");
  [resp] = await Promise.all([
    page.waitForResponse((r) => r.url() === base + "/dashboard/login" && r.request().method() === "POST"),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  await page.waitForLoadState();
  const alert = page.getByRole("alert");
  ok("a wrong key is refused (401) with a message on the page",
     resp.status() === 401 && (await alert.count()) === 1 &&
       /unknown or revoked/.test(await alert.innerText()),
     `status ${resp.status()}, alert: ${(await alert.count()) ? await alert.innerText() : "none"}`);
  ok("the field is marked invalid",
     (await page.getByLabel("API key").getAttribute("aria-invalid")) === "true");
  await page.screenshot({ path: join(shots, "signin-error-desktop.png") });

  // The clicks: two people on the Calendly link, one on LinkedIn, each from its own address
  // (clicks on several links from one address within 2 s would be a scanner's burst), and a
  // mail scanner. Nothing for the quiet job.
  await sleep(Math.max(0, created + TOO_SOON_MS + 1000 - Date.now()));
  const lang = { "Accept-Language": "en-GB,en;q=0.9", Accept: "text/html" };
  const statuses = [
    await click(base, calendly, BROWSER_UA, "198.51.100.23", { ...lang, Referer: "https://mail.google.com/" }),
    await click(base, calendly, BROWSER_UA, "203.0.113.45", lang),
    await click(base, linkedin, BROWSER_UA, "192.0.2.67", lang),
    await click(base, calendly, SCANNER_UA, "100.64.9.9", {}),
  ];
  ok("the tracked links redirect (302)", statuses.every((s) => s === 302), statuses.join(" "));

  // A recruiter who clicked the Calendly link books a meeting; Calendly hands the link's
  // tracking_id back as utm_content in its signed webhook.
  const booked = await book(base, calendly);
  ok("a signed Calendly booking through the job's link is recorded (200, by tracking_id)",
     booked.status === 200 && booked.json.status === "recorded" && booked.json.attribution === "tracking_id",
     `${booked.status} ${JSON.stringify(booked.json)}`);

  await page.getByLabel("API key").fill(key);
  await Promise.all([page.waitForURL(base + "/dashboard"), page.getByRole("button", { name: "Sign in" }).click()]);
  ok("the right key signs in and lands on the overview",
     page.url() === base + "/dashboard" && (await page.locator("h1").innerText()).length > 0,
     page.url());
  ok("the page names the key and offers to sign out",
     (await page.getByText("browser-test").count()) > 0 &&
       (await page.getByRole("button", { name: "Sign out" }).count()) === 1);
  const cookie = (await ctx.cookies(base)).find((c) => c.name === "td_session");
  ok("the session cookie is HttpOnly and SameSite=Strict",
     cookie && cookie.httpOnly && cookie.sameSite === "Strict" && cookie.path === "/",
     JSON.stringify(cookie));

  const row = page.locator("tr", { has: page.getByRole("link", { name: `Job ${JOB.slice(0, 8)}` }) });
  ok("the overview lists the clicked job", (await row.count()) === 1);
  const humanCell = row.locator('td[data-label="Human"]');
  const humanText = (await humanCell.count()) ? (await humanCell.innerText()).trim() : "";
  ok("the job shows its 3 human clicks (the scanner is not one)", humanText === "3",
     `Human column: "${humanText}"`);
  const calCell = row.locator('td[data-label="Calendly"]');
  ok("2 of them on the Calendly link",
     (await calCell.count()) === 1 && (await calCell.innerText()).trim() === "2",
     (await calCell.count()) ? await calCell.innerText() : "no Calendly column");
  const filteredCell = row.locator('td[data-label="Filtered"]');
  ok("the scanner's click shows as filtered",
     (await filteredCell.count()) === 1 && (await filteredCell.innerText()).trim() === "1",
     (await filteredCell.count()) ? await filteredCell.innerText() : "no Filtered column");
  const bookCard = await card(page, "Bookings, 30 days");
  ok("the overview's \"Bookings, 30 days\" card shows the 1 booking, 0 canceled",
     bookCard.value === "1" && bookCard.note === "0 canceled", JSON.stringify(bookCard));
  const bookCell = row.locator('td[data-label="Bookings"]');
  ok("the job's row shows its 1 booking",
     (await bookCell.count()) === 1 && (await bookCell.innerText()).trim() === "1",
     (await bookCell.count()) ? await bookCell.innerText() : "no Bookings column");
  const quietRow = page.locator("tr", { has: page.getByRole("link", { name: `Job ${QUIET_JOB.slice(0, 8)}` }) });
  const quietBook = quietRow.locator('td[data-label="Bookings"]');
  ok("the quiet job's row shows no booking",
     (await quietBook.count()) === 1 && (await quietBook.innerText()).trim() === "0",
     (await quietBook.count()) ? await quietBook.innerText() : "no Bookings column");
  ok("the quiet job is listed too",
     (await page.getByRole("link", { name: `Job ${QUIET_JOB.slice(0, 8)}` }).count()) === 1);
  // The browser's accessibility tree, as a screen reader gets it: the chart is an image named
  // by its title, the page says its language.
  const chart = page.getByRole("img", { name: "Clicks per day" });
  ok("the chart is an image named \"Clicks per day\" for screen readers",
     (await chart.count()) >= 1 && (await chart.first().isVisible()), `${await chart.count()} found`);
  ok("the page declares its language", (await page.getAttribute("html", "lang")) === "en");
  const styled = await page.evaluate(() => getComputedStyle(document.querySelector(".kpi")).borderTopLeftRadius);
  ok("the stylesheet is applied", styled === "10px", `border radius ${styled}`);
  await page.screenshot({ path: join(shots, "overview-desktop.png"), fullPage: true });

  await Promise.all([page.waitForURL(`${base}/dashboard/jobs/${JOB}`),
                     page.getByRole("link", { name: `Job ${JOB.slice(0, 8)}` }).click()]);
  ok("the job page opens", (await page.locator("h1").innerText()).includes(JOB.slice(0, 8)));
  const linkRows = page.locator("tbody tr", { has: page.locator('td[data-label="Destination"]') });
  ok("it lists the job's 3 links", (await linkRows.count()) === 3, `${await linkRows.count()} rows`);
  const calRow = linkRows.filter({ hasText: "calendly.com/jane-doe" });
  ok("the Calendly link has 2 human clicks",
     (await calRow.locator('td[data-label="Human"]').innerText()).trim() === "2");
  const jobBooks = await card(page, "Bookings");
  ok("the job page's Bookings card shows 1, 0 canceled",
     jobBooks.value === "1" && jobBooks.note === "0 canceled", JSON.stringify(jobBooks));
  ok("the job page shows where the clicks came from",
     (await page.getByRole("heading", { name: "Where human clicks came from" }).count()) === 1 &&
       (await page.getByText("Web mail").count()) === 1);
  await page.screenshot({ path: join(shots, "job-desktop.png"), fullPage: true });

  await Promise.all([page.waitForURL(`${base}/dashboard/links/${calendly}`),
                     calRow.getByRole("link", { name: "Calendly", exact: true }).click()]);
  ok("the link page opens", (await page.locator("h1").innerText()).trim() === "Calendly link");
  const linkBooks = await card(page, "Bookings");
  ok("the Calendly link page's Bookings card shows 1",
     linkBooks.value === "1" && linkBooks.note === "0 canceled", JSON.stringify(linkBooks));
  await page.screenshot({ path: join(shots, "link-desktop.png"), fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  for (const [name, path] of [["overview", "/dashboard"], ["job", `/dashboard/jobs/${JOB}`],
                              ["link", `/dashboard/links/${calendly}`]]) {
    await page.goto(base + path);
    const w = await noSideScroll(page);
    ok(`at 390 px the ${name} page does not scroll sideways`, w.scroll <= w.width,
       `scrollWidth ${w.scroll} > ${w.width}`);
    await page.screenshot({ path: join(shots, `${name}-phone.png`), fullPage: true });
  }
  ok("every request went to trackdoc itself (no CDN)", foreign.length === 0, foreign.join(" "));

  await page.goto(base + "/dashboard");
  await Promise.all([page.waitForURL(base + "/dashboard/login"),
                     page.getByRole("button", { name: "Sign out" }).click()]);
  ok("signing out returns to the sign-in page", page.url() === base + "/dashboard/login");
  const left = (await ctx.cookies(base)).find((c) => c.name === "td_session");
  ok("signing out removes the cookie", !left, JSON.stringify(left));
  resp = await page.goto(base + "/dashboard");
  ok("after signing out the overview needs a sign-in again",
     page.url() === base + "/dashboard/login", page.url());
  // The old token is dead on the server too, not only forgotten by the browser.
  const replay = await fetch(base + "/dashboard", { headers: { Cookie: `td_session=${cookie ? cookie.value : "x"}` }, redirect: "manual" });
  ok("the old session token no longer works", replay.status === 401, `status ${replay.status}`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + "/dashboard/login");
  await page.screenshot({ path: join(shots, "signin-phone.png") });
  if (process.env.TRACKDOC_SHOTS) comment(`screenshots in ${shots}`);
}

async function main() {
  const state = {};
  const watchdog = setTimeout(() => {
    ok("the browser test ends within 180 s", false, "stopped by the watchdog");
    cleanup(state).then(() => process.exit(1));
  }, 180000);
  try {
    await run(state);
  } catch (e) {
    ok("the browser test runs to its end", false, e && e.stack ? e.stack.split("\n").slice(0, 4).join(" ") : e);
  }
  clearTimeout(watchdog);
  await cleanup(state);
  console.log(`# ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

async function cleanup(state) {
  if (state.browser) {
    try {
      await state.browser.close();
    } catch (e) {
      comment(`closing chromium: ${e}`);
    }
    state.browser = null;
  }
  if (state.srv) {
    const code = await stopServer(state.srv);
    const err = state.srv.stderr();
    ok("the server exits 0 on SIGTERM", code === 0, `exit ${code}: ${err.slice(-300)}`);
    const san = err.match(/ERROR: \w+Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/);
    ok("the server's stderr has no sanitizer report", !san, err.slice(Math.max(0, (san || {}).index - 100), (san || {}).index + 500));
    state.srv = null;
  }
  if (state.dir && existsSync(state.dir)) {
    // Screenshots asked for elsewhere are kept; the temporary folder goes when all passed.
    if (failed === 0 || process.env.TRACKDOC_SHOTS) rmSync(state.dir, { recursive: true, force: true });
    else comment(`kept ${state.dir} (database, profile, screenshots)`);
  }
}

main();
