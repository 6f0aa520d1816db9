using System.Net;
using System.Net.Http;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Transports;

public sealed class WebSocketConnectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly Uri AnyPort = new("ws://127.0.0.1:0/arcp");

    [Fact]
    public async Task Frames_cross_in_both_directions_as_whole_text_messages_with_utf8_intact()
    {
        await using var listener = WebSocketListener.Start(AnyPort, null, null);
        var accepting = listener.AcceptAsync(null, CancellationToken.None);
        await using var client = await WebSocketConnection.ConnectAsync(listener.Address, null, null, CancellationToken.None);
        await using var server = await accepting.WaitAsync(Timeout);

        var big = "{\"p\":\"" + new string('é', 40_000) + "😀\"}";
        await client.SendAsync(big, CancellationToken.None);
        await client.SendAsync("{\"n\":2}", CancellationToken.None);
        Assert.Equal(big, await server.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        Assert.Equal("{\"n\":2}", await server.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));

        await server.SendAsync("{\"back\":\"ü\"}", CancellationToken.None);
        Assert.Equal("{\"back\":\"ü\"}", await client.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Close_delivers_the_queued_frames_then_ends_the_peers_receive()
    {
        await using var listener = WebSocketListener.Start(AnyPort, null, null);
        var accepting = listener.AcceptAsync(null, CancellationToken.None);
        await using var client = await WebSocketConnection.ConnectAsync(listener.Address, null, null, CancellationToken.None);
        await using var server = await accepting.WaitAsync(Timeout);

        await server.SendAsync("{\"last\":1}", CancellationToken.None);
        server.Close();

        Assert.Equal("{\"last\":1}", await client.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        Assert.Null(await client.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task An_oversized_or_binary_message_is_refused_and_the_connection_goes_on()
    {
        await using var listener = WebSocketListener.Start(AnyPort, null, new TransportOptions { MaxFrameBytes = 1024 });
        var accepting = listener.AcceptAsync(null, CancellationToken.None);
        using var raw = new ClientWebSocket();
        await raw.ConnectAsync(listener.Address, CancellationToken.None);
        await using var server = await accepting.WaitAsync(Timeout);

        await raw.SendAsync(Encoding.UTF8.GetBytes(new string('x', 5000)), WebSocketMessageType.Text, true, CancellationToken.None);
        await raw.SendAsync(Encoding.UTF8.GetBytes("{}"), WebSocketMessageType.Binary, true, CancellationToken.None);
        await raw.SendAsync(Encoding.UTF8.GetBytes("{\"ok\":1}"), WebSocketMessageType.Text, true, CancellationToken.None);

        var tooBig = await Assert.ThrowsAsync<InvalidFrameException>(() => server.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        Assert.Equal(5000, tooBig.FrameBytes);
        var binary = await Assert.ThrowsAsync<InvalidFrameException>(() => server.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        Assert.Contains("Binary", binary.Message, StringComparison.Ordinal);
        Assert.Equal("{\"ok\":1}", await server.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Requests_for_another_path_or_without_upgrade_get_http_errors()
    {
        await using var listener = WebSocketListener.Start(AnyPort, null, null);
        using var cts = new CancellationTokenSource();
        var accepting = listener.AcceptAsync(null, cts.Token);
        using var http = new HttpClient();
        var port = listener.LocalEndpoint.Port;

        var plain = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/arcp"));
        Assert.Equal(HttpStatusCode.UpgradeRequired, plain.StatusCode);
        var elsewhere = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/other"));
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.False(accepting.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accepting);
    }

    [Fact]
    public async Task Wss_serves_tls_with_the_given_certificate()
    {
        using var certificate = SelfSigned();
        await using var listener = WebSocketListener.Start(new Uri("wss://127.0.0.1:0/arcp"), certificate, null);
        Assert.Equal("wss", listener.Address.Scheme);
        var accepting = listener.AcceptAsync(null, CancellationToken.None);
        string? seenThumbprint = null;
        await using var client = await WebSocketConnection.ConnectAsync(
            listener.Address,
            null,
            // Pin the test's own self-signed certificate rather than trusting any.
            o => o.RemoteCertificateValidationCallback = (_, cert, _, _) =>
            {
                seenThumbprint = cert?.GetCertHashString();
                return seenThumbprint == certificate.GetCertHashString();
            },
            CancellationToken.None);
        await using var server = await accepting.WaitAsync(Timeout);

        await client.SendAsync("{\"tls\":true}", CancellationToken.None);
        Assert.Equal("{\"tls\":true}", await server.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout));
        Assert.Equal(certificate.GetCertHashString(), seenThumbprint);
    }

    [Fact]
    public void Wss_without_a_certificate_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => WebSocketListener.Start(new Uri("wss://127.0.0.1:0/arcp"), null, null));
        Assert.Contains("certificate", ex.Message, StringComparison.Ordinal);
    }

    internal static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Round-trip through PFX so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
