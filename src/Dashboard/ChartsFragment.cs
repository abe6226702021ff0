using System.Data.Common;
using System.Net;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reweighting.Reporting;

namespace Reweighting.Dashboard;

/// <summary>The report's charts (<see cref="ReportRenderer.RenderCharts"/>) over the service's database, for the
/// dashboard's /charts. Renders are shared for a few seconds, so several open pages cost one read.</summary>
public sealed class ChartsFragment(ILogger<ChartsFragment> logger, TimeProvider? time = null)
{
    // Documents drawn in the scatter: enough to see the clusters, small enough to read every 15 s.
    private const int ScatterPoints = 2000;
    private static readonly TimeSpan Reuse = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (DateTimeOffset At, string Html)? _last;

    /// <summary>The charts' HTML, or a note saying why there are none (no database yet, a failed read).</summary>
    public async Task<string> RenderAsync(DbDataSource? database, CancellationToken ct)
    {
        if (database is not NpgsqlDataSource npgsql)
            return "<p class=\"note no-database\">The service has not opened its database yet.</p>";
        await _gate.WaitAsync(ct);
        try
        {
            if (_last is { } last && _time.GetUtcNow() - last.At < Reuse) return last.Html;
            var data = await ReportData.LoadAsync(npgsql, new ReportOptions { MaxScatterPoints = ScatterPoints }, ct);
            var html = ReportRenderer.RenderCharts(data);
            _last = (_time.GetUtcNow(), html);
            return html;
        }
        catch (ObjectDisposedException)
        {
            return "<p class=\"note database-closed\">The service's worker has stopped and closed its database.</p>";
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            logger.LogWarning("The dashboard could not read its charts from PostgreSQL: {Reason}", e.Message);
            return $"<p class=\"note charts-failed\">The charts could not be read from PostgreSQL: {WebUtility.HtmlEncode(e.Message)}</p>";
        }
        finally
        {
            _gate.Release();
        }
    }
}
