// A load generator in its own process (so that it is not paced by the server's event loop):
//   node burst-client.mjs URL N BODY_JSON [DELAY_MS]
// sends N predict requests at once (each on its own connection) and prints one JSON line:
// {"statuses": [...], "retryAfter": [...], "errors": [...], "bodies": [...]} in request order.
import http from 'node:http';

const [url, nStr, body, delayStr] = process.argv.slice(2);
const n = Number(nStr);
const u = new URL(url);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const one = () =>
  new Promise((resolve) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] ?? null, body: text }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, error: e.code ?? e.message }));
    req.end(body);
  });
if (delayStr) await new Promise((r) => setTimeout(r, Number(delayStr)));
process.stdout.write('sending\n');
const rs = await Promise.all(Array.from({ length: n }, one));
process.stdout.write(
  JSON.stringify({
    statuses: rs.map((r) => r.status),
    retryAfter: rs.map((r) => r.retryAfter ?? null),
    errors: rs.map((r) => r.error ?? null),
    bodies: rs.map((r) => r.body ?? null),
  }) + '\n',
);
