using System.Text;

namespace Stele.Server.Tests;

/// <summary>
/// <c>stele verify --url</c> run as a user runs it (the stele command as a child process): exit
/// code, the printed summary, one line per break naming its seq and type, and progress.
/// </summary>
public sealed class VerifyCommandLineTests : IAsyncLifetime
{
    private const int Events = 1000;
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        await _server.IngestAsync(Events, 250, i => new
        {
            actor_id = $"user_{i}",
            actor_name = $"User {i}",
            action = "document.viewed",
            resource = "document",
            resource_id = $"doc_{i}",
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<SteleCommand.Result> VerifyAsync(params string[] extra) =>
        SteleCommand.RunAsync(["verify", "--url", _server.BaseAddress.ToString(), "--ledger", "default", "--key", _server.AdminKey, .. extra]);

    [Fact]
    public async Task Verifying_a_genuine_ledger_exits_0_with_a_summary_and_progress()
    {
        var checkpoint = await Api.GetJsonAsync(_server.Admin, "api/v1/checkpoint");
        var result = await VerifyAsync();

        Assert.True(result.ExitCode == 0, SteleCommand.Describe(result));
        var lines = SteleCommand.Lines(result.Output);
        Assert.Equal("ledger default: 1,000 events checked, 0 payloads erased, 1 checkpoint(s)", lines[0]);
        Assert.Equal("root " + checkpoint.GetProperty("root_hash").GetString(), lines[1]);
        Assert.StartsWith("chain head ", lines[2], StringComparison.Ordinal);
        Assert.Equal("OK: the ledger verifies.", lines[^1]);
        Assert.DoesNotContain(lines, l => l.StartsWith("BREAK", StringComparison.Ordinal));

        // Progress goes to standard error, so the summary stays clean for scripts.
        var progress = SteleCommand.Lines(result.Error);
        Assert.Contains(progress, l => l.StartsWith("note: trusting the server's own public key", StringComparison.Ordinal));
        Assert.Contains("verifying 1,000 events (4 tiles)", progress);
        Assert.Equal("verified 1,000 of 1,000 events (100.0%)", progress[^1]);
    }

    [Fact]
    public async Task A_pinned_key_and_quiet_leave_only_the_summary()
    {
        var vkey = (await _server.Client().GetStringAsync("api/v1/public-key")).Trim();
        var result = await VerifyAsync("--vkey", vkey, "--quiet");

        Assert.True(result.ExitCode == 0, SteleCommand.Describe(result));
        Assert.Equal(string.Empty, result.Error.Trim());
        Assert.Equal("OK: the ledger verifies.", SteleCommand.Lines(result.Output)[^1]);

        // A key other than the instance's: the checkpoint does not verify, and the exit code says so.
        var other = Stele.Core.Notes.NoteKeys.Generate("test.stele").VerifierKey.Format();
        var wrong = await VerifyAsync("--vkey", other, "--quiet");
        Assert.True(wrong.ExitCode == 1, SteleCommand.Describe(wrong));
        Assert.Contains(SteleCommand.Lines(wrong.Output), l => l.StartsWith("BREAK seq ", StringComparison.Ordinal) && l.Contains(" checkpoint_inconsistent", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tampered_ledger_exits_1_and_prints_each_break_with_its_seq_and_type()
    {
        await _server.StopAsync();
        using (var db = new TamperedLedgerFile(_server.DatabasePath))
        {
            const string Default = "(SELECT id FROM ledgers WHERE name = 'default')";
            var leaf = Encoding.UTF8.GetString((byte[])db.Scalar($"SELECT leaf FROM events WHERE ledger_id = {Default} AND seq = 5")!);
            Assert.Equal(1, db.Execute(
                $"UPDATE events SET leaf = $v WHERE ledger_id = {Default} AND seq = 5",
                Encoding.UTF8.GetBytes(leaf.Replace("\"user_5\"", "\"user_6\"", StringComparison.Ordinal))));

            foreach (var table in new[] { "payloads", "events" })
            {
                db.Execute($"DELETE FROM {table} WHERE ledger_id = {Default} AND seq = 700");
            }
        }

        // A restart re-arms the triggers and serves the tampered rows.
        await _server.RestartAsync();
        var result = await VerifyAsync();

        Assert.True(result.ExitCode == 1, SteleCommand.Describe(result));
        var lines = SteleCommand.Lines(result.Output);
        var breaks = lines.Where(l => l.StartsWith("BREAK ", StringComparison.Ordinal)).ToList();
        // The changed leaf's own bytes cannot be trusted for its id; the break names its seq and type.
        Assert.StartsWith("BREAK seq 5 leaf_mismatch: ", breaks[0], StringComparison.Ordinal);
        Assert.Contains(breaks, l => l.StartsWith("BREAK seq 700 missing_event", StringComparison.Ordinal));
        Assert.All(breaks, l => Assert.Matches(@"^BREAK seq \d+ [a-z_]+( evt_[0-9A-Z]{26})?: ", l));
        Assert.Equal($"FAILED: {breaks.Count} break(s).", lines[^1]);
        Assert.Equal("verified 1,000 of 1,000 events (100.0%)", SteleCommand.Lines(result.Error)[^1]);
    }
}
