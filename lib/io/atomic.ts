// Atomic file writes: the bytes go to a temp file in the same directory, are fsynced, and the temp
// file is renamed over the target (rename is atomic within a filesystem). A crash at any point
// leaves either the old file or the new one, never a torn mix.

import fs from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) try { fs.closeSync(fd); } catch { /* already failing */ }
    try { fs.unlinkSync(tmp); } catch { /* not created */ }
    throw e;
  }
  // make the rename itself durable (best effort: not every platform can fsync a directory)
  try {
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* ignore */ }
}
