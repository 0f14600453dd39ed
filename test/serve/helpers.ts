// Helpers of the serve tests.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'burst-client.mjs');

/** Sends n requests at once from another process; statuses etc. in request order. */
export function burst(
  url: string,
  n: number,
  body: unknown,
): Promise<{ statuses: number[]; retryAfter: (string | null)[]; errors: (string | null)[]; bodies: (string | null)[] }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLIENT, url, String(n), JSON.stringify(body)], { maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}
