// Durability of atomic writes: a writer killed with SIGKILL in the middle of a save leaves the
// previous file intact; its orphaned temp file is removed by the next write to the same target,
// and only temp files whose writer is gone are ever removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { checkWritablePath, removeStaleTempFiles, STALE_TEMP_MS, tempNameFor, writeFileAtomic } from '../../lib/io/atomic.js';
import { ModelCheckpoint } from '../../lib/train/callbacks.js';
import { load, save } from '../../lib/io/safetensors.js';
import { tensor } from '../../lib/ops/index.js';

let dir: string;
let childScript: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wattgrad-atomic-'));
  // the child runs the real lib/io/atomic.ts (transpiled: it only imports node:fs and node:path)
  const src = fs.readFileSync(path.resolve('lib/io/atomic.ts'), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  fs.writeFileSync(path.join(dir, 'atomic.mjs'), js);
  // it writes `mb` MiB to `target` and blocks forever at the fsync, i.e. after every byte of the
  // temp file is written and before the rename: the worst moment to be killed
  childScript = path.join(dir, 'writer.mjs');
  fs.writeFileSync(
    childScript,
    `
import fs from 'node:fs';
import { writeFileAtomic } from './atomic.mjs';
const [target, mb] = process.argv.slice(2);
fs.fsyncSync = () => {
  fs.writeSync(1, 'blocked\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
};
writeFileAtomic(target, new Uint8Array(Number(mb) * 1024 * 1024).fill(7));
`,
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const temps = (d: string): string[] =>
  fs
    .readdirSync(d)
    .filter((n) => n.endsWith('.tmp'))
    .sort();

/** Starts a writer child on `target` and resolves once it is blocked mid-save. */
function blockedWriter(target: string, mb: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, target, String(mb)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('blocked')) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('atomic writes survive SIGKILL and clean up after it', () => {
  it('a writer killed mid-save leaves the old checkpoint intact, and the next save removes its temp file', async () => {
    const target = path.join(dir, 'model.safetensors');
    const w = tensor([1.5, -2, 3]);
    save(target, { w });
    const good = fs.readFileSync(target);
    // each killed writer leaves one full-size orphan named after it; each new writer removes the
    // previous one's (its writer is gone) before writing its own
    for (let k = 0; k < 3; k++) {
      const child = await blockedWriter(target, 16);
      await killed(child);
      const orphans = temps(dir);
      expect(orphans).toHaveLength(1);
      expect(orphans[0]!.startsWith(`.model.safetensors.${child.pid}.`)).toBe(true);
      expect(fs.statSync(path.join(dir, orphans[0]!)).size).toBe(16 * 1024 * 1024);
      // the target is untouched after every kill
      expect(fs.readFileSync(target).equals(good)).toBe(true);
    }
    const back = load(target);
    expect([...back.w!.dataSync()]).toEqual([1.5, -2, 3]);
    back.w!.dispose();
    // the next save to the same path cleans them up
    const w2 = tensor([4, 5]);
    save(target, { w: w2 });
    expect(temps(dir)).toEqual([]);
    const back2 = load(target);
    expect([...back2.w!.dataSync()]).toEqual([4, 5]);
    for (const t of [w, w2, back2.w!]) t.dispose();
  }, 60_000);

  it('removes only our leftovers of the same target whose writer is gone', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'rules-'));
    const target = path.join(d, 'ck.safetensors');
    // a dead pid: a child that has exited
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => resolve(c.pid!));
    });
    // a live pid of another process, with its real start tag (read from a name it makes itself)
    const live = spawn(
      process.execPath,
      [
        '-e',
        `
      import('${path.join(dir, 'atomic.mjs').replace(/\\/g, '/')}').then((m) => { process.stdout.write(m.tempNameFor('ck.safetensors') + '\\n'); setInterval(() => {}, 1000); });
    `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const liveName = await new Promise<string>((resolve) => live.stdout!.on('data', (b: Buffer) => resolve(b.toString().trim())));
    try {
      const liveTag = liveName.split('.')[4]!; // '', 'ck', 'safetensors', pid, start, host, random, 'tmp'
      const hostTag = liveName.split('.')[5]!;
      expect(hostTag).toMatch(/^h[0-9a-z]+$/);
      const files: Record<string, boolean> = {
        // name → removed?
        [`.ck.safetensors.${dead}.${liveTag}.abc123.tmp`]: true, // writer gone
        [`.ck.safetensors.${dead}.1a2b3c4d5e.tmp`]: true, // older name form, writer gone
        [liveName]: false, // a live writer (pid running, same start): maybe still writing
        [`.ck.safetensors.${live.pid}.t1.zz.tmp`]: liveTag[0] === 't', // pid reused: another start time (Linux /proc)
        [tempNameFor('ck.safetensors')]: false, // this process's own
        [`.ck.safetensors.${process.pid}.t1.zz.tmp`]: tempNameFor('x').split('.')[3]![0] === 't', // own pid, earlier process (split: '', 'x', pid, start, …)
        [`.other.safetensors.${dead}.${liveTag}.abc.tmp`]: false, // another target
        [`.ck.safetensors.${dead}.${liveTag}.${hostTag}.abc.tmp`]: true, // writer gone, on this host
        [`.ck.safetensors.${dead}.${liveTag}.hzz9.abc.tmp`]: false, // another host or container: its pid means nothing here
        [`.ck.safetensors.${dead}.bak`]: false, // not our pattern
        [`ck.safetensors.${dead}.abc.tmp`]: false, // not our pattern (no leading dot)
        [`.ck.safetensors.x${dead}.abc.tmp`]: false,
      };
      for (const n of Object.keys(files)) fs.writeFileSync(path.join(d, n), 'partial');
      fs.mkdirSync(path.join(d, `.ck.safetensors.${dead}.dir.tmp`)); // a directory is never removed
      const removed = removeStaleTempFiles(target).sort();
      expect(removed).toEqual(
        Object.keys(files)
          .filter((n) => files[n])
          .sort(),
      );
      for (const [n, gone] of Object.entries(files)) expect(fs.existsSync(path.join(d, n)), n).toBe(!gone);
      expect(fs.existsSync(path.join(d, `.ck.safetensors.${dead}.dir.tmp`))).toBe(true);
      // a live process's file untouched for longer than STALE_TEMP_MS is a leftover after all
      const old = `.ck.safetensors.${live.pid}.oldform.tmp`;
      fs.writeFileSync(path.join(d, old), 'partial');
      expect(removeStaleTempFiles(target)).toEqual([]);
      const then = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
      fs.utimesSync(path.join(d, old), then, then);
      expect(removeStaleTempFiles(target)).toEqual([old]);
      // a foreign host's file is removed only once it is that old
      const foreign = `.ck.safetensors.${dead}.${liveTag}.hzz9.abc.tmp`;
      fs.utimesSync(path.join(d, foreign), then, then);
      expect(removeStaleTempFiles(target)).toEqual([foreign]);
    } finally {
      live.kill('SIGKILL');
    }
  }, 30_000);

  it('writeFileAtomic cleans before writing, so a full disk of orphans does not block the next save', () => {
    const d = fs.mkdtempSync(path.join(dir, 'clean-'));
    const target = path.join(d, 'log.json');
    fs.writeFileSync(path.join(d, `.log.json.${2 ** 22 + 7}.s1.q.tmp`), 'x'); // pid above Linux's pid_max: not running
    writeFileAtomic(target, '{"a":1}');
    expect(fs.readdirSync(d)).toEqual(['log.json']);
    expect(fs.readFileSync(target, 'utf8')).toBe('{"a":1}');
  });
});

describe('checkWritablePath: fail before the work, not at the first save', () => {
  it('names the part of the path in the way, and creates nothing', () => {
    const d = fs.mkdtempSync(path.join(dir, 'writable-'));
    const file = path.join(d, 'afile');
    fs.writeFileSync(file, 'x');
    expect(() => checkWritablePath('save', path.join(file, 'deeper', 'm.safetensors'))).toThrow(
      new RegExp(`save: cannot write .*m\\.safetensors: .*afile is a file, not a directory`),
    );
    expect(() => checkWritablePath('save', d)).toThrow(/it is a directory \(give a file path\)/);
    expect(() => checkWritablePath('save', '')).toThrow(/non-empty string/);
    checkWritablePath('save', path.join(d, 'new', 'sub', 'm.safetensors')); // absent dirs are fine
    expect(fs.existsSync(path.join(d, 'new'))).toBe(false);
    if (process.getuid?.() !== 0) {
      const ro = path.join(d, 'ro');
      fs.mkdirSync(ro, { mode: 0o500 });
      expect(() => checkWritablePath('save', path.join(ro, 'm.safetensors'))).toThrow(/ro is not writable \(permission denied\)/);
      fs.chmodSync(ro, 0o700);
    }
  });

  it('ModelCheckpoint checks its path when training begins (it used to fail after the first epoch)', () => {
    const d = fs.mkdtempSync(path.join(dir, 'mc-'));
    fs.writeFileSync(path.join(d, 'runs'), 'not a directory');
    const cb = new ModelCheckpoint({ path: path.join(d, 'runs', 'ck-{epoch}.safetensors') });
    expect(() => cb.onTrainBegin()).toThrow(/ModelCheckpoint: cannot write .*ck-0\.safetensors: .*runs is a file, not a directory/);
    new ModelCheckpoint({ path: path.join(d, 'ok', 'ck.safetensors') }).onTrainBegin();
  });
});

describe('loggers name the part of their path in the way', () => {
  it('CSVLogger / JSONLogger under a regular file or at a directory', async () => {
    const { CSVLogger, JSONLogger } = await import('../../lib/train/callbacks.js');
    const d = fs.mkdtempSync(path.join(dir, 'log-'));
    fs.writeFileSync(path.join(d, 'f'), 'x');
    expect(() => new CSVLogger(path.join(d, 'f', 'log.csv')).onTrainBegin()).toThrow(
      /CSVLogger: cannot write .*log\.csv: .*f is a file, not a directory/,
    );
    expect(() => new JSONLogger(d).onTrainBegin()).toThrow(/JSONLogger: cannot write .*: it is a directory/);
    new JSONLogger(path.join(d, 'sub', 'log.jsonl')).onTrainBegin();
    expect(fs.readFileSync(path.join(d, 'sub', 'log.jsonl'), 'utf8')).toBe('');
  });
});

describe('writeFileAtomic keeps an existing file mode', () => {
  it.skipIf(process.platform === 'win32')('a 0600 file stays 0600 after a rewrite; a new file gets the default', () => {
    const d = fs.mkdtempSync(path.join(dir, 'mode-'));
    const f = path.join(d, 'secret.safetensors');
    writeFileAtomic(f, 'a');
    const fresh = fs.statSync(f).mode & 0o777;
    expect(fresh & 0o600).toBe(0o600);
    fs.chmodSync(f, 0o600);
    writeFileAtomic(f, 'b');
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(f, 'utf8')).toBe('b');
  });
});
