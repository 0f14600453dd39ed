// Atomic file writes: the bytes go to a temp file in the same directory, are fsynced, and the temp
// file is renamed over the target (rename is atomic within a filesystem). A crash at any point
// leaves either the old file or the new one, never a torn mix.
//
// Temp files are named `.<target name>.<pid>.<start>.<host>.<random>.tmp`: the writer's pid, a
// tag of the writer process's start time, a tag of its host and pid namespace, and a random tag.
// A writer killed mid-write (kill -9, the OOM killer, power loss) leaves its temp file behind; the
// next write to the same target removes such leftovers: only files with our name pattern for that
// target, and only when their writer is gone. A pid means something only on the host (and in the
// pid namespace: containers) that wrote it, so a file with another host tag (a directory shared
// between containers or over NFS) is judged by its age alone (see below). Otherwise:
//   - the pid is not running (process.kill(pid, 0) fails with ESRCH): stale;
//   - the pid is running but started at another time than the writer did (pids are reused, e.g.
//     pid 1 at every container start): stale. The start tag is the process start time in clock
//     ticks since boot from /proc/<pid>/stat on Linux ('t…', exact, the same in every thread);
//     elsewhere an estimate in seconds ('s…', only this process's own pid can be compared);
//   - otherwise (a running process whose start cannot be compared) it may still be writing: the
//     file is kept unless it has not been modified for STALE_TEMP_MS.
// A temp file of this very process (same pid and start) is never removed: a worker thread may be
// writing it. Temp names of older versions (`.<name>.<pid>.<random>.tmp`, and without the host
// tag) are recognised too, with the checks their names allow.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A temp file of another running process untouched this long is treated as a leftover. */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/** The start tag of a running process ('t' + start time in clock ticks since boot), or null. */
function procStartTag(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count fields after it
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 overall
    return Number.isSafeInteger(ticks) && ticks >= 0 ? `t${ticks.toString(36)}` : null;
  } catch {
    return null;
  }
}

const START_TAG = procStartTag(process.pid) ?? `s${Math.round(Date.now() / 1000 - process.uptime()).toString(36)}`;

/** 'h' + a hash of the host name and the pid namespace: pids compare only where this matches. */
const HOST_TAG = (() => {
  let ns = '';
  try {
    ns = fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    /* not Linux */
  }
  let h = 0x811c9dc5; // FNV-1a
  for (const ch of `${os.hostname()}|${ns}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return `h${(h >>> 0).toString(36)}`;
})();

/**
 * Whether the process now running with a temp file's pid is NOT the one that wrote it: true when
 * the start tags differ, false when they match, null when they cannot be compared.
 */
function otherProcess(fileTag: string, runningTag: string | null): boolean | null {
  if (runningTag === null || fileTag[0] !== runningTag[0]) return null;
  if (fileTag[0] === 't') return fileTag !== runningTag;
  // estimates in seconds may differ by rounding
  return Math.abs(parseInt(fileTag.slice(1), 36) - parseInt(runningTag.slice(1), 36)) > 2;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The temp-file name pattern for `base`: groups pid, start tag and host tag (absent in older forms). */
function tempPattern(base: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(base)}\\.(\\d{1,10})\\.(?:([ts][0-9a-z]{1,14})\\.(?:(h[0-9a-z]{1,8})\\.)?)?[0-9a-z]{1,24}\\.tmp$`);
}

/** The name of a new temp file for `base` written by this process. */
export function tempNameFor(base: string): string {
  return `.${base}.${process.pid}.${START_TAG}.${HOST_TAG}.${Math.random().toString(36).slice(2, 10) || '0'}.tmp`;
}

function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temp files that writers of `file` left behind when they died (see the header);
 * returns the names removed. Best effort: an entry that cannot be checked or removed is skipped.
 */
export function removeStaleTempFiles(file: string, now = Date.now()): string[] {
  const dir = path.dirname(path.resolve(file));
  const re = tempPattern(path.basename(file));
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const start = m[2];
    const host = m[3];
    if (pid < 1) continue;
    // decided by the pid and the start tag where they tell (on this host); otherwise by the file's age
    let stale: boolean | null = null;
    if (host !== undefined && host !== HOST_TAG) stale = null;
    else if (pid !== process.pid && !pidRunning(pid)) stale = true;
    else if (start !== undefined) stale = otherProcess(start, pid === process.pid ? START_TAG : procStartTag(pid));
    if (stale === null) {
      try {
        stale = now - fs.lstatSync(path.join(dir, name)).mtimeMs > STALE_TEMP_MS;
      } catch {
        continue;
      }
    }
    if (!stale) continue;
    try {
      const p = path.join(dir, name);
      if (!fs.lstatSync(p).isFile()) continue; // never a directory or a link
      fs.unlinkSync(p);
      removed.push(name);
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}

/**
 * Throws unless writeFileAtomic(file) could succeed: the path itself a directory, a parent that
 * is a regular file, or the nearest existing directory not writable. Nothing is created. For callers that write
 * late (a checkpoint after the first epoch) and should fail before the work starts.
 */
export function checkWritablePath(where: string, file: string): void {
  if (typeof file !== 'string' || file === '')
    throw new TypeError(`${where}: the path must be a non-empty string, got ${file === null ? 'null' : typeof file}`);
  const abs = path.resolve(file);
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(abs);
  } catch {
    /* absent: fine */
  }
  if (st?.isDirectory()) throw new Error(`${where}: cannot write ${file}: it is a directory (give a file path)`);
  for (let dir = path.dirname(abs); ; dir = path.dirname(dir)) {
    let ds: fs.Stats | null = null;
    try {
      ds = fs.statSync(dir);
    } catch {
      /* not there yet: check its parent */
    }
    if (ds) {
      if (!ds.isDirectory()) throw new Error(`${where}: cannot write ${file}: ${dir} is a file, not a directory`);
      try {
        fs.accessSync(dir, fs.constants.W_OK);
      } catch {
        throw new Error(`${where}: cannot write ${file}: ${dir} is not writable (permission denied)`);
      }
      return;
    }
    if (path.dirname(dir) === dir) return;
  }
}

/** Creates the target's directory, or says which part of the path is in the way. */
function ensureDir(file: string, dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST' || err.code === 'ENOTDIR') {
      // find the first component of the path that exists and is not a directory
      let p = dir;
      const parts: string[] = [];
      while (p !== path.dirname(p)) {
        parts.unshift(p);
        p = path.dirname(p);
      }
      const blocker = parts.find((q) => {
        try {
          return !fs.statSync(q).isDirectory();
        } catch {
          return false;
        }
      });
      throw Object.assign(new Error(`cannot write ${file}: ${blocker ?? dir} is a file, not a directory`), { code: err.code });
    }
    throw Object.assign(new Error(`cannot write ${file}: cannot create its directory ${dir} (${err.message})`), { code: err.code });
  }
}

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  if (typeof file !== 'string' || file === '')
    throw new TypeError(`writeFileAtomic: the path must be a non-empty string, got ${file === null ? 'null' : typeof file}`);
  const dir = path.dirname(path.resolve(file));
  ensureDir(file, dir);
  // a directory at the target would fail only at the rename, after the whole write
  let isDir = false;
  let mode: number | null = null; // an existing file's permissions carry over (a 0600 checkpoint stays 0600)
  try {
    const st = fs.statSync(file);
    isDir = st.isDirectory();
    mode = st.mode & 0o7777;
  } catch {
    /* absent: fine */
  }
  if (isDir)
    throw Object.assign(
      new Error(`cannot write ${file}: it is a directory (give a file path, e.g. ${path.join(file, 'model.safetensors')})`),
      { code: 'EISDIR' },
    );
  removeStaleTempFiles(file);
  const tmp = path.join(dir, tempNameFor(path.basename(file)));
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'wx', mode ?? 0o644);
    if (mode !== null) fs.fchmodSync(fd, mode); // exactly, whatever the umask
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null)
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not created */
    }
    throw e;
  }
  // make the rename itself durable (best effort: not every platform can fsync a directory)
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* ignore */
  }
}
