using System.Globalization;
using System.Net;

namespace Reweighting.Dashboard;

/// <summary>The dashboard page: one self-contained HTML document (inline CSS and script, no external URLs) that polls
/// <c>status</c> every two seconds for the live figures and <c>charts</c> (the report's SVG charts, read from
/// PostgreSQL) at the configured interval.</summary>
internal static class DashboardPage
{
    /// <summary>How often the page reads /status.</summary>
    public static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(2);

    /// <summary>The page of a <paramref name="component"/>'s dashboard.</summary>
    public static string Html(string component, TimeSpan chartsInterval) =>
        Template
            // The charts are the report's: its stylesheet first, the dashboard's own rules after it.
            .Replace("{{REPORT_CSS}}", Reporting.ReportRenderer.Stylesheet)
            .Replace("{{COMPONENT}}", WebUtility.HtmlEncode(component))
            .Replace("{{STATUS_MS}}", ((int)StatusInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture))
            .Replace("{{CHARTS_MS}}", ((int)chartsInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));

    private const string Template = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>reweight {{COMPONENT}} dashboard</title>
        <style>
        {{REPORT_CSS}}
        :root { color-scheme: light; }
        caption { white-space: nowrap; }
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1540px; padding: 0 24px 48px; color: #1b1b1b; background: #fff; }
        header { display: flex; align-items: baseline; gap: 16px; border-bottom: 1px solid #ddd; }
        h1 { font-size: 1.5rem; margin: 18px 0 10px; }
        h2 { font-size: 1.2rem; margin: 24px 0 8px; border-bottom: 1px solid #eee; padding-bottom: 4px; }
        h3 { font-size: 1rem; margin: 0 0 6px; }
        .badge { padding: 2px 10px; border-radius: 10px; font-weight: 600; background: #eee; }
        .badge.running { background: #dff3e0; color: #1d5e22; }
        .badge.failed, .badge.unreachable { background: #fde2e0; color: #8a1c13; }
        .badge.stopped, .badge.starting, .badge.degraded { background: #fff3d6; color: #6a4a00; }
        .meta { color: #555; font-size: 0.9rem; }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; }
        .card { border: 1px solid #e4e4e4; border-radius: 6px; padding: 10px 12px; }
        .card .label { color: #555; font-size: 0.85rem; }
        .card .value { font-size: 1.45rem; font-weight: 600; font-variant-numeric: tabular-nums; }
        .card .detail { color: #555; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
        [hidden] { display: none !important; }
        </style>
        </head>
        <body data-component="{{COMPONENT}}">
        <header>
        <h1>reweight {{COMPONENT}}</h1>
        <span id="status" class="badge">loading</span>
        <span class="meta">up <span data-field="uptime">–</span> · last <span data-field="last-kind">activity</span> <span data-field="last-activity">–</span> · <span data-field="device">–</span></span>
        </header>

        <h2>Live</h2>
        <div class="cards">
        <div class="card" data-for="scorer"><div class="label">Throughput</div><div class="value"><span data-field="documents-per-second">–</span> docs/s</div><div class="detail"><span data-field="tokens-per-second">–</span> tokens/s (30 s)</div></div>
        <div class="card" data-for="scorer"><div class="label">Scored</div><div class="value" data-field="documents">–</div><div class="detail"><span data-field="tokens">–</span> tokens · <span data-field="dead-letters">–</span> dead letters · <span data-field="batches">–</span> batches</div></div>
        <div class="card" data-for="scorer"><div class="label">Batch latency</div><div class="value" data-field="latency-p50">–</div><div class="detail">p90 <span data-field="latency-p90">–</span> · p99 <span data-field="latency-p99">–</span></div></div>
        <div class="card" data-for="scorer"><div class="label">Consumer lag</div><div class="value" data-field="lag-total">–</div><div class="detail" data-field="lag-partitions">not reported yet</div></div>
        <div class="card" data-for="scorer"><div class="label">GMM version</div><div class="value" data-field="gmm-version">–</div><div class="detail"><span data-field="in-flight">–</span> records in flight</div></div>
        <div class="card" data-for="trainer"><div class="label">Step</div><div class="value"><span data-field="step">–</span> / <span data-field="total-steps">–</span></div><div class="detail">run <span data-field="run-id">–</span> · <span data-field="strategy">–</span></div></div>
        <div class="card" data-for="trainer"><div class="label">Loss</div><div class="value" data-field="loss">–</div><div class="detail">validation <span data-field="valid-loss">–</span> · lr <span data-field="learning-rate">–</span></div></div>
        <div class="card" data-for="trainer"><div class="label">Training throughput</div><div class="value"><span data-field="train-tokens-per-second">–</span> tokens/s</div><div class="detail">checkpoint at step <span data-field="checkpoint-step">–</span></div></div>
        <div class="card" data-for="trainer"><div class="label">Temperature r</div><div class="value" data-field="temperature">–</div><div class="detail">loss-shape strategies</div></div>
        <div class="card"><div class="label">GPU memory</div><div class="value" data-field="gpu-memory">–</div><div class="detail">allocated by tensors</div></div>
        </div>
        <table id="phi" data-for="trainer" hidden><caption>Meta-EM cluster parameters φ</caption><thead><tr><th>k</th><th>λ<sub>k</sub></th><th>π<sub>k</sub></th></tr></thead><tbody></tbody></table>

        <h2>From PostgreSQL <span class="meta">(refreshed every <span id="charts-interval"></span> s)</span></h2>
        <div id="charts"><p class="note">Loading charts…</p></div>

        <script>
        "use strict";
        const component = document.body.dataset.component;
        for (const el of document.querySelectorAll("[data-for]")) if (el.dataset.for !== component && el.id !== "phi") el.hidden = true;
        document.getElementById("charts-interval").textContent = String({{CHARTS_MS}} / 1000);
        const number = (v, digits) => v === null || v === undefined ? "–" : typeof v === "string" ? v.replace("Infinity", "∞")
          : Number(v).toLocaleString("en-US", { maximumFractionDigits: digits });
        const seconds = v => v === null || v === undefined ? "–" : v < 1 ? (v * 1000).toFixed(0) + " ms" : v.toFixed(2) + " s";
        const bytes = v => v === null || v === undefined ? "– (CPU)" : (v / 1048576).toLocaleString("en-US", { maximumFractionDigits: 1 }) + " MiB";
        const duration = s => { s = Math.floor(s); const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60); return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s % 60 + "s"; };
        function set(field, text) { for (const el of document.querySelectorAll(`[data-field="${field}"]`)) el.textContent = text; }
        function show(s) {
          const badge = document.getElementById("status");
          badge.textContent = s.status; badge.className = "badge " + s.status;
          badge.title = s.control_bus && s.control_bus.detail ? "control bus: " + s.control_bus.detail : "";
          set("uptime", duration(s.uptime_seconds));
          set("last-kind", component === "trainer" ? "step" : "batch");
          set("last-activity", s.last_activity ? new Date(s.last_activity).toLocaleTimeString() : "none yet");
          set("device", s.device || "device not chosen yet");
          set("documents-per-second", number(s.documents_per_second, 1));
          set("tokens-per-second", number(component === "scorer" ? s.tokens_per_second : null, 0));
          set("documents", number(s.documents, 0)); set("tokens", number(s.tokens, 0));
          set("dead-letters", number(s.dead_letters, 0)); set("batches", number(s.batches, 0));
          const latency = s.batch_latency_seconds || {};
          set("latency-p50", seconds(latency.p50)); set("latency-p90", seconds(latency.p90)); set("latency-p99", seconds(latency.p99));
          const lag = s.consumer_lag || [];
          set("lag-total", lag.length ? number(lag.reduce((a, l) => a + l.lag, 0), 0) : "–");
          set("lag-partitions", lag.length ? lag.map(l => `${l.topic}[${l.partition}] ${l.lag}`).join(" · ") : "not reported yet");
          set("gmm-version", s.gmm_version ?? "none yet"); set("in-flight", number(s.in_flight_records, 0));
          set("step", number(s.step, 0)); set("total-steps", number(s.total_steps, 0));
          set("run-id", s.run_id || "–"); set("strategy", s.strategy || "–");
          set("loss", number(s.loss, 4)); set("valid-loss", number(s.valid_loss, 4)); set("learning-rate", number(s.learning_rate, 6));
          set("train-tokens-per-second", number(component === "trainer" ? s.tokens_per_second : null, 0));
          set("checkpoint-step", number(s.checkpoint_step, 0));
          set("temperature", s.temperature === undefined ? "– (not a loss-shape strategy)" : number(s.temperature, 3));
          set("gpu-memory", bytes(s.gpu_memory_bytes));
          const phi = document.getElementById("phi");
          phi.hidden = !s.phi;
          if (s.phi) phi.tBodies[0].replaceChildren(...s.phi.map(p => {
            const row = document.createElement("tr");
            for (const v of [p.component, number(p.lambda, 4), number(p.pi, 4)]) { const td = document.createElement("td"); td.textContent = v; row.append(td); }
            return row;
          }));
        }
        async function refreshStatus() {
          try {
            const response = await fetch("status", { cache: "no-store" });
            show(await response.json());
          } catch (e) {
            const badge = document.getElementById("status");
            badge.textContent = "unreachable"; badge.className = "badge unreachable";
          }
        }
        async function refreshCharts() {
          try {
            const response = await fetch("charts", { cache: "no-store" });
            if (response.ok) document.getElementById("charts").innerHTML = await response.text();
          } catch (e) { /* the next round tries again */ }
        }
        refreshStatus(); refreshCharts();
        setInterval(refreshStatus, {{STATUS_MS}});
        setInterval(refreshCharts, {{CHARTS_MS}});
        </script>
        </body>
        </html>
        """;
}
