namespace Reweighting.Storage.Embedded;

/// <summary>Where the machine's PostgreSQL server programs (initdb, pg_ctl) live.</summary>
public sealed record PostgresBinaries(string BinDirectory)
{
    /// <summary>Environment variable naming the bin directory explicitly.</summary>
    public const string BinDirectoryVariable = "REWEIGHT_PG_BIN";

    /// <summary>What to run to get the binaries on Debian and Ubuntu.</summary>
    public const string InstallHint = "sudo apt-get install -y postgresql";

    public string InitDb => Path.Combine(BinDirectory, "initdb");
    public string PgCtl => Path.Combine(BinDirectory, "pg_ctl");

    /// <summary>Finds the binaries: an explicit directory, then REWEIGHT_PG_BIN, then Debian's versioned
    /// directories (newest first, since Debian keeps initdb off PATH), then PATH.</summary>
    public static PostgresBinaries Locate(string? explicitDirectory = null)
    {
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(explicitDirectory)) candidates.Add(explicitDirectory);
        var fromEnv = Environment.GetEnvironmentVariable(BinDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv)) candidates.Add(fromEnv);
        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            candidates.AddRange(Directory.GetDirectories(debianRoot)
                .Select(d => (dir: d, version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1))
                .OrderByDescending(x => x.version)
                .Select(x => Path.Combine(x.dir, "bin")));
        }
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        return Locate(candidates, explicitDirectory ?? fromEnv);
    }

    /// <summary>The first candidate directory holding initdb and pg_ctl; throws with the install command otherwise.</summary>
    internal static PostgresBinaries Locate(IEnumerable<string> candidates, string? searched)
    {
        foreach (var dir in candidates)
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
                return new PostgresBinaries(Path.GetFullPath(dir));
        }

        throw new PostgresNotInstalledException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found" +
            (searched is null ? "" : $" (also looked in '{searched}')") + ". " +
            $"Install them with: {InstallHint} — or point the program at an existing server with " +
            "--db, REWEIGHT_DB or the PG* environment variables, or set " + BinDirectoryVariable +
            " to the directory that holds initdb.");
    }
}
