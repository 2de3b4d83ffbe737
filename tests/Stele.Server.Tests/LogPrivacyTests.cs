using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Stele.Server.Tests;

/// <summary>
/// The logs hold no secrets and no personal data (STYLE.md: log sizes, indices, hashes and ids).
/// A server logging everything of its own (Trace) and the framework as in production (Warning)
/// goes through keys, ingest with personal fields, reads, searches, proofs, exports, errors and a
/// restart; then no API key secret, IP address, name, user agent or metadata value from the
/// requests may appear anywhere in what was logged (messages, structured values, exceptions).
/// </summary>
public sealed class LogPrivacyTests
{
    private static readonly string[] PersonalData =
    [
        "203.0.113.77",
        "198.51.100.23",
        "2001:db8::7:77",
        "192.0.2.201",
        "Ada Secretname",
        "Grace Hiddenname",
        "Payroll Q3 Confidential",
        "Mozilla/5.0 (SecretAgent 9.9)",
        "ada.secret@example.com",
        "confidential-note-xyz",
        "Quarterly Salary Folder",
        "+31 6 5555 0199",
    ];

    [Fact]
    public async Task No_secret_or_personal_data_from_the_requests_reaches_the_logs()
    {
        var logs = new CapturedLogs();
        var secrets = new List<string>();
        // The framework as an operator might turn it up: its request logs carry URLs (query strings name people).
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
        };
        await using (var server = await TestServer.StartAsync(settings, logs.Configure(stele: LogLevel.Trace, others: LogLevel.Warning)))
        {
            secrets.Add(server.AdminKey);
            var ingest = await server.CreateKeyAsync("default", "ingest", "client_origin");
            var reader = await server.CreateKeyAsync("default", "read");
            var revoked = await server.CreateKeyAsync(null, "admin");
            secrets.AddRange([ingest, reader, revoked]);
            using (var revoke = await server.Admin.DeleteAsync($"api/v1/keys/{Api.KeyId(revoked)}"))
            {
                Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            }

            using var ingestClient = server.Client(ingest);
            ingestClient.DefaultRequestHeaders.UserAgent.ParseAdd("Mozilla/5.0 (SecretAgent 9.9)");
            var created = await Api.IngestAsync(ingestClient, "api/v1/events", new
            {
                actor_id = "user_42",
                actor_name = "Ada Secretname",
                action = "document.viewed",
                resource = "document",
                resource_id = "doc_7",
                resource_name = "Payroll Q3 Confidential",
                ip_address = "203.0.113.77",
                session_id = "ses_1",
                metadata = new { email = "ada.secret@example.com", note = "confidential-note-xyz", phone = "+31 6 5555 0199" },
                targets = new[] { new { type = "folder", id = "f_1", name = "Quarterly Salary Folder", metadata = new { owner = "Grace Hiddenname" } } },
                idempotency_key = "order-1",
            });
            var id = created.GetProperty("id").GetString()!;
            await Api.IngestAsync(ingestClient, "api/v1/events", new { actor_id = "user_42", actor_name = "Ada Secretname", action = "document.viewed", idempotency_key = "order-1" });
            using (var batch = await ingestClient.PostAsJsonAsync("api/v1/events/batch", new
            {
                events = new object[]
                {
                    new { actor_id = "user_43", actor_name = "Grace Hiddenname", action = "user.login", ip_address = "198.51.100.23" },
                    new { actor_id = "user_44", action = "user.login", ip_address = "2001:db8::7:77", metadata = new { email = "ada.secret@example.com" } },
                    new { actor_id = "user_45", action = "not an action", actor_name = "Ada Secretname", ip_address = "192.0.2.201" },
                },
            }))
            {
                Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
            }

            // Reads, searches and proofs, naming personal data in queries.
            using var readClient = server.Client(reader);
            await Api.GetJsonAsync(readClient, $"api/v1/events/{id}");
            await Api.GetJsonAsync(readClient, "api/v1/events?search=" + Uri.EscapeDataString("Ada Secretname"));
            await Api.GetJsonAsync(readClient, "api/v1/events?search=" + Uri.EscapeDataString("ada.secret@example.com"));
            await Api.GetJsonAsync(readClient, "api/v1/sessions/ses_1");
            await server.WaitForCheckpointAsync(readClient, "api/v1/", 3);
            await Api.GetJsonAsync(readClient, $"api/v1/events/{id}/proof");
            await Api.GetJsonAsync(readClient, "api/v1/verify");
            var export = await ExportClient.ExportAsync(server.Admin, "api/v1/", """{"format":"jsonl","include_proofs":true,"search":"Ada Secretname"}""");
            Assert.Contains("Ada Secretname", Encoding.UTF8.GetString(export), StringComparison.Ordinal);
            await ExportClient.ExportAsync(server.Admin, "api/v1/", """{"format":"csv","gzip":true}""");

            // Errors: personal data in rejected bodies, bad and revoked keys, unknown ids, oversized bodies.
            await Api.AssertProblemAsync(Api.PostRawAsync(ingestClient, "api/v1/events",
                """{"actor_id":"u","action":"a.b","actor_name":"Ada Secretname\u0000","ip_address":"203.0.113.77/32"}"""), HttpStatusCode.BadRequest, "validation_failed");
            await Api.AssertProblemAsync(Api.PostRawAsync(ingestClient, "api/v1/events",
                """{"actor_id":"u","action":"a.b","metadata":{"email":"ada.secret@example.com","bad":"\ud800"}}"""), HttpStatusCode.BadRequest, "validation_failed");
            await Api.AssertProblemAsync(Api.PostRawAsync(ingestClient, "api/v1/events",
                """{"actor_id":"u","action":"a.b","ip_address":"192.0.2.201","actor_name":"Grace Hiddenname","""), HttpStatusCode.BadRequest, "validation_failed");
            await Api.AssertProblemAsync(Api.PostRawAsync(ingestClient, "api/v1/events",
                """{"actor_id":"u","action":"a.b","user_agent":["Mozilla/5.0 (SecretAgent 9.9)"]}"""), HttpStatusCode.BadRequest, "validation_failed");
            await Api.AssertProblemAsync(ingestClient.PostAsJsonAsync("api/v1/events", new
            {
                actor_id = "u",
                action = "a.b",
                metadata = new { note = "confidential-note-xyz", blob = new string('x', 70 * 1024) },
            }), HttpStatusCode.BadRequest, "validation_failed");
            using (var tooLarge = new HttpRequestMessage(HttpMethod.Post, "api/v1/events"))
            {
                // Declared length and Expect: 100-continue, so the server refuses before the body is sent.
                tooLarge.Content = new ByteArrayContent(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
                {
                    actor_id = "u",
                    action = "a.b",
                    metadata = new { email = "ada.secret@example.com", blob = new string('y', 6 * 1024 * 1024) },
                }));
                tooLarge.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                tooLarge.Headers.ExpectContinue = true;
                await Api.AssertProblemAsync(ingestClient.SendAsync(tooLarge), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
            }
            await Api.AssertProblemAsync(ingestClient.GetAsync("api/v1/events"), HttpStatusCode.Forbidden, "forbidden");
            await Api.AssertProblemAsync(readClient.GetAsync("api/v1/events/evt_00000000000000000000000000"), HttpStatusCode.NotFound, "not_found");
            foreach (var bad in new[] { revoked, server.AdminKey[..^3] + "xyz", "stele_abcdefghijkl_" + new string('Q', 43) })
            {
                using var client = server.Client(bad);
                await Api.AssertProblemAsync(client.GetAsync("api/v1/events"), HttpStatusCode.Unauthorized, "unauthenticated");
                secrets.Add(bad);
            }

            using (var basic = server.Client())
            {
                basic.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ada.secret@example.com:" + reader)));
                await Api.AssertProblemAsync(basic.GetAsync("api/v1/events"), HttpStatusCode.Unauthorized, "unauthenticated");
            }

            await server.RestartAsync();
            await Api.GetJsonAsync(server.Client(reader), "api/v1/verify");
        }

        var entries = logs.Entries;
        Assert.True(entries.Count(e => e.Category.StartsWith("Stele", StringComparison.Ordinal)) >= 10, "the server logged too little for this test to mean anything");
        Assert.Contains(entries, e => e.Level == LogLevel.Debug && e.EventId.Id == 1002);
        Assert.Contains(entries, e => e.EventId.Id == 4002);

        // The configuration turned the framework up to Trace, except its request lines, which Stele keeps out.
        Assert.Contains(entries, e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && e.Level <= LogLevel.Debug);
        Assert.DoesNotContain(entries, e => e.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && e.Level < LogLevel.Warning);

        foreach (var secret in secrets)
        {
            // The whole secret, and its random part alone (the public prefix may be logged as the key id).
            var random = secret.Length > 19 ? secret[19..] : secret;
            Assert.DoesNotContain(entries, e => e.Text.Contains(secret, StringComparison.Ordinal) || e.Text.Contains(random, StringComparison.Ordinal));
        }

        foreach (var value in PersonalData.SelectMany(v => new[] { v, Uri.EscapeDataString(v), v.Replace(" ", "+", StringComparison.Ordinal) }).Distinct())
        {
            var leaks = entries.Where(e => e.Text.Contains(value, StringComparison.OrdinalIgnoreCase)).Select(e => e.Text).ToList();
            Assert.True(leaks.Count == 0, $"'{value}' was logged: {string.Join('\n', leaks.Take(3))}");
        }
    }
}
