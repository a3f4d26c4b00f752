#!/usr/bin/env node
// ONNX Runtime (CPU, from npm's onnxruntime-node) as a peer of nabla's graph
// runtime: runs an .onnx file on .npy inputs, checks its outputs against
// .npy references, writes them, and benchmarks it like nabla-run --bench.
//
//   node scripts/peers/ort_run.js MODEL.onnx [--input NAME=FILE.npy ...]
//        [--dim NAME=VALUE ...] [--compare NAME=FILE.npy ...] [--tolerance 1e-5]
//        [--out-dir DIR] [--threads N] [--graph-opt all|extended|basic|disabled]
//        [--bench RUNS [--warmup W]] [--seed S] [--json]
//   node scripts/peers/ort_run.js --version
//
// Inputs without --input are seeded random normals (zeros for integer and
// bool inputs) with symbolic dimensions from --dim, 1 by default. --compare
// prints, per output, max|diff| / max|ref| (max|diff| where ref is all zero)
// and fails above the tolerance. --out-dir writes each output as NAME.npy.
// --bench reports the median and p90 latency, the cold start (session
// creation + first run, and from process start to the first result) and the
// peak RSS (VmHWM; process.resourceUsage().maxRSS where there is no /proc);
// --json prints one JSON object on stdout (compare lines then go to stderr).
// Exit codes: 0 success, 1 a mismatch or a runtime error, 2 usage error,
// 77 onnxruntime-node is not installed (scripts/install-deps.sh --ort).
'use strict';

const fs = require('fs');
const path = require('path');

class UsageError extends Error {}

// ---------------------------------------------------------------------------
// .npy files: little-endian float32, float64, int64, int32, uint8 and bool,
// C order, format versions 1-3.

const NPY_DTYPES = {
  '<f4': { type: 'float32', size: 4, array: Float32Array },
  '<f8': { type: 'float64', size: 8, array: Float64Array },
  '<i8': { type: 'int64', size: 8, array: BigInt64Array },
  '<i4': { type: 'int32', size: 4, array: Int32Array },
  '|u1': { type: 'uint8', size: 1, array: Uint8Array },
  '|b1': { type: 'bool', size: 1, array: Uint8Array },
};

function npyHeaderValue(file, header, key) {
  const at = header.indexOf(`'${key}'`);
  if (at < 0) throw new Error(`${file}: the .npy header has no '${key}' entry (header: ${header})`);
  let pos = header.indexOf(':', at) + 1;
  while (header[pos] === ' ') pos += 1;
  let end = pos;
  let depth = 0;
  while (end < header.length) {
    const c = header[end];
    if (c === '(') depth += 1;
    if (c === ')') depth -= 1;
    if (depth === 0 && (c === ',' || c === '}')) break;
    end += 1;
  }
  if (depth !== 0 || end === header.length) throw new Error(`${file}: malformed .npy header value for '${key}'`);
  return header.slice(pos, end).trim();
}

function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.length < 10 || bytes[0] !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new Error(`${file}: offset 0: not a .npy file (no \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  let headerStart;
  let headerLen;
  if (major === 1) {
    headerStart = 10;
    headerLen = bytes.readUInt16LE(8);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error(`${file}: offset 8: the .npy header is truncated`);
    headerStart = 12;
    headerLen = bytes.readUInt32LE(8);
  } else {
    throw new Error(`${file}: offset 6: unsupported .npy format version ${major}`);
  }
  if (headerStart + headerLen > bytes.length) throw new Error(`${file}: offset 8: the .npy header is truncated`);
  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLen);
  const descr = npyHeaderValue(file, header, 'descr').replace(/^['"]|['"]$/g, '');
  const dtype = NPY_DTYPES[descr];
  if (!dtype) {
    throw new Error(`${file}: unsupported .npy dtype '${descr}' (reads ${Object.keys(NPY_DTYPES).join(', ')})`);
  }
  const fortran = npyHeaderValue(file, header, 'fortran_order');
  if (fortran !== 'False') throw new Error(`${file}: fortran_order is ${fortran}; save a C-order array`);
  const shapeText = npyHeaderValue(file, header, 'shape');
  if (!/^\(\s*(\d+\s*(,\s*\d+\s*)*,?\s*)?\)$/.test(shapeText)) throw new Error(`${file}: malformed .npy shape '${shapeText}'`);
  const shape = shapeText.slice(1, -1).split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const numel = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  if (bytes.length - dataStart !== numel * dtype.size) {
    throw new Error(`${file}: offset ${dataStart}: shape (${shape.join(', ')}) of '${descr}' needs ${numel * dtype.size} bytes ` +
                    `of data, the file has ${bytes.length - dataStart}`);
  }
  // A fresh buffer: the typed array needs its element alignment.
  const copy = bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + bytes.length);
  return { type: dtype.type, shape, data: new dtype.array(copy) };
}

function writeNpy(file, type, shape, data) {
  const descr = Object.keys(NPY_DTYPES).find((k) => NPY_DTYPES[k].type === type);
  if (!descr) throw new Error(`${file}: cannot write a ${type} tensor as .npy`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // NumPy pads the header with spaces and a newline to a multiple of 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const prefix = Buffer.alloc(10);
  prefix[0] = 0x93;
  prefix.write('NUMPY', 1, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}

// ---------------------------------------------------------------------------
// Command line.

function parseArgs(argv) {
  const o = {
    model: null, inputs: [], dims: [], compare: [], tolerance: 1e-5, outDir: null, threads: 1,
    graphOpt: 'all', bench: 0, warmup: 5, seed: 0, json: false,
  };
  const value = (i, flag) => {
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    return argv[i + 1];
  };
  const number = (text, flag, { integer = false, min = -Infinity } = {}) => {
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min) {
      throw new UsageError(`${flag} '${text}': expected ${integer ? 'an integer' : 'a number'} >= ${min}`);
    }
    return v;
  };
  const assignment = (text, flag) => {
    const eq = text.indexOf('=');
    if (eq <= 0 || eq === text.length - 1) throw new UsageError(`${flag} '${text}': expected NAME=${flag === '--dim' ? 'VALUE' : 'FILE'}`);
    return [text.slice(0, eq), text.slice(eq + 1)];
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    switch (a) {
      case '--input': o.inputs.push(assignment(value(i, a), a)); i += 1; break;
      case '--dim': {
        const [name, v] = assignment(value(i, a), a);
        o.dims.push([name, number(v, a, { integer: true, min: 0 })]);
        i += 1;
        break;
      }
      case '--compare': o.compare.push(assignment(value(i, a), a)); i += 1; break;
      case '--tolerance': o.tolerance = number(value(i, a), a, { min: 0 }); i += 1; break;
      case '--out-dir': o.outDir = value(i, a); i += 1; break;
      case '--threads': o.threads = number(value(i, a), a, { integer: true, min: 1 }); i += 1; break;
      case '--graph-opt':
        o.graphOpt = value(i, a);
        if (!['all', 'extended', 'basic', 'disabled'].includes(o.graphOpt)) throw new UsageError(`--graph-opt '${o.graphOpt}'`);
        i += 1;
        break;
      case '--bench': o.bench = number(value(i, a), a, { integer: true, min: 1 }); i += 1; break;
      case '--warmup': o.warmup = number(value(i, a), a, { integer: true, min: 0 }); i += 1; break;
      case '--seed': o.seed = number(value(i, a), a, { integer: true, min: 0 }); i += 1; break;
      case '--json': o.json = true; break;
      case '--version': o.version = true; break;
      case '-h':
      case '--help': o.help = true; break;
      default:
        if (a.startsWith('-') || o.model !== null) throw new UsageError(`unknown argument '${a}'`);
        o.model = a;
    }
  }
  if (!o.help && !o.version && o.model === null) throw new UsageError('no model given');
  return o;
}

function usage() {
  const text = fs.readFileSync(__filename, 'utf8').split('\n');
  const end = text.findIndex((line) => line.startsWith("'use strict'"));
  return text.slice(1, end).map((line) => line.replace(/^\/\/ ?/, '')).join('\n');
}

// ---------------------------------------------------------------------------
// ONNX Runtime, from the project's install (scripts/peers/ort) or NODE_PATH.

function loadOrt() {
  const candidates = [path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node'), 'onnxruntime-node'];
  for (const where of candidates) {
    let resolved;
    try {
      resolved = require.resolve(where);
    } catch (e) {
      continue;  // not installed there
    }
    const ort = require(resolved);
    let version = 'unknown';
    try {
      version = JSON.parse(fs.readFileSync(path.join(path.dirname(resolved), '..', 'package.json'), 'utf8')).version;
    } catch (e) {
      version = (ort.env && ort.env.versions && ort.env.versions.node) || 'unknown';
    }
    return { ort, version };
  }
  return null;
}

// Seeded standard normals (mulberry32 + Box-Muller): any fixed data will do.
function normalGenerator(seed) {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

const TYPED_ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array,
  int8: Int8Array, uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, uint64: BigUint64Array,
};

function randomInput(meta, dims, seed) {
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : dims.has(String(d)) ? dims.get(String(d)) : 1));
  const numel = shape.reduce((a, b) => a * b, 1);
  const Array_ = TYPED_ARRAYS[meta.type];
  if (!Array_) throw new Error(`input '${meta.name}': no random data for type ${meta.type}; pass --input`);
  const data = new Array_(numel);
  if (meta.type === 'float32' || meta.type === 'float64') {
    const next = normalGenerator(seed);
    for (let i = 0; i < numel; i += 1) data[i] = next();
  }
  return { type: meta.type, shape, data };
}

// Converts a .npy array to the input's type where both are floating (the
// zoo's inputs are float32; a float64 file still feeds a float32 input).
function castTo(array, type, name) {
  if (array.type === type) return array;
  const floating = (t) => t === 'float32' || t === 'float64';
  if (!(floating(array.type) && floating(type))) {
    throw new Error(`--input ${name}: the array is ${array.type} but the input is ${type}`);
  }
  return { type, shape: array.shape, data: TYPED_ARRAYS[type].from(array.data) };
}

function toNumber(v) {
  return typeof v === 'bigint' ? Number(v) : v;
}

// max |out - ref| / max |ref| (max |out - ref| where ref is all zero); a NaN
// or a shape mismatch counts as an infinite difference.
function relativeDiff(out, ref) {
  const sameShape = out.shape.length === ref.shape.length && out.shape.every((d, i) => d === ref.shape[i]);
  if (!sameShape) return { rel: Infinity, diff: Infinity, scale: NaN, note: `shape [${out.shape}] vs reference [${ref.shape}]` };
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.data.length; i += 1) {
    const r = toNumber(ref.data[i]);
    const o = toNumber(out.data[i]);
    let d = Math.abs(o - r);
    if (Number.isNaN(d)) d = Number.isNaN(o) && Number.isNaN(r) ? 0 : Infinity;
    if (d > diff) diff = d;
    if (Math.abs(r) > scale) scale = Math.abs(r);
  }
  return { rel: scale === 0 ? diff : diff / scale, diff, scale, note: '' };
}

function percentile(sorted, p) {
  const k = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, k === 0 ? 0 : k - 1)];
}

function latencyStats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const n = s.length;
  return {
    median: n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]),
    p90: percentile(s, 0.9), p95: percentile(s, 0.95), p99: percentile(s, 0.99),
    min: s[0], max: s[n - 1], mean: s.reduce((a, b) => a + b, 0) / n,
  };
}

// The peak RSS: VmHWM belongs to this process's own memory map, where
// getrusage's maxRSS also counts the parent's RSS when it forked this one.
function peakRssBytes() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch (e) {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;  // KiB
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  const loaded = loadOrt();
  if (!loaded) {
    console.log('SKIP: onnxruntime-node is not installed (bash scripts/install-deps.sh --ort, or ' +
                'npm ci --ignore-scripts in scripts/peers/ort)');
    return 77;
  }
  const { ort, version } = loaded;
  if (o.version) {
    console.log(`onnxruntime-node ${version}`);
    return 0;
  }
  if (!fs.existsSync(o.model)) throw new Error(`${o.model}: no such file`);

  let start = nowMs();
  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: o.graphOpt,
  });
  const sessionMs = nowMs() - start;

  const inputMeta = session.inputMetadata || session.inputNames.map((name) => ({ name, type: 'float32', shape: [] }));
  const given = new Map(o.inputs);
  for (const name of given.keys()) {
    if (!session.inputNames.includes(name)) {
      throw new UsageError(`--input ${name}: the model has no input named '${name}' (inputs: ${session.inputNames.join(', ')})`);
    }
  }
  for (const [name] of o.compare) {
    if (!session.outputNames.includes(name)) {
      throw new UsageError(`--compare ${name}: the model has no output named '${name}' (outputs: ${session.outputNames.join(', ')})`);
    }
  }
  const dims = new Map(o.dims);
  const feeds = {};
  const inputsJson = [];
  inputMeta.forEach((meta, k) => {
    const array = given.has(meta.name) ? castTo(readNpy(given.get(meta.name)), meta.type || 'float32', meta.name)
                                       : randomInput(meta, dims, o.seed + k);
    feeds[meta.name] = new ort.Tensor(array.type, array.data, array.shape);
    inputsJson.push({ name: meta.name, dtype: array.type, shape: array.shape, file: given.get(meta.name) || null });
  });

  start = nowMs();
  const results = await session.run(feeds);
  const firstRunMs = nowMs() - start;
  // performance.now() counts from the process's start.
  const processColdMs = require('perf_hooks').performance.now();

  const say = (line) => (o.json ? process.stderr : process.stdout).write(line + '\n');
  const outputsJson = session.outputNames.map((name) => {
    const t = results[name];
    let checksum = 0;
    for (let i = 0; i < t.data.length; i += 1) checksum += toNumber(t.data[i]);
    return { name, dtype: t.type, shape: t.dims.map(Number), checksum };
  });
  if (!o.json) {
    say(`Model: ${o.model} (onnxruntime-node ${version}, threads ${o.threads})`);
    for (const out of outputsJson) say(`  ${out.name}: ${out.dtype} [${out.shape.join(', ')}] checksum (sum) ${out.checksum}`);
  }

  let failed = false;
  const compareJson = [];
  for (const [name, file] of o.compare) {
    const t = results[name];
    const r = relativeDiff({ shape: t.dims.map(Number), data: t.data }, readNpy(file));
    const ok = r.rel <= o.tolerance;
    failed = failed || !ok;
    say(`ort_run: output '${name}' vs ${path.basename(file)}: max|diff| ${r.diff.toExponential(3)}, max|ref| ` +
        `${Number(r.scale).toExponential(3)}, relative ${r.rel.toExponential(3)} (tolerance ${o.tolerance}) ` +
        `${ok ? 'ok' : 'MISMATCH'}${r.note ? ' (' + r.note + ')' : ''}`);
    compareJson.push({ name, file, max_abs_diff: r.diff, scale: r.scale, relative: r.rel, ok, note: r.note });
  }

  if (o.outDir) {
    fs.mkdirSync(o.outDir, { recursive: true });
    for (const name of session.outputNames) {
      const t = results[name];
      writeNpy(path.join(o.outDir, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'), t.type, t.dims.map(Number), t.data);
    }
  }

  const report = {
    model: o.model, engine: `onnxruntime-node ${version}`, threads: o.threads, graph_optimization: o.graphOpt,
    inputs: inputsJson, outputs: outputsJson, compare: compareJson,
  };
  if (o.bench) {
    for (let i = 0; i < o.warmup; i += 1) await session.run(feeds);
    const latencies = [];
    const benchStart = nowMs();
    for (let i = 0; i < o.bench; i += 1) {
      const t = nowMs();
      await session.run(feeds);
      latencies.push(nowMs() - t);
    }
    const wallMs = nowMs() - benchStart;
    const s = latencyStats(latencies);
    const peak = peakRssBytes();
    report.bench = {
      threads: o.threads, warmup: o.warmup, runs: latencies.length, session_ms: sessionMs, first_run_ms: firstRunMs,
      cold_start_ms: sessionMs + firstRunMs, process_cold_start_ms: processColdMs, latency_ms: s,
      inferences_per_s: (1000 * latencies.length) / wallMs, peak_rss_bytes: peak,
    };
    if (!o.json) {
      const f = (v) => v.toFixed(3);
      say(`Benchmark: threads ${o.threads}, warmup ${o.warmup}, ${latencies.length} runs`);
      say(`  session creation ${f(sessionMs)} ms, first run ${f(firstRunMs)} ms, cold start ${f(sessionMs + firstRunMs)} ms ` +
          `(${f(processColdMs)} ms from process start)`);
      say(`  peak RSS ${peak} bytes (${(peak / 1048576).toFixed(1)} MiB)`);
      say(`Latency: median ${f(s.median)} ms, p90 ${f(s.p90)} ms, min ${f(s.min)} ms, mean ${f(s.mean)} ms; ` +
          `${report.bench.inferences_per_s.toFixed(2)} inferences/s`);
    }
  }
  if (o.json) process.stdout.write(JSON.stringify(report) + '\n');
  return failed ? 1 : 0;
}

main().then((rc) => {
  process.exitCode = rc;
}, (e) => {
  if (e instanceof UsageError) {
    process.stderr.write(`ort_run: ${e.message}\nRun with --help for usage.\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`ort_run: ${e && e.message ? e.message : e}\n`);
    process.exitCode = 1;
  }
});
