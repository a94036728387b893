'use strict'
// Generates vectors/flattree.json from npm flat-tree 1.13.0.
//
//   node interop/js/vectors/flattree.js OUTDIR
//
// Groups: explicit cases for every function (small indexes, powers of two,
// the largest indexes where JS float math is exact), fullRoots, futureRoots,
// patch, iterator move sequences, and accumulated BLAKE2b-256 digests over
// every function for every index below 2^16 (recipe in spec/flattree.md).

const flat = require('flat-tree')
const sodium = require('sodium-native')
const { source, writeFile, outDir, hex } = require('./lib/vectors')

const NONE = 2n ** 64n - 1n // how the digest encodes "no value" (JS null / -1)

// INEXACT marks a result that JS float math cannot give exactly (2^53 or
// more): it is not compared. It is distinct from null, which is an absent
// result (a leaf's children).
const INEXACT = 'inexact'

function safe (n) {
  return Number.isSafeInteger(n) ? n : INEXACT
}

// nodeCase records every per-node function at index i. A value that JS
// cannot compute exactly (beyond 2^53) is recorded as INEXACT; a leaf's
// absent children are null.
function nodeCase (i, comment, flags) {
  const children = flat.children(i)
  const out = {
    comment,
    flags: flags || [],
    index: i,
    depth: flat.depth(i),
    offset: flat.offset(i),
    parent: safe(flat.parent(i)),
    sibling: safe(flat.sibling(i)),
    children: children ? children.map(safe) : null,
    leftChild: flat.leftChild(i) === -1 ? null : safe(flat.leftChild(i)),
    rightChild: flat.rightChild(i) === -1 ? null : safe(flat.rightChild(i)),
    leftSpan: safe(flat.leftSpan(i)),
    rightSpan: safe(flat.rightSpan(i)),
    count: safe(flat.count(i)),
    countLeaves: safe(flat.countLeaves(i)),
    nextLeaf: safe(flat.nextLeaf(i)),
    result: 'valid'
  }
  const anyInexact = ['parent', 'sibling', 'leftChild', 'rightChild', 'leftSpan', 'rightSpan', 'count', 'countLeaves', 'nextLeaf']
    .some((k) => out[k] === INEXACT) || (children !== null && out.children.includes(INEXACT))
  if (anyInexact && !out.flags.includes('BeyondExact')) out.flags.push('BeyondExact')
  if (!anyInexact && out.flags.includes('BeyondExact')) throw new Error('BeyondExact without an inexact result: ' + i)
  return out
}

function nodeCases () {
  const tests = []
  for (let i = 0; i <= 64; i++) tests.push(nodeCase(i, 'node ' + i))
  for (let k = 6; k <= 52; k++) {
    const p = 2 ** k
    tests.push(nodeCase(p - 2, '2^' + k + ' - 2', ['Large']))
    tests.push(nodeCase(p - 1, '2^' + k + ' - 1', ['Large']))
    tests.push(nodeCase(p, '2^' + k, ['Large']))
    tests.push(nodeCase(p + 1, '2^' + k + ' + 1', ['Large']))
  }
  tests.push(nodeCase(2 ** 53 - 2, 'largest even index JS represents exactly', ['Large']))
  tests.push(nodeCase(2 ** 53 - 1, 'largest index JS represents exactly (depth 53)', ['Large']))
  tests.push(nodeCase(2 ** 53 - 3, 'odd index just below 2^53', ['Large']))
  // the depth and offset of a node built with index()
  const index = []
  for (const [d, o] of [[0, 0], [0, 1], [1, 0], [1, 1], [2, 3], [5, 7], [10, 1000], [20, 12345], [40, 3], [52, 0]]) {
    index.push({ comment: 'index(' + d + ', ' + o + ')', flags: [], depth: d, offset: o, index: flat.index(d, o), result: 'valid' })
  }
  return [
    { type: 'NodeTest', tests },
    { type: 'IndexTest', tests: index }
  ]
}

function rootsCases () {
  const full = []
  const lengths = []
  for (let n = 0; n <= 64; n++) lengths.push(n)
  lengths.push(100, 101, 102, 255, 256, 257, 1000, 1023, 1024, 1025, 8192, 1048576, 1048577, 2 ** 40 + 5, 2 ** 52 - 1)
  for (const n of lengths) {
    full.push({ comment: n + ' blocks', flags: n > 64 ? ['Large'] : [], index: 2 * n, roots: flat.fullRoots(2 * n), result: 'valid' })
  }
  for (const i of [1, 3, 7, 201]) {
    let threw = false
    try { flat.fullRoots(i) } catch (_) { threw = true }
    if (!threw) throw new Error('fullRoots(' + i + ') did not throw')
    full.push({ comment: 'odd index ' + i + ' (JS throws)', flags: ['OddIndex'], index: i, roots: null, result: 'invalid', error: 'odd-index' })
  }
  const future = []
  for (let i = 0; i <= 130; i += 2) {
    future.push({ comment: 'leaf ' + i, flags: [], index: i, roots: flat.futureRoots(i), result: 'valid' })
  }
  for (const i of [1, 5]) {
    let threw = false
    try { flat.futureRoots(i) } catch (_) { threw = true }
    if (!threw) throw new Error('futureRoots(' + i + ') did not throw')
    future.push({ comment: 'odd index ' + i + ' (JS throws)', flags: ['OddIndex'], index: i, roots: null, result: 'invalid', error: 'odd-index' })
  }
  const patch = []
  for (let from = 0; from <= 40; from += 2) {
    for (let to = 0; to <= 40; to += 2) {
      if ((from * 7 + to * 3) % 5 !== 0 && from !== 0 && from <= to) continue // a spread of pairs
      patch.push({ comment: 'patch(' + from + ', ' + to + ')', flags: [], from, to, nodes: flat.patch(from, to), result: 'valid' })
    }
  }
  patch.push({ comment: 'from 1024 to 2000 blocks', flags: ['Large'], from: 2048, to: 4000, nodes: flat.patch(2048, 4000), result: 'valid' })
  patch.push({ comment: 'odd from (JS throws)', flags: ['OddIndex'], from: 3, to: 8, nodes: null, result: 'invalid', error: 'odd-index' })
  for (const t of patch) {
    if (t.result === 'invalid') {
      let threw = false
      try { flat.patch(t.from, t.to) } catch (_) { threw = true }
      if (!threw) throw new Error('patch did not throw')
    }
  }
  return [
    { type: 'FullRootsTest', tests: full },
    { type: 'FutureRootsTest', tests: future },
    { type: 'PatchTest', tests: patch }
  ]
}

// A deterministic move sequence generator (xorshift32; only chooses moves).
function rng (s) {
  return () => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s
  }
}

const MOVES = ['next', 'prev', 'parent', 'sibling', 'leftChild', 'rightChild', 'leftSpan', 'rightSpan',
  'peekLeftSpan', 'peekRightSpan', 'nextTree', 'prevTree', 'isLeft', 'isRight', 'count', 'countLeaves',
  'isRoot', 'contains', 'fullRoot', 'seek']

function applyMove (ite, move, arg) {
  switch (move) {
    case 'isRoot': case 'contains': case 'fullRoot': case 'seek':
      return ite[move](arg)
    default:
      return ite[move]()
  }
}

function iteratorCases () {
  const tests = []
  const r = rng(0x9e3779b9)
  const starts = [0, 1, 2, 3, 7, 8, 15, 22, 23, 100, 255, 1000, 2 ** 20 - 1, 2 ** 30, 2 ** 40 + 2]
  for (let n = 0; n < 60; n++) {
    const start = n < starts.length ? starts[n] : r() % 4096
    const ite = flat.iterator(start)
    const steps = []
    for (let k = 0; k < 24; k++) {
      const move = MOVES[r() % MOVES.length]
      let arg = null
      if (move === 'isRoot') arg = r() % 64
      if (move === 'contains') arg = ite.index + (r() % 33) - 16
      if (move === 'seek') arg = r() % 1024
      if (move === 'fullRoot') {
        // JS halves the offset as it climbs, which goes fractional unless
        // every node climbed through is a left child; only keep calls that
        // stay on integers (spec/flattree.md, "Iterator").
        arg = ite.index + 2 + 2 * (r() % 16)
        const probe = flat.iterator(0)
        Object.assign(probe, { index: ite.index, offset: ite.offset, factor: ite.factor })
        probe.fullRoot(arg)
        if (!Number.isInteger(probe.offset)) continue
      }
      if (arg !== null && arg < 0) arg = 0
      const returned = applyMove(ite, move, arg)
      if (!Number.isInteger(ite.offset) || !Number.isSafeInteger(ite.index)) {
        throw new Error('iterator left exact integers: ' + move + ' ' + ite.offset)
      }
      const step = { move }
      if (arg !== null) step.arg = arg
      step.returned = returned === undefined ? null : returned
      step.index = ite.index
      step.offset = ite.offset
      step.factor = ite.factor
      steps.push(step)
    }
    tests.push({ comment: 'moves from ' + start, flags: start > 4096 ? ['Large'] : [], start, steps, result: 'valid' })
  }
  return [{ type: 'IteratorTest', tests }]
}

// Iterator moves at their edges, for spec/flattree.md ("Iterator"): each
// case starts at a node and makes the listed moves. Appended after the
// digests so that earlier tcIds keep their meaning.
function iteratorEdgeCases () {
  const cases = [
    ['prev and prevTree at offset 0', 7, [['prev'], ['prevTree'], ['prev'], ['prevTree']]],
    ['prevTree from a right child and from a left child', 13, [['prevTree'], ['seek', 11], ['prevTree']]],
    ['contains at both bounds of a subtree', 23, [['contains', 15], ['contains', 16], ['contains', 23], ['contains', 30], ['contains', 31]]],
    ['contains around a leaf', 10, [['contains', 9], ['contains', 10], ['contains', 11]]],
    ['leftChild and rightChild of a leaf stay', 4, [['leftChild'], ['rightChild'], ['count'], ['countLeaves']]],
    ['parent of a left child and of a right child', 9, [['parent'], ['seek', 13], ['parent'], ['parent'], ['parent']]],
    ['sibling, next and prev keep the depth', 11, [['sibling'], ['sibling'], ['next'], ['prev'], ['isLeft'], ['isRight']]],
    ['spans move to a leaf; peeks do not move', 23, [['peekLeftSpan'], ['peekRightSpan'], ['rightSpan'], ['seek', 23], ['leftSpan'], ['seek', 23], ['nextTree']]],
    ['fullRoot on an odd node, and on an index not right of the leaf', 5, [['fullRoot', 9], ['seek', 8], ['fullRoot', 8], ['fullRoot', 6]]],
    ['fullRoot climbs through left children', 0, [['fullRoot', 2], ['seek', 0], ['fullRoot', 6], ['seek', 0], ['fullRoot', 8], ['seek', 0], ['fullRoot', 16], ['seek', 16], ['fullRoot', 24]]],
    ['isRoot below, at and above the subtree', 3, [['isRoot', 3], ['isRoot', 4], ['isRoot', 7], ['isRoot', 8], ['seek', 8], ['isRoot', 4], ['isRoot', 5], ['isRoot', 6]]],
    ['count and countLeaves', 15, [['count'], ['countLeaves'], ['leftChild'], ['count'], ['countLeaves']]]
  ]
  const tests = []
  for (const [comment, start, moves] of cases) {
    const ite = flat.iterator(start)
    const steps = []
    for (const [move, arg] of moves) {
      const returned = applyMove(ite, move, arg)
      if (!Number.isInteger(ite.offset)) throw new Error('edge case left the integers: ' + comment)
      const step = { move }
      if (arg !== undefined) step.arg = arg
      step.returned = returned === undefined ? null : returned
      step.index = ite.index
      step.offset = ite.offset
      step.factor = ite.factor
      steps.push(step)
    }
    tests.push({ comment: 'edges: ' + comment, flags: [], start, steps, result: 'valid' })
  }
  return [{ type: 'IteratorTest', tests }]
}

// Accumulated digests: every function for every index below the limit,
// each value written as uint64be (NONE for JS null or -1, 1/0 for
// booleans) into one BLAKE2b-256. spec/flattree.md gives the recipe.
//
// Checkpoints make a mismatch point at a range of indexes: [end, digest],
// where digest is BLAKE2b-256 of the bytes fed for every outer-loop value
// below end, for end = every power of two up to the limit and every
// multiple of limit/16.
function checkpointEnds (limit) {
  const ends = new Set()
  for (let e = 1; e <= limit; e *= 2) ends.add(e)
  for (let e = limit / 16; e <= limit; e += limit / 16) ends.add(e)
  return [...ends].sort((a, b) => a - b)
}

function digestCases () {
  function hasher (limit) {
    const state = Buffer.alloc(sodium.crypto_generichash_STATEBYTES)
    sodium.crypto_generichash_init(state, null, 32)
    const b = Buffer.alloc(8)
    const pending = checkpointEnds(limit)
    const checkpoints = []
    return {
      // at is called before the outer-loop value i is fed, and with the
      // limit at the end: it records every checkpoint whose end is ≤ i.
      at (i) {
        while (pending.length && pending[0] <= i) {
          const copy = Buffer.alloc(state.length)
          state.copy(copy)
          const out = Buffer.alloc(32)
          sodium.crypto_generichash_final(copy, out)
          checkpoints.push([pending.shift(), hex(out)])
        }
      },
      checkpoints,
      u64 (v) {
        if (v === null || v === -1) v = NONE
        else if (v === true) v = 1n
        else if (v === false) v = 0n
        b.writeBigUInt64BE(BigInt(v))
        sodium.crypto_generichash_update(state, b)
      },
      digest () {
        const out = Buffer.alloc(32)
        sodium.crypto_generichash_final(state, out)
        const last = checkpoints[checkpoints.length - 1]
        if (pending.length || last[0] !== limit || last[1] !== hex(out)) throw new Error('checkpoints do not end at the digest')
        return out
      }
    }
  }
  const LIMIT = 1 << 16
  const nodes = hasher(LIMIT)
  for (let i = 0; i < LIMIT; i++) {
    nodes.at(i)
    nodes.u64(flat.depth(i))
    nodes.u64(flat.offset(i))
    nodes.u64(flat.parent(i))
    nodes.u64(flat.sibling(i))
    nodes.u64(flat.leftChild(i))
    nodes.u64(flat.rightChild(i))
    nodes.u64(flat.leftSpan(i))
    nodes.u64(flat.rightSpan(i))
    nodes.u64(flat.count(i))
    nodes.u64(flat.countLeaves(i))
    nodes.u64(flat.nextLeaf(i))
  }
  nodes.at(LIMIT)
  const roots = hasher(LIMIT)
  for (let i = 0; i < LIMIT; i += 2) {
    roots.at(i)
    const full = flat.fullRoots(i)
    roots.u64(full.length)
    for (const x of full) roots.u64(x)
    const future = flat.futureRoots(i)
    roots.u64(future.length)
    for (const x of future) roots.u64(x)
  }
  roots.at(LIMIT)
  const PATCH_LIMIT = 1 << 9
  const patch = hasher(PATCH_LIMIT)
  for (let from = 0; from < PATCH_LIMIT; from += 2) {
    patch.at(from)
    for (let to = 0; to < PATCH_LIMIT; to += 2) {
      const p = flat.patch(from, to)
      patch.u64(p.length)
      for (const x of p) patch.u64(x)
    }
  }
  patch.at(PATCH_LIMIT)
  const ITER = ['next', 'prev', 'parent', 'sibling', 'leftChild', 'rightChild', 'leftSpan', 'rightSpan',
    'peekLeftSpan', 'peekRightSpan', 'nextTree', 'prevTree', 'isLeft', 'isRight', 'count', 'countLeaves']
  const iter = hasher(LIMIT)
  for (let i = 0; i < LIMIT; i++) {
    iter.at(i)
    for (const move of ITER) {
      const ite = flat.iterator(i)
      iter.u64(ite[move]())
      iter.u64(ite.index)
      iter.u64(ite.offset)
      iter.u64(ite.factor)
    }
    for (const length of [0, 1, 2, 3, 64, 1000]) iter.u64(flat.iterator(i).isRoot(length))
  }
  iter.at(LIMIT)
  return [{
    type: 'DigestTest',
    tests: [
      { comment: 'node functions', flags: [], recipe: 'nodes', limit: LIMIT, digest: hex(nodes.digest()), checkpoints: nodes.checkpoints, result: 'valid' },
      { comment: 'fullRoots and futureRoots', flags: [], recipe: 'roots', limit: LIMIT, digest: hex(roots.digest()), checkpoints: roots.checkpoints, result: 'valid' },
      { comment: 'patch for every pair', flags: [], recipe: 'patch', limit: PATCH_LIMIT, digest: hex(patch.digest()), checkpoints: patch.checkpoints, result: 'valid' },
      { comment: 'iterator moves', flags: [], recipe: 'iterator', limit: LIMIT, digest: hex(iter.digest()), checkpoints: iter.checkpoints, result: 'valid' }
    ]
  }]
}

writeFile(outDir(), 'flattree', {
  concept: 'flat-tree index arithmetic',
  source: source('flat-tree'),
  notes: {
    Large: 'The index is above 2^16; JS computes it with float64 math, which is exact below 2^53.',
    BeyondExact: 'Some result is 2^53 or more, where JS float64 math is not exact; such results are the string "inexact" and are not compared (null stays "no such result", as for a leaf\'s children).',
    OddIndex: 'A leaf (even) index is required; the JS function throws.'
  }
}, [].concat(nodeCases(), rootsCases(), iteratorCases(), digestCases(), iteratorEdgeCases()))
