'use strict'
// Generates vectors/storage/<name>/ (feed directories written by hypercore
// 9.12.0 on disk) and vectors/storage.json (what each holds, every file in
// hex).
//
//   node interop/js/vectors/storage.js OUTDIR

const fs = require('fs')
const path = require('path')
const Hypercore = require('hypercore')
const crypto = require('hypercore-crypto')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

const kp = crypto.keyPair(seed('hypercore-go v9 vectors: writer'))
const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))
const FILES = ['key', 'secret_key', 'tree', 'data', 'bitfield', 'signatures']

async function writer (dir, calls) {
  const w = new Hypercore(dir, kp.publicKey, { secretKey: kp.secretKey })
  for (const c of calls) await p((cb) => w.append(c.map((s) => Buffer.from(s)), cb))
  return w
}

async function clone (dir, src, gets, sparse) {
  const r = new Hypercore(dir, kp.publicKey, { sparse })
  const a = src.replicate(true, { live: true })
  const b = r.replicate(false, { live: true })
  a.pipe(b).pipe(a)
  for (const i of gets) await p((cb) => r.get(i, cb))
  if (gets.length === 0) await p((cb) => r.update(cb))
  a.destroy()
  b.destroy()
  return r
}

async function describe (name, dir, feed) {
  const blocks = []
  for (let i = 0; i < feed.length; i++) {
    blocks.push(feed.has(i) ? hex(await p((cb) => feed.get(i, { wait: false }, cb))) : null)
  }
  const t = {
    comment: name,
    flags: [],
    directory: 'storage/' + name,
    key: hex(feed.key),
    discoveryKey: hex(feed.discoveryKey),
    writable: feed.writable,
    length: feed.length,
    byteLength: feed.byteLength,
    blocks,
    result: 'valid'
  }
  await p((cb) => feed.close(cb))
  t.files = {}
  for (const f of FILES) {
    const file = path.join(dir, f)
    t.files[f] = fs.existsSync(file) ? hex(fs.readFileSync(file)) : null
  }
  return t
}

async function main () {
  const root = path.join(outDir(), 'storage')
  fs.rmSync(root, { recursive: true, force: true })
  const tests = []
  const dir = (name) => path.join(root, name)
  const make = async (name, fn) => {
    const feed = await fn(dir(name))
    tests.push(await describe(name, dir(name), feed))
  }
  await make('writer-3-single', (d) => writer(d, [['a'], ['b'], ['c']]))
  await make('writer-3-batch', (d) => writer(d, [['a', 'b', 'c']]))
  await make('guide-step1-main', (d) => writer(d, [['hello', 'world']]))
  const guideCalls = [['hello', 'world']]
  for (let i = 0; i < 100; i++) guideCalls.push(['New Block ' + i])
  const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'hypercore-go-vectors-'))
  try {
    const three = await writer(path.join(tmp, 'three'), [['a'], ['b'], ['c']])
    await make('sparse-reader-block2', (d) => clone(d, three, [2], true))
    await make('full-reader', (d) => clone(d, three, [0, 1, 2], true))
    await p((cb) => three.close(cb))
    const guide = await writer(path.join(tmp, 'guide'), guideCalls)
    await make('guide-step2-clone', (d) => clone(d, guide, [0, 1, 101], true))
    await make('update-only-reader', (d) => clone(d, guide, [], true))
    await p((cb) => guide.close(cb))
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
  writeFile(outDir(), 'storage', {
    concept: 'feed directories written by hypercore 9.12.0',
    source: source('hypercore', ['random-access-file', 'hypercore-crypto']),
    notes: {}
  }, [{ type: 'DirectoryTest', tests }])
}

main().catch((err) => { console.error(err); process.exit(1) })
