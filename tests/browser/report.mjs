// Opens an HTML report in Debian's chromium (headless) and prints what a reader would see,
// as JSON, for tests/html.rs: node report.mjs REPORT.html [--query WORDS] [--screenshot PNG]
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const file = args[0];
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const query = opt("--query");
const screenshot = opt("--screenshot");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { console: [], errors: [], dialogs: [], requests: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const url = pathToFileURL(file).href;
  page.on("console", (m) => result.console.push(m.type() + ": " + m.text()));
  page.on("pageerror", (e) => result.errors.push(String(e)));
  page.on("dialog", async (d) => { result.dialogs.push(d.message()); await d.dismiss(); });
  page.on("request", (r) => { if (r.url() !== url) result.requests.push(r.url()); });
  await page.goto(url);
  await page.waitForSelector("#findings tbody tr, #shown");
  const rows = () => page.$$eval("#findings tbody tr", (trs) => trs.map((tr) =>
    Array.from(tr.cells).map((td) => td.textContent)));
  result.title = await page.title();
  result.headers = await page.$$eval("#findings thead th:not([hidden])", (ths) => ths.map((t) => t.textContent));
  result.rows = await rows();
  result.shown = await page.textContent("#shown");
  result.cards = await page.$$eval(".card", (cs) => cs.map((c) => c.textContent));
  result.timeline = await page.$$eval(".bar", (bs) => bs.map((b) => b.getAttribute("title")));
  result.providers = await page.$$eval("#f-provider option", (os) => os.map((o) => o.value));
  if (query !== undefined) {
    await page.fill("#q", query);
    result.filtered = await rows();
    await page.fill("#q", "");
  }
  await page.selectOption("#f-state", "all");
  result.all = await rows();
  await page.selectOption("#f-state", "blocking");
  result.scripts_run = await page.evaluate(() => document.scripts.length);
  result.title_after = await page.title();
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
