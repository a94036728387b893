'use strict'
// Generates vectors/bitfield-rle.json, vectors/bitfield-pages.json and
// vectors/tree-index.json from hypercore 9.12.0's lib/bitfield.js and
// lib/tree-index.js, bitfield-rle 2.2.1 and sparse-bitfield 3.0.3, and
// from a real pair of feeds replicating the guide's step 2.
//
//   node interop/js/vectors/bitfield.js OUTDIR

const rleAny = require('bitfield-rle')
const rle4 = rleAny.align(4)
const Bitfield = require('hypercore/lib/bitfield')
const TreeIndex = require('hypercore/lib/tree-index')
const flat = require('flat-tree')
const sodium = require('sodium-native')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

const B = (h) => Buffer.from(h, 'hex')

// A deterministic generator for choosing operations (xorshift32).
function rng (s) {
  return () => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s
  }
}

// ---------------------------------------------------------------- RLE

function rleFile () {
  const encode = []
  const inputs = [
    ['empty', Buffer.alloc(0)],
    ['all zero', Buffer.alloc(100)],
    ['one 0xff byte', B('ff')],
    ['2 blocks (guide step 1)', B('c0')],
    ['8 blocks', B('ff')],
    ['102 blocks', Buffer.concat([Buffer.alloc(12, 0xff), B('fc')])],
    ['8192 blocks', Buffer.alloc(1024, 0xff)],
    ['0xff x 20 after 12 34', Buffer.concat([B('1234'), Buffer.alloc(20, 0xff)])],
    ['mixed literal bytes', B('0102030405060708090a')],
    ['short runs stay literal', B('00ff00ff0000ffff12')],
    ['long zero run between literals', Buffer.concat([B('aa'), Buffer.alloc(5000), B('bb')])],
    ['long one run then trailing zeros', Buffer.concat([Buffer.alloc(70000, 0xff), Buffer.alloc(100)])],
    ['alternating runs of 3', Buffer.concat([Buffer.alloc(3, 0xff), Buffer.alloc(3), Buffer.alloc(3, 0xff), Buffer.alloc(3), B('01')])],
    ['run of exactly 32 (varint boundary)', Buffer.concat([B('01'), Buffer.alloc(32, 0xff), B('01')])],
    ['run of 31 and 33', Buffer.concat([Buffer.alloc(31, 0xff), B('02'), Buffer.alloc(33), B('03')])]
  ]
  const r = rng(12345)
  for (let k = 0; k < 12; k++) {
    const n = 1 + (r() % 300)
    const buf = Buffer.alloc(n)
    for (let i = 0; i < n; i++) {
      const c = r() % 10
      buf[i] = c < 4 ? 0 : c < 8 ? 255 : r() & 255
    }
    inputs.push(['random runs ' + k, buf])
  }
  for (const [comment, input] of inputs) {
    const enc = rleAny.encode(input)
    encode.push({
      comment,
      flags: input.length > 4096 ? ['Large'] : [],
      bits: input.length > 4096 ? null : hex(input),
      bitsPattern: input.length > 4096 ? describe(input) : null,
      encoded: hex(enc),
      decoded: hex(rleAny.decode(enc)),
      decodedAlign4: hex(rle4.decode(enc)),
      result: 'valid'
    })
  }
  const decode = []
  const cases = [
    ['', 'valid', 'empty input'],
    ['00', 'valid', 'a literal of length 0'],
    ['05', 'valid', 'a run of one zero byte'],
    ['07', 'valid', 'a run of one 0xff byte'],
    ['0200', 'valid', 'a literal zero byte'],
    ['04', 'invalid', 'literal of 2 bytes with none left', 'invalid-rle'],
    ['0880', 'invalid', 'literal of 4 bytes with one left', 'invalid-rle'],
    ['0a01', 'invalid', 'literal runs past the end', 'invalid-rle'],
    ['80', 'invalid', 'varint that never ends', 'invalid-rle'],
    ['02c0ff', 'invalid', 'varint that never ends after a chunk', 'invalid-rle'],
    [hex(Buffer.from(require('varint').encode(4 * 2 ** 40 + 3))), 'invalid', 'a run of 2^40 0xff bytes', 'rle-too-large', ['JSThrows']]
  ]
  for (const [h, result, comment, error, flags] of cases) {
    const t = { comment, flags: flags || [], encoded: h }
    try {
      t.jsDecoded = hex(rle4.decode(B(h)))
      t.js = 'decodes'
    } catch (err) {
      t.js = 'throws'
      t.jsError = err.message
    }
    if ((t.js === 'decodes') !== (result === 'valid')) throw new Error('JS verdict differs: ' + comment)
    t.result = result
    if (error) t.error = error
    decode.push(t)
  }
  // compress(start, length) of writers of many sizes, as the answer to
  // Want{start, length}, and compress(0, 0).
  const compress = []
  for (const n of [0, 1, 2, 7, 8, 9, 102, 1000, 8191, 8192, 8193, 20000, 100000]) {
    const bf = new Bitfield()
    for (let i = 0; i < n; i++) bf.set(i, true)
    for (const [start, length] of [[0, 1048576], [0, 0], [1048576, 1048576], [8192, 8192]]) {
      if (n < 8192 && start === 8192) continue
      compress.push({ comment: n + ' blocks, compress(' + start + ', ' + length + ')', flags: [], setBlocks: [[0, n]], start, length, encoded: hex(bf.compress(start, length)), result: 'valid' })
    }
  }
  // sparse readers
  for (const [comment, ranges] of [
    ['reader with blocks 0, 1 and 101', [[0, 2], [101, 102]]],
    ['reader with blocks 20000 and 20001', [[20000, 20002]]],
    ['reader with every other page', [[0, 8192], [16384, 24576], [32768, 40000]]]
  ]) {
    const bf = new Bitfield()
    for (const [a, b] of ranges) for (let i = a; i < b; i++) bf.set(i, true)
    for (const [start, length] of [[0, 1048576], [8192, 8192], [16384, 8192]]) {
      compress.push({ comment: comment + ', compress(' + start + ', ' + length + ')', flags: [], setBlocks: ranges, start, length, encoded: hex(bf.compress(start, length)), result: 'valid' })
    }
  }
  writeFile(outDir(), 'bitfield-rle', {
    concept: 'run-length encoding of bitfields',
    source: source('bitfield-rle', ['hypercore']),
    notes: {
      Large: 'The input is too long to list: bitsPattern describes it as runs [byte, count] to concatenate.',
      JSThrows: 'JS throws while allocating the decoded buffer; the spec rejects the input before allocating.'
    }
  }, [
    { type: 'RleEncodeTest', tests: encode },
    { type: 'RleDecodeTest', tests: decode },
    { type: 'CompressTest', tests: compress }
  ])
}

// describe turns a buffer into runs [byte, count].
function describe (buf) {
  const runs = []
  for (let i = 0; i < buf.length;) {
    let j = i
    while (j < buf.length && buf[j] === buf[i]) j++
    runs.push([buf[i], j - i])
    i = j
  }
  return runs
}

// ---------------------------------------------------------------- pages

// apply runs an operation on a lib/bitfield.js Bitfield and its tree index.
function apply (bf, tree, op) {
  switch (op[0]) {
    case 'append': // one append call of blocks [op[1], op[2]): what hypercore's _append does per block
    case 'appendEach': // one append call per block of [op[1], op[2]); the bitfield sees the same operations
      for (let i = op[1]; i < op[2]; i++) { bf.set(i, true); tree.set(2 * i) }
      return null
    case 'set':
      return bf.set(op[1], op[2])
    case 'setRange':
      for (let i = op[1]; i < op[2]; i++) bf.set(i, op[3])
      return null
    case 'tree':
      return tree.set(op[1])
    case 'total':
      return bf.total(op[1], op[2])
    case 'iterator': {
      const ite = bf.iterator(op[1], op[2])
      return ite.next()
    }
  }
  throw new Error('unknown op ' + op[0])
}

// segments lists the non-zero runs of a page: [offset, hex].
function segments (buf) {
  const out = []
  for (let i = 0; i < buf.length;) {
    if (!buf[i]) { i++; continue }
    let j = i
    while (j < buf.length && (buf[j] || (j + 1 < buf.length && buf[j + 1]))) j++
    out.push([i, hex(buf.subarray(i, j))])
    i = j
  }
  return out
}

function pagesOf (bf) {
  const pages = []
  for (let p = 0; p < bf.pages.length; p++) {
    const page = bf.pages.get(p, true)
    if (!page) continue
    const segs = segments(page.buffer)
    if (segs.length) pages.push({ page: p, segments: segs })
  }
  return pages
}

function pagesFile () {
  const histories = []
  const add = (comment, ops, flags) => {
    const bf = new Bitfield()
    const tree = new TreeIndex(bf.tree)
    const results = ops.map((op) => apply(bf, tree, op))
    const updates = []
    let u
    while ((u = bf.pages.lastUpdate()) !== null) updates.push(u.offset / (3584))
    histories.push({ comment, flags: flags || [], ops, results, length: bf.length, pageCount: bf.pages.length, updatedPages: updates.sort((a, b) => a - b), pages: pagesOf(bf), result: 'valid' })
  }
  add('writer: 3 single appends', [['append', 0, 1], ['append', 1, 2], ['append', 2, 3]])
  add('writer: guide step 1 then 100 single appends', [['append', 0, 2]].concat(Array.from({ length: 100 }, (_, i) => ['append', 2 + i, 3 + i])))
  add('writer: 8192 blocks in one batch', [['append', 0, 8192]])
  add('writer: 8193 blocks, batches of 1000', Array.from({ length: 9 }, (_, i) => ['append', i * 1000, Math.min(8193, (i + 1) * 1000)]))
  add('writer: 20000 single appends', [['appendEach', 0, 20000]])
  const batches = []
  for (let i = 0; i < 20000; i += 777) batches.push(['append', i, Math.min(20000, i + 777)])
  add('writer: 20000 blocks in batches of 777', batches)
  add('reader: blocks 0, 1 and 101 with their tree nodes', [['set', 0, true], ['tree', 0], ['tree', 2], ['set', 1, true], ['tree', 201], ['set', 101, true], ['tree', 200]])
  add('reader: block 20000 only', [['tree', 40000], ['set', 20000, true]])
  add('reader: blocks from the end backwards', Array.from({ length: 40 }, (_, i) => ['set', 16383 - i, true]))
  add('reader: full page then a gap then a full page', [['setRange', 0, 8192, true], ['setRange', 16384, 24576, true]])
  add('reader: total() past the end expands the index', [['setRange', 0, 10, true], ['total', 0, 40000], ['set', 30000, true]])
  add('reader: iterator past the end expands the index', [['setRange', 0, 100, true], ['iterator', 0, 100000], ['set', 50000, true]])
  add('clear after set', [['setRange', 0, 300, true], ['setRange', 100, 200, false], ['set', 5, false]])
  const r = rng(777)
  for (let k = 0; k < 4; k++) {
    const ops = []
    for (let i = 0; i < 400; i++) {
      const c = r() % 20
      const at = r() % (9 * 8192 + 100)
      if (c < 12) ops.push(['set', at, true])
      else if (c < 16) ops.push(['set', at, false])
      else if (c < 18) ops.push(['tree', r() % (2 * 9 * 8192)])
      else if (c < 19) ops.push(['setRange', at, at + (r() % 300), true])
      else ops.push(['total', 0, at])
    }
    add('random set and clear across 9 pages, seed ' + k, ops, ['Random'])
  }
  // bitfield files with headers, for DecodeFile
  const files = []
  const header = (size) => { const h = Buffer.alloc(32); h[0] = 5; h[1] = 2; h[2] = 87; h.writeUInt16BE(size, 5); return h }
  const bf = new Bitfield()
  for (let i = 0; i < 102; i++) bf.set(i, true)
  const page = bf.pages.get(0, true).buffer
  files.push({ comment: 'empty file', flags: [], file: '', result: 'valid', length: 0, pages: [] })
  files.push({ comment: 'header only', flags: [], file: hex(header(3584)), result: 'valid', length: 0, pages: [] })
  files.push({ comment: 'one page (102 blocks)', flags: [], file: hex(Buffer.concat([header(3584), page])), result: 'valid', length: 8192, pages: pagesOf(bf) })
  files.push({ comment: 'a zero page then a page', flags: [], file: hex(Buffer.concat([header(3584), Buffer.alloc(3584), page])), result: 'valid', length: 16384, pages: [{ page: 1, segments: segments(page) }] })
  files.push({ comment: 'last page cut short (read as zero-padded)', flags: [], file: hex(Buffer.concat([header(3584), page.subarray(0, 20)])), result: 'valid', length: 8192, pages: [{ page: 0, segments: segments(page.subarray(0, 20)) }] })
  files.push({ comment: 'header shorter than 32 bytes (JS treats the file as new)', flags: [], file: hex(header(3584).subarray(0, 10)), result: 'valid', length: 0, pages: [] })
  files.push({ comment: 'page size 3328 (hypercore 8)', flags: [], file: hex(Buffer.concat([header(3328), page])), result: 'invalid', error: 'page-size' })
  files.push({ comment: 'page size 0', flags: [], file: hex(header(0)), result: 'invalid', error: 'page-size' })
  files.push({ comment: 'not a bitfield header', flags: ['JSLenient'], file: hex(Buffer.concat([Buffer.from('hello world, this is not a head'), Buffer.alloc(1)])), result: 'invalid', error: 'header' })
  // check the valid ones with JS: pages as hypercore's storage would load them
  for (const f of files) {
    if (f.result !== 'valid' || f.file.length < 64) continue
    const body = B(f.file).subarray(32)
    const pages = []
    for (let i = 0; i < body.length; i += 3584) pages.push(body.subarray(i, i + 3584))
    const loaded = new Bitfield(3584, pages)
    if (JSON.stringify(pagesOf(loaded)) !== JSON.stringify(f.pages) || loaded.length !== f.length) throw new Error('file case mismatch: ' + f.comment)
  }
  // Appended after the first groups so that their tcIds keep their
  // meaning: treeIndex.set on a node already set (directly or by a climb),
  // and a header with the magic but another file's type.
  const before = histories.length
  add('tree index set: a node already set returns false; the climb sets parents', [['tree', 0], ['tree', 2], ['tree', 2], ['tree', 1], ['tree', 4], ['tree', 6], ['tree', 3], ['tree', 11]])
  const laterHistories = histories.splice(before)
  const treeHeader = Buffer.concat([Buffer.from('05025702000028074c414b453262', 'hex').subarray(0, 8), Buffer.from('BLAKE2b'), Buffer.alloc(17)])
  const laterFiles = [
    { comment: 'a tree file\'s header (type 02, entry size 40)', flags: ['JSLenient'], file: hex(Buffer.concat([treeHeader, page])), result: 'invalid', error: 'header' }
  ]
  writeFile(outDir(), 'bitfield-pages', {
    concept: 'hypercore bitfield pages and file',
    source: source('hypercore', ['sparse-bitfield', 'memory-pager', 'flat-tree']),
    notes: {
      Random: 'Operations chosen by a fixed pseudo-random sequence.',
      JSLenient: 'JS does not check the header\'s magic bytes or type; the spec rejects a file that is not a bitfield file.'
    }
  }, [
    { type: 'HistoryTest', tests: histories },
    { type: 'FileTest', tests: files },
    { type: 'HistoryTest', tests: laterHistories },
    { type: 'FileTest', tests: laterFiles }
  ])
}

// ---------------------------------------------------------------- tree index

function setBits (tree) {
  const out = []
  for (let i = 0; i < tree.bitfield.length; i++) if (tree.get(i)) out.push(i)
  return out
}

function writerTree (n) {
  const bf = new Bitfield()
  const tree = new TreeIndex(bf.tree)
  for (let i = 0; i < n; i++) { bf.set(i, true); tree.set(2 * i) }
  return tree
}

function treeFile (guide) {
  const states = []
  const addState = (comment, sets) => {
    const tree = new TreeIndex()
    for (const s of sets) tree.set(s)
    const held = setBits(tree)
    const verifiedBy = held.map((i) => [i, tree.verifiedBy(i)])
    const digests = []
    for (let x = 0; x <= Math.max(...held, 0) + 8; x += 2) digests.push([x, tree.digest(x)])
    states.push({ comment, flags: [], sets, held, treeLength: tree.bitfield.length, blocks: tree.blocks(), verifiedBy, digests, result: 'valid' })
  }
  addState('empty', [])
  addState('one block', [0])
  addState('writer of 3 blocks', [0, 2, 4])
  addState('writer of 102 blocks', Array.from({ length: 102 }, (_, i) => 2 * i))
  addState('guide clone after get(0): nodes 0 and 2', [0, 2])
  addState('guide clone after update: roots of 102 and block 2', [0, 2, 4, 6, 11, 23, 47, 95, 159, 195, 201])
  addState('sparse reader holding block 5 and its uncles', [10, 8, 13, 3, 23])
  addState('holes: blocks 0-3 and 8-11', [0, 2, 4, 6, 16, 18, 20, 22])

  // proofs: responder = writer of n, requester holds some nodes
  const proofs = []
  const addProof = (comment, n, held, index, hash) => {
    const responder = writerTree(n)
    const requester = new TreeIndex()
    for (const s of held) requester.set(s)
    const digest = requester.digest(2 * index)
    const p = responder.proof(2 * index, { digest, hash, tree: new TreeIndex() })
    proofs.push({ comment, flags: [], writerLength: n, requesterHeld: held, index, hash, digest, nodes: p ? p.nodes : null, verifiedBy: p ? p.verifiedBy : null, result: p ? 'valid' : 'invalid', ...(p ? {} : { error: 'not-held' }) })
  }
  addProof('block 0 of 2, requester empty', 2, [], 0, false)
  addProof('block 1 of 2, requester has block 0 and node 2', 2, [0, 2], 1, false)
  addProof('update: hash of block 2 of 102, requester holds 0, 1, 2', 102, [0, 2], 2, true)
  addProof('block 101 of 102 after the update', 102, [0, 2, 4, 6, 11, 23, 47, 95, 159, 195, 201], 101, false)
  addProof('block 5 of 8, requester empty', 8, [], 5, false)
  addProof('block 5 of 8, requester has the root', 8, [7], 5, false)
  addProof('block 7 of 1000, requester has blocks 0-3', 1000, [0, 2, 4, 6], 7, false)
  addProof('block 500 of 1000, hash only, requester empty', 1000, [], 500, true)
  addProof('block 10 of 5 (not held)', 5, [], 10, false)

  // persistent remote tree: the responder remembers what the requester's
  // digests claimed across requests
  const sequences = []
  {
    const responder = writerTree(102)
    const remote = new TreeIndex()
    const requester = new TreeIndex()
    const steps = []
    for (const [index, hash] of [[0, false], [1, false], [2, true], [101, false], [50, false], [51, false]]) {
      const digest = requester.digest(2 * index)
      const p = responder.proof(2 * index, { digest, hash, tree: remote })
      // the requester keeps the block's node and every node sent
      requester.set(2 * index)
      for (const node of p.nodes) requester.set(node)
      steps.push({ index, hash, digest, nodes: p.nodes, verifiedBy: p.verifiedBy, requesterHeldAfter: setBits(requester), remoteHeldAfter: setBits(remote) })
    }
    sequences.push({ comment: 'six requests against a writer of 102 with one remote tree', flags: [], writerLength: 102, steps, result: 'valid' })
  }

  // accumulated digest over every proof for writers up to 64 blocks. The
  // throw-away remote trees use a plain bit set with sparse-bitfield's
  // get/set semantics: a fresh sparse-bitfield allocates a 32768-slot page
  // table, which makes tens of thousands of them slow.
  class BitSet {
    constructor () { this.bits = new Set(); this.length = 0 }
    get (i) { return this.bits.has(i) }
    set (i, v) {
      if (this.bits.has(i) === !!v) return false
      if (v) this.bits.add(i); else this.bits.delete(i)
      return true
    }
  }
  const state = Buffer.alloc(sodium.crypto_generichash_STATEBYTES)
  sodium.crypto_generichash_init(state, null, 32)
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); sodium.crypto_generichash_update(state, b) }
  const sofar = () => {
    const copy = Buffer.alloc(state.length)
    state.copy(copy)
    const out = Buffer.alloc(32)
    sodium.crypto_generichash_final(copy, out)
    return hex(out)
  }
  // checkpoints: [n, the digest of every case of writer lengths 1 … n]
  const checkpoints = []
  let count = 0
  for (let n = 1; n <= 64; n++) {
    const responder = writerTree(n)
    for (let have = 0; have <= n; have += Math.max(1, n >> 2)) {
      const requester = writerTree(have)
      for (let index = 0; index < n; index++) {
        for (const hash of [false, true]) {
          const digest = requester.digest(2 * index)
          const p = responder.proof(2 * index, { digest, hash, tree: new TreeIndex(new BitSet()) })
          u64(n); u64(have); u64(index); u64(hash ? 1 : 0); u64(digest)
          u64(p.nodes.length); for (const x of p.nodes) u64(x)
          u64(p.verifiedBy)
          count++
        }
      }
    }
    checkpoints.push([n, sofar()])
  }
  const digestOut = Buffer.alloc(32)
  sodium.crypto_generichash_final(state, digestOut)
  if (checkpoints[checkpoints.length - 1][1] !== hex(digestOut)) throw new Error('proof digest checkpoints do not end at the digest')

  writeFile(outDir(), 'tree-index', {
    concept: 'hypercore tree index: blocks, verifiedBy, digests and proofs',
    source: source('hypercore', ['sparse-bitfield', 'flat-tree']),
    notes: {}
  }, [
    { type: 'TreeStateTest', tests: states },
    { type: 'ProofTest', tests: proofs },
    { type: 'ProofSequenceTest', tests: sequences },
    { type: 'FeedSequenceTest', tests: guide },
    { type: 'ProofDigestTest', tests: [{ comment: 'every proof for writers of 1..64 blocks', flags: [], recipe: 'proofs', proofs: count, digest: hex(digestOut), checkpoints, result: 'valid' }] }
  ])
}

// The guide's step 2 run for real: two feeds replicating, with every
// request and reply recorded from the wire.
function guideSequence (cb) {
  const Hypercore = require('hypercore')
  const ram = require('random-access-memory')
  const crypto = require('hypercore-crypto')
  const kp = crypto.keyPair(seed('hypercore-go v9 vectors: writer'))
  const core = new Hypercore(ram, kp.publicKey, { secretKey: kp.secretKey, valueEncoding: 'utf-8' })
  const steps = []
  core.append(['hello', 'world'], (err) => {
    if (err) throw err
    const clone = new Hypercore(ram, core.key, { valueEncoding: 'utf-8', sparse: true })
    const a = core.replicate(true, { live: true })
    const b = clone.replicate(false, { live: true })
    a.pipe(b).pipe(a)
    clone.on('peer-open', (peer) => {
      const ch = peer.stream
      const proto = Object.getPrototypeOf(ch)
      const origRequest = proto.request
      proto.request = function (m) {
        if (this === ch) steps.push({ index: m.index, hash: m.hash, digest: m.nodes, writerLength: core.length, requesterHeld: setBits(clone.tree), requesterTreeLength: clone.tree.bitfield.length })
        return origRequest.call(this, m)
      }
      const origData = proto.data
      proto.data = function (m) {
        if (this !== ch) {
          const s = steps[steps.length - 1]
          s.nodes = m.nodes.map((n) => n.index)
          s.signature = !!m.signature
          s.value = m.value ? m.value.toString() : null
          // the writer's record of what the clone's digests claimed, once
          // this proof was built
          const peer = core.peers.find((p) => p.stream === this)
          s.remoteHeldAfter = setBits(peer.remoteTree)
        }
        return origData.call(this, m)
      }
    })
    // after records the clone's state once the reply to the last request is
    // stored: called from the callback of the get or update that sent it.
    const after = () => {
      const s = steps[steps.length - 1]
      s.requesterHeldAfter = setBits(clone.tree)
      s.requesterTreeLengthAfter = clone.tree.bitfield.length
      s.requesterLengthAfter = clone.length
    }
    clone.get(0, (err) => {
      if (err) throw err
      after()
      clone.get(1, (err) => {
        if (err) throw err
        after()
        let i = 0
        const next = () => {
          if (i === 100) return update()
          core.append('New Block ' + i++, (err) => { if (err) throw err; next() })
        }
        next()
      })
    })
    function update () {
      clone.update((err) => {
        if (err) throw err
        after()
        clone.get(clone.length - 1, (err) => {
          if (err) throw err
          after()
          if (steps.length !== 4 || steps.some((s) => !s.requesterHeldAfter || !s.remoteHeldAfter)) throw new Error('guide: a step without its state after')
          cb([{ comment: 'guide step 2 over real feeds: get(0), get(1), 100 appends, update(), get(101)', flags: [], writerLength: 102, steps, result: 'valid' }])
          process.exit(0)
        })
      })
    }
  })
}

rleFile()
pagesFile()
guideSequence((guide) => treeFile(guide))
