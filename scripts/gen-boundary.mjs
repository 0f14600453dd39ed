#!/usr/bin/env node
// The native boundary, generated from one manifest (the format, and how to add an entry:
// native/manifest/README.md).
//
//   node scripts/gen-boundary.mjs           (npm run gen)        writes every generated file
//   node scripts/gen-boundary.mjs --check   (npm run gen:check)  exit 1 when one is stale (npm run lint runs it)
//
// Sources: native/manifest/cpu/<family>.mjs (the CPU entry points of the addon, every build) and
// native/manifest/cuda/<family>.mjs (the CUDA kernel entry points, CUDA builds only). Each exports
// `entries`, a list of entry descriptions (names, arguments with their kinds, dtypes, the size each
// array must hold, extra checks, the plain C++ function to call).
//
// Outputs (committed, so a clean clone builds without running this):
//   native/cpu/gen_<family>.h    the plain C++ functions the CPU entry points call (the family implements them)
//   native/cpu/gen_<family>.cc   their N-API unpacking + checks, registered with WGCPU_ENTRY
//   native/src/gen_ops_<family>.cc   the CUDA entry points' unpacking + checks, calling k::Launch*
//   binding.d.ts                 the regions between `// <gen:NAME>` and `// </gen:NAME>` (CpuKernelBinding, KernelBinding)
// Output is deterministic: sorted families, entries in manifest order, then clang-format (C++,
// .clang-format) and prettier (TS, .prettierrc), the same tools `npm run lint` checks with.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = 'scripts/gen-boundary.mjs';

// ---- manifest loading and validation ----------------------------------------------------------

class ManifestError extends Error {}
const fail = (where, msg) => {
  throw new ManifestError(`${where}: ${msg}`);
};

async function loadFamilies(kind) {
  const dir = path.join(root, 'native', 'manifest', kind);
  if (!fs.existsSync(dir)) return [];
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.mjs'))
    .sort();
  const out = [];
  for (const f of files) {
    const family = f.slice(0, -4);
    const rel = `native/manifest/${kind}/${f}`;
    if (!/^[a-z][a-z0-9_]*$/.test(family)) fail(rel, `family name '${family}' must be lower-case letters, digits and _`);
    const mod = await import(pathToFileURL(path.join(dir, f)).href);
    if (!Array.isArray(mod.entries)) fail(rel, 'must export `entries` (an array of entry descriptions)');
    out.push({ family, rel, entries: mod.entries });
  }
  return out;
}

// Typed-array element types of the CPU entry points: manifest name -> [napi type, C++ type, JS class].
const CPU_TYPES = {
  f32: ['napi_float32_array', 'float', 'Float32Array'],
  f64: ['napi_float64_array', 'double', 'Float64Array'],
  i32: ['napi_int32_array', 'int32_t', 'Int32Array'],
  u32: ['napi_uint32_array', 'uint32_t', 'Uint32Array'],
  u16: ['napi_uint16_array', 'uint16_t', 'Uint16Array'],
  i8: ['napi_int8_array', 'int8_t', 'Int8Array'],
  u8: ['napi_uint8_array', 'uint8_t', 'Uint8Array'],
};
const CPU_KINDS = ['array', 'list', 'size', 'int', 'number', 'bool'];

function validateCpu(fam, seen) {
  for (const [ei, e] of fam.entries.entries()) {
    const where = `${fam.rel}: entry ${e?.name ?? `#${ei}`}`;
    if (!e || typeof e.name !== 'string' || !/^cpu[A-Z][A-Za-z0-9]*$/.test(e.name))
      fail(where, "name must be the JS export, 'cpu' + CamelCase (e.g. cpuConv2d)");
    if (seen.has(e.name)) fail(where, `duplicate entry name (also in ${seen.get(e.name)})`);
    seen.set(e.name, fam.rel);
    if (e.kernel !== null && typeof e.kernel !== 'string')
      fail(where, 'kernel must be the kernel name it makes native (lib/backend/kernels.ts) or null');
    if (e.fn !== undefined && !/^[A-Z][A-Za-z0-9]*$/.test(e.fn)) fail(where, 'fn must be a C++ identifier in CamelCase');
    if (e.types !== undefined && (!Array.isArray(e.types) || e.types.length === 0 || e.types.some((t) => !CPU_TYPES[t])))
      fail(where, `types must list element types of ${Object.keys(CPU_TYPES).join(', ')}`);
    if (!Array.isArray(e.args)) fail(where, 'args must be an array');
    const names = new Set();
    for (const a of e.args) {
      const aw = `${where}, argument ${a?.name}`;
      if (!a || typeof a.name !== 'string' || !/^[a-z][A-Za-z0-9]*$/.test(a.name)) fail(aw, 'name must be a lowerCamelCase identifier');
      if (names.has(a.name)) fail(aw, 'duplicate argument name');
      names.add(a.name);
      if (!CPU_KINDS.includes(a.kind)) fail(aw, `kind must be one of ${CPU_KINDS.join(', ')}`);
      if (a.kind === 'array' || a.kind === 'list') {
        if (a.type === 'T') {
          if (!e.types) fail(aw, "type 'T' needs the entry's `types`");
        } else if (!CPU_TYPES[a.type]) fail(aw, `type must be 'T' or one of ${Object.keys(CPU_TYPES).join(', ')}`);
      }
      if (a.kind === 'array' && typeof a.need !== 'string')
        fail(aw, 'an array needs `need`: the element count it must hold (a C++ expression)');
      if (a.kind === 'list' && a.sameLengths !== undefined && typeof a.sameLengths !== 'boolean') fail(aw, 'sameLengths must be a boolean');
    }
    if (e.types) {
      const firm = e.args.filter((a) => (a.kind === 'array' || a.kind === 'list') && a.type === 'T' && !a.nullable);
      if (firm.length === 0) fail(where, "`types` needs at least one non-nullable array or list of type 'T'");
    }
    for (const [o, i] of e.noOverlap ?? []) {
      for (const n of [o, i]) {
        const a = e.args.find((x) => x.name === n);
        if (!a || a.kind !== 'array') fail(where, `noOverlap names '${n}', which is not an array argument`);
      }
    }
    for (const c of e.checks ?? []) {
      if (typeof c.if !== 'string' || (typeof c.msg !== 'string' && typeof c.msgExpr !== 'string'))
        fail(where, 'each check needs `if` (C++ condition that is an error) and `msg` (text) or `msgExpr` (C++ std::string expression)');
      if (c.error !== undefined && !['Error', 'TypeError', 'RangeError'].includes(c.error))
        fail(where, 'check error must be Error, TypeError or RangeError');
    }
  }
}

// ---- CPU: C++ ---------------------------------------------------------------------------------

const cppStr = (s) => JSON.stringify(s);
const fnName = (e) => e.fn ?? e.name[0].toUpperCase() + e.name.slice(1);
const andList = (names) => (names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
const signature = (e) => e.args.map((a) => a.name).join(', ');

/** The C++ parameter list of the plain function for one concrete element type of the group (null: no group). */
function cpuParams(e, groupType) {
  return e.args.map((a) => {
    const elem = a.type === 'T' ? CPU_TYPES[groupType][1] : CPU_TYPES[a.type]?.[1];
    switch (a.kind) {
      case 'array':
        return `${a.out ? '' : 'const '}${elem}* ${a.name}`;
      case 'list':
        return `const ArrayList<${a.out ? '' : 'const '}${elem}>& ${a.name}`;
      case 'size':
      case 'int':
        return `int64_t ${a.name}`;
      case 'number':
        return `double ${a.name}`;
      case 'bool':
        return `bool ${a.name}`;
    }
    throw new Error('unreachable');
  });
}

function docLines(e) {
  const lines = [`${e.name}(${signature(e)})${e.kernel ? ` — makes '${e.kernel}' native` : ''}`];
  if (e.doc) lines.push(...String(e.doc).split('\n'));
  return lines.map((l) => `// ${l}`.trimEnd()).join('\n');
}

function genCpuHeader(fam) {
  const out = [
    `// generated by ${SELF} from ${fam.rel}`,
    '// do not edit: change the manifest, then npm run gen.',
    '//',
    `// The plain C++ functions the '${fam.family}' CPU entry points call after native/cpu/gen_${fam.family}.cc`,
    '// has unpacked and checked their arguments (every array holds its `need`, the types agree). The',
    '// family implements them (namespace wgcpu). They return nullptr, or a message that becomes an',
    '// Error "<entry>: <message>" in JS.',
    '#pragma once',
    '',
    '#include <stdint.h>',
    '',
    '#include "entry_types.h"',
    '',
    'namespace wgcpu {',
    '',
  ];
  for (const e of fam.entries) {
    out.push(docLines(e));
    for (const t of e.types ?? [null]) out.push(`const char* ${fnName(e)}(${cpuParams(e, t).join(', ')});`);
    out.push('');
  }
  out.push('}  // namespace wgcpu', '');
  return out.join('\n');
}

function genCpuEntry(e) {
  const L = [];
  const n = e.args.length;
  L.push(docLines(e));
  L.push(`Napi::Value Entry_${e.name}(const Napi::CallbackInfo& info) {`);
  L.push(`  const char* fn = ${cppStr(e.name)};`);
  L.push('  Napi::Env env = info.Env();');
  L.push(`  ArgCount(info, ${n}, fn, ${cppStr(signature(e))});`);
  const typesVar = (a) => (a.type === 'T' ? 'kGroup' : `kType_${a.type}`);
  const typesLen = (a) => (a.type === 'T' ? e.types.length : 1);
  if (e.types) L.push(`  static const napi_typedarray_type kGroup[] = {${e.types.map((t) => CPU_TYPES[t][0]).join(', ')}};`);
  const fixed = [...new Set(e.args.filter((a) => (a.kind === 'array' || a.kind === 'list') && a.type !== 'T').map((a) => a.type))];
  for (const t of fixed) L.push(`  static const napi_typedarray_type kType_${t}[] = {${CPU_TYPES[t][0]}};`);
  e.args.forEach((a, i) => {
    const nm = cppStr(a.name);
    switch (a.kind) {
      case 'array':
        L.push(
          `  const TypedArr arr_${a.name} = OneOf(info, ${i}, fn, ${nm}, ${typesVar(a)}, ${typesLen(a)}${a.nullable ? ', true' : ''});`,
        );
        break;
      case 'list':
        L.push(
          `  const TypedList list_${a.name} = ListOf(info, ${i}, fn, ${nm}, ${typesVar(a)}, ${typesLen(a)}${a.nullable ? ', true' : ''});`,
        );
        break;
      case 'size':
        L.push(`  const int64_t ${a.name} = Size(info, ${i}, fn, ${nm});`);
        break;
      case 'int':
        L.push(`  const int64_t ${a.name} = Integer(info, ${i}, fn, ${nm});`);
        break;
      case 'number':
        L.push(`  const double ${a.name} = Num(info, ${i}, fn, ${nm});`);
        break;
      case 'bool':
        L.push(`  const bool ${a.name} = Bool(info, ${i});`);
        break;
    }
  });
  const witness = (a) => (a.kind === 'array' ? `&arr_${a.name}` : `&list_${a.name}.witness`);
  const group = e.args.filter((a) => (a.kind === 'array' || a.kind === 'list') && a.type === 'T');
  if (group.length > 1) L.push(`  SameType(env, fn, ${cppStr(andList(group.map((a) => a.name)))}, {${group.map(witness).join(', ')}});`);
  const lists = e.args.filter((a) => a.kind === 'list');
  for (const l of lists.slice(1))
    L.push(
      `  ListMatches(env, fn, ${cppStr(l.name)}, list_${l.name}, ${cppStr(lists[0].name)}, list_${lists[0].name}, ${l.sameLengths ? 'true' : 'false'});`,
    );
  for (const c of e.checks ?? []) {
    const msg = c.msgExpr ?? cppStr(c.msg);
    L.push(`  if (${c.if}) throw Napi::${c.error ?? 'RangeError'}::New(env, std::string(fn) + ": " + ${msg});`);
  }
  const arrays = e.args.filter((a) => a.kind === 'array');
  for (const a of arrays) L.push(`  const double need_${a.name} = ${a.need};`);
  if (e.sizeError) {
    const cond = arrays.map((a) => `(arr_${a.name}.present && need_${a.name} > double(arr_${a.name}.length))`).join(' || ');
    if (cond) L.push(`  if (${cond}) throw Napi::RangeError::New(env, std::string(fn) + ": " + ${e.sizeError});`);
  } else {
    for (const a of arrays) L.push(`  Need(env, fn, ${cppStr(a.name)}, arr_${a.name}, need_${a.name});`);
  }
  for (const [o, i] of e.noOverlap ?? []) {
    const bytes = (x) => `size_t(need_${x}) * ElemBytes(arr_${x}.type)`;
    L.push(
      `  if (Overlap(arr_${o}.data, ${bytes(o)}, arr_${i}.data, ${bytes(i)})) throw Napi::RangeError::New(env, std::string(fn) + ${cppStr(`: ${o} overlaps ${i} (an input); pass a separate output array`)});`,
    );
  }
  // the call, once per element type of the group
  const call = (t) => {
    const pre = [];
    const args = e.args.map((a) => {
      const elem = a.type === 'T' ? CPU_TYPES[t][1] : CPU_TYPES[a.type]?.[1];
      const q = a.out ? '' : 'const ';
      if (a.kind === 'array') return `static_cast<${q}${elem}*>(arr_${a.name}.data)`;
      if (a.kind === 'list') {
        pre.push(`const std::vector<${q}${elem}*> ptr_${a.name} = Ptrs<${q}${elem}>(list_${a.name});`);
        return `ArrayList<${q}${elem}>{ptr_${a.name}.data(), list_${a.name}.length.data(), int64_t(ptr_${a.name}.size())}`;
      }
      return a.name;
    });
    return { pre, expr: `wgcpu::${fnName(e)}(${args.join(', ')})` };
  };
  L.push('  const char* err = nullptr;');
  if (!e.types) {
    const c = call(null);
    L.push(`  {`, ...c.pre.map((p) => `    ${p}`), `    err = ${c.expr};`, '  }');
  } else {
    const firm = group.find((a) => !a.nullable);
    const firmType = firm.kind === 'array' ? `arr_${firm.name}.type` : `list_${firm.name}.witness.type`;
    L.push(`  const napi_typedarray_type t = GroupType({${group.map(witness).join(', ')}}, ${firmType});`);
    e.types.forEach((t, i) => {
      const c = call(t);
      const head =
        i === 0 ? `if (t == ${CPU_TYPES[t][0]}) {` : i === e.types.length - 1 ? '} else {' : `} else if (t == ${CPU_TYPES[t][0]}) {`;
      L.push(`  ${head}`, ...c.pre.map((p) => `    ${p}`), `    err = ${c.expr};`);
    });
    L.push('  }');
  }
  L.push('  if (err) throw Napi::Error::New(env, std::string(fn) + ": " + err);');
  L.push('  return env.Undefined();');
  L.push('}');
  L.push(`WGCPU_ENTRY(${cppStr(e.name)}, Entry_${e.name}, ${e.kernel ? cppStr(e.kernel) : 'nullptr'});`);
  return L.join('\n');
}

function genCpuSource(fam) {
  const out = [
    `// generated by ${SELF} from ${fam.rel}`,
    '// do not edit: change the manifest, then npm run gen.',
    '//',
    `// N-API entry points of the '${fam.family}' CPU kernels: argument count, types, sizes and the`,
    `// manifest's checks, then the plain functions of gen_${fam.family}.h.`,
    '#include <napi.h>',
    '',
    '#include <string>',
    '#include <vector>',
    '',
    `#include "gen_${fam.family}.h"`,
    '#include "napi_util.h"',
    '#include "registry.h"',
    '',
    'namespace {',
    '',
    'using namespace wgcpu::napi;',
    'using wgcpu::ArrayList;',
    '',
  ];
  for (const e of fam.entries) out.push(genCpuEntry(e), '');
  out.push('}  // namespace', '');
  return out.join('\n');
}

// ---- CPU: TypeScript --------------------------------------------------------------------------

function tsCpuArg(e, a) {
  // the group as a union (the native side checks that the arrays agree; a generic would make
  // tests that pass a wrong type on purpose cast)
  const group = e.types ? e.types.map((t) => CPU_TYPES[t][2]).join(' | ') : null;
  const cls = a.type === 'T' ? group : CPU_TYPES[a.type]?.[2];
  let t;
  switch (a.kind) {
    case 'array':
      t = cls;
      break;
    case 'list':
      t = a.type === 'T' && e.types.length > 1 ? `(${cls})[]` : `${cls}[]`;
      break;
    case 'bool':
      t = 'boolean';
      break;
    default:
      t = 'number';
  }
  return `${a.name}: ${t}${a.nullable ? ' | null' : ''}`;
}

function genCpuTs(families) {
  const out = [
    '/**',
    ' * The CPU kernel entry points (native/manifest/cpu/*.mjs). Every build has them; an addon built',
    ' * before an entry was added lacks it, so callers check `typeof binding.cpuX === "function"`.',
    ' * Arrays are the js backend storage itself (zero copy); sizes are checked, too-short arrays throw.',
    ' */',
    'export interface CpuKernelBinding {',
  ];
  for (const fam of families) {
    for (const e of fam.entries) {
      const doc = [`${fam.rel}${e.kernel ? `; makes '${e.kernel}' native` : ''}`, ...(e.doc ? String(e.doc).split('\n') : [])];
      out.push(`  /**`, ...doc.map((d) => ` * ${d}`.trimEnd()), `   */`);
      out.push(`  ${e.name}(${e.args.map((a) => tsCpuArg(e, a)).join(', ')}): void;`);
    }
  }
  out.push('}');
  return out.join('\n');
}

// ---- regions, formatting, writing -------------------------------------------------------------

function replaceRegion(text, name, body, file) {
  const begin = `// <gen:${name}>`;
  const end = `// </gen:${name}>`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file}: markers '${begin}' ... '${end}' not found`);
  const lineEnd = text.indexOf('\n', i);
  return `${text.slice(0, lineEnd + 1)}${body}\n${text.slice(j)}`;
}

function clangFormat(text, file) {
  const bin = process.env.CLANG_FORMAT || 'clang-format';
  const r = spawnSync(bin, ['--style=file', `--assume-filename=${file}`], { cwd: root, input: text, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`gen-boundary: ${bin} failed on ${file} (${r.error?.message ?? r.stderr}); install clang-format or set CLANG_FORMAT`);
  return r.stdout;
}

async function prettierFormat(text, file) {
  const prettier = await import('prettier');
  const abs = path.join(root, file);
  const options = (await prettier.resolveConfig(abs)) ?? {};
  return prettier.format(text, { ...options, filepath: abs });
}

async function generate() {
  const cpu = await loadFamilies('cpu');
  const seen = new Map();
  for (const f of cpu) validateCpu(f, seen);

  const files = new Map(); // relative path -> content
  for (const f of cpu) {
    if (f.entries.length === 0) continue;
    files.set(`native/cpu/gen_${f.family}.h`, clangFormat(genCpuHeader(f), `native/cpu/gen_${f.family}.h`));
    files.set(`native/cpu/gen_${f.family}.cc`, clangFormat(genCpuSource(f), `native/cpu/gen_${f.family}.cc`));
  }
  const bindingPath = 'binding.d.ts';
  let binding = fs.readFileSync(path.join(root, bindingPath), 'utf8');
  binding = replaceRegion(binding, 'cpu', genCpuTs(cpu), bindingPath);
  files.set(bindingPath, await prettierFormat(binding, bindingPath));

  // generated files whose manifest is gone
  const orphans = fs
    .readdirSync(path.join(root, 'native', 'cpu'))
    .filter((f) => /^gen_.*\.(cc|h)$/.test(f))
    .map((f) => `native/cpu/${f}`)
    .filter((p) => !files.has(p));
  return { files, orphans };
}

async function main() {
  const check = process.argv.includes('--check');
  const { files, orphans } = await generate();
  const stale = [];
  for (const [rel, content] of files) {
    const abs = path.join(root, rel);
    const cur = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : null;
    if (cur === content) continue;
    stale.push(rel);
    if (!check) fs.writeFileSync(abs, content);
  }
  for (const rel of orphans) {
    stale.push(`${rel} (its manifest is gone)`);
    if (!check) fs.rmSync(path.join(root, rel));
  }
  if (check) {
    if (stale.length) {
      console.error(`gen-boundary: generated files are stale (run npm run gen and commit them):\n  ${stale.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`gen-boundary: ${files.size} generated files up to date`);
  } else {
    console.log(
      stale.length ? `gen-boundary: wrote ${stale.join(', ')}` : `gen-boundary: ${files.size} generated files already up to date`,
    );
  }
}

main().catch((e) => {
  console.error(e instanceof ManifestError ? `gen-boundary: ${e.message}` : e);
  process.exit(1);
});
