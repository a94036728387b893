'use strict'
// Generates vectors/v11/protomux.json from protomux 3.12.1 (with
// compact-encoding 3.5.2 for the payloads).
//
//   node interop/js11/vectors/protomux.js OUTDIR
//
// TraceTest: two real Protomux instances, a and b, joined by a tap written
// here. The tap holds every frame a side writes until the script delivers
// it, so a run is a fixed sequence of steps: a step performs its actions
// (create and open channels, send, cork and uncork, close, register pair
// handlers) and then delivers the frames in flight, in each direction in
// the order they were written, until nothing is left. Each step records the
// frames (bytes and decoded meaning) and the events each side's channels saw
// (open with the remote handshake, message, close).
//
// DecodeTest: one Protomux ("local") after a fixed setup, fed a list of
// frames as if from a remote. JS decides: the test records the frames the
// mux wrote back, the events, and whether it destroyed its stream and with
// what error. Where the specification rejects a frame JS accepts (a batch
// entry longer than the bytes left, a batch inside a batch), the case is
// flagged JSLenient, its result is the specification's, and its
// shutdownEvents are those of destroying the stream after the last frame.
//
// Nothing here is random: channel ids and every value are fixed.

const Protomux = require('protomux')
const c = require('compact-encoding')
const { EventEmitter } = require('events')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

const B = (s) => Buffer.from(s.replace(/[ |]/g, ''), 'hex')

// --- the tap ---------------------------------------------------------------

// End is one side's stream: what Protomux writes is kept in `out` until
// delivered; deliver() hands Protomux one received frame. It has exactly the
// parts of a streamx Duplex that Protomux uses.
class End extends EventEmitter {
  constructor () {
    super()
    this.userData = null
    this.destroyed = false
    this.error = null
    this.out = []
  }

  write (buf) {
    if (this.destroyed) return false
    this.out.push(Buffer.from(buf))
    return true
  }

  deliver (buf) {
    if (!this.destroyed) this.emit('data', buf)
  }

  destroy (err) {
    if (this.destroyed) return
    this.destroyed = true
    this.error = err || null
    if (this.beforeClose) this.beforeClose()
    this.emit('close')
  }

  pause () {}
  resume () {}
  end () {}
}

// tick waits until every microtask and nextTick queued so far (Protomux's
// queueTick, promise continuations) has run.
const tick = () => new Promise((resolve) => setImmediate(resolve))

// --- decoding frames for the "decoded" fields -----------------------------

// decodeFrame gives the meaning of a frame as the specification names it.
// It is written from the specification (spec/v11/protomux.md), not taken
// from Protomux; the Go tests compare it with the Go parser and re-encode
// it, and the trace checks it against what the receiving Protomux did.
function decodeFrame (buf) {
  const state = { buffer: buf, start: 0, end: buf.length }
  const channel = c.uint.decode(state)
  const type = c.uint.decode(state)
  return decodeMessage(channel, type, state, true)
}

function decodeMessage (channel, type, state, top) {
  if (channel !== 0) return { channel, type, kind: 'message', payload: hex(state.buffer.subarray(state.start, state.end)) }
  switch (type) {
    case 0: {
      if (!top) throw new Error('batch inside a batch')
      const first = c.uint.decode(state)
      const entries = []
      let ch = first
      while (state.start < state.end) {
        const len = c.uint.decode(state)
        if (len === 0) {
          ch = c.uint.decode(state)
          continue
        }
        if (len > state.end - state.start) throw new Error('batch entry longer than the frame')
        const sub = { buffer: state.buffer, start: state.start, end: state.start + len }
        const t = c.uint.decode(sub)
        entries.push(decodeMessage(ch, t, sub, false))
        state.start += len
      }
      return { channel, type, kind: 'batch', channelId: first, entries }
    }
    case 1: {
      const channelId = c.uint.decode(state)
      const protocol = c.string.decode(state)
      const id = c.optionalBuffer.decode(state)
      return { channel, type, kind: 'open', channelId, protocol, id: hex(id), handshake: hex(state.buffer.subarray(state.start, state.end)) }
    }
    case 2:
      return { channel, type, kind: 'reject', channelId: c.uint.decode(state) }
    case 3:
      return { channel, type, kind: 'close', channelId: c.uint.decode(state) }
  }
  return { channel, type, kind: 'control', payload: hex(state.buffer.subarray(state.start, state.end)) }
}

// strictFrameError is the specification's verdict on a frame that Protomux
// accepts but the specification rejects (null when the specification
// accepts it too): a batch entry longer than the bytes left in the frame,
// or a batch inside a batch. Protomux cuts the first short and processes
// the second.
function strictFrameError (buf) {
  try {
    decodeFrame(buf)
    return null
  } catch (err) {
    return err.message
  }
}

// --- channels ---------------------------------------------------------------

// Every channel has the same table of three message types, so that payloads
// of each shape appear: 0 = c.uint, 1 = c.raw, 2 = c.buffer.
const MESSAGES = [c.uint, c.raw, c.buffer]
const HANDSHAKES = { uint: c.uint, raw: c.raw, none: null }

function encodeValue (enc, v) {
  return hex(c.encode(enc, v))
}

// Side is one Protomux with its channels by name and the events they saw.
class Side {
  constructor (name, end) {
    this.name = name
    this.end = end
    this.mux = new Protomux(end)
    this.channels = new Map()
    this.events = []
    this.replies = [] // {channel, onType, sendType}: answer a message with the same bytes
  }

  // create makes a channel; spec is the action's {channel, protocol, id,
  // handshakeEncoding, messages}.
  create (spec) {
    const side = this
    const hs = HANDSHAKES[spec.handshakeEncoding]
    const ch = this.mux.createChannel({
      protocol: spec.protocol,
      id: spec.id === null ? null : B(spec.id),
      handshake: hs,
      messages: MESSAGES.slice(0, spec.messages).map((enc, type) => ({
        encoding: enc,
        onmessage (m) {
          const payload = encodeValue(enc, m)
          side.events.push({ side: side.name, channel: spec.channel, event: 'message', type, payload })
          for (const r of side.replies) {
            if (r.channel === spec.channel && r.onType === type) ch.messages[r.sendType].send(c.decode(MESSAGES[r.sendType], B(payload)))
          }
        }
      })),
      onopen (handshake) {
        side.events.push({ side: side.name, channel: spec.channel, event: 'open', handshake: hs ? encodeValue(hs, handshake) : '' })
      },
      onclose (isRemote) {
        side.events.push({ side: side.name, channel: spec.channel, event: 'close', remote: isRemote })
      }
    })
    if (ch === null) throw new Error(this.name + ': createChannel ' + spec.channel + ' returned null')
    ch.spec = spec
    this.channels.set(spec.channel, ch)
    return ch
  }

  open (name, handshake) {
    const ch = this.channels.get(name)
    const hs = HANDSHAKES[ch.spec.handshakeEncoding]
    ch.open(hs ? c.decode(hs, B(handshake)) : undefined)
  }

  act (a) {
    switch (a.op) {
      case 'create': this.create(a); break
      case 'open': this.open(a.channel, a.handshake); break
      case 'send': {
        const ch = this.channels.get(a.channel)
        ch.messages[a.type].send(c.decode(MESSAGES[a.type], B(a.payload)))
        break
      }
      case 'close': this.channels.get(a.channel).close(); break
      case 'cork': this.mux.cork(); break
      case 'uncork': this.mux.uncork(); break
      case 'pair':
        // The handler creates the named channel, with the id of the open
        // it was told of, and opens it with the action's handshake, as
        // hypercore's replicator does.
        this.mux.pair({ protocol: a.protocol, id: a.id === null ? null : B(a.id) }, (id) => {
          this.create(Object.assign({}, a, { id: id === null ? null : hex(id) }))
          this.open(a.channel, a.handshake)
        })
        break
      case 'reply':
        this.replies.push({ channel: a.channel, onType: a.onType, sendType: a.sendType })
        break
      default:
        throw new Error('unknown op ' + a.op)
    }
  }
}

// --- the trace ------------------------------------------------------------------

const ID_ONE = hex(seed('hypercore-go v11 vectors: protomux one'))

function channel (name, protocol, id, handshakeEncoding) {
  return { channel: name, protocol, id, handshakeEncoding, messages: 3 }
}

const ONE = channel('one', 'protomux-test/one', ID_ONE, 'uint')
const TWO = channel('two', 'protomux-test/two', null, 'raw')
const NONE = channel('none', 'protomux-test/none', '00ff', 'uint')
const THREE = channel('three', 'protomux-test/three', 'cafe', 'none')
const FOUR = channel('four', 'protomux-test/four', null, 'raw')

const create = (side, ch) => Object.assign({ side, op: 'create' }, ch)
const open = (side, name, handshake) => ({ side, op: 'open', channel: name, handshake })
const send = (side, name, type, payload) => ({ side, op: 'send', channel: name, type, payload })
const cork = (side) => ({ side, op: 'cork' })
const uncork = (side) => ({ side, op: 'uncork' })
const close = (side, name) => ({ side, op: 'close', channel: name })
const pair = (side, ch, handshake) => Object.assign({ side, op: 'pair' }, ch, { id: null, handshake })

const u = (n) => encodeValue(c.uint, n)
const raw = (s) => hex(Buffer.from(s))
const buf = (s) => encodeValue(c.buffer, Buffer.from(s))

const STEPS = [
  {
    comment: 'both sides open (protocol, id) with c.uint handshakes; the OPENs cross',
    actions: [create('a', ONE), open('a', 'one', u(42)), create('b', ONE), open('b', 'one', u(7)),
      { side: 'b', op: 'reply', channel: 'one', onType: 1, sendType: 1 }]
  },
  {
    comment: 'b has a pair handler; a opens with a c.raw handshake and b\'s handler answers with its own channel',
    actions: [pair('b', TWO, raw('world')), create('a', TWO), open('a', 'two', raw('hello'))]
  },
  {
    comment: 'one message as a plain frame; b answers type 1 with the same bytes, also a plain frame',
    actions: [send('a', 'one', 1, raw('ping'))]
  },
  {
    comment: 'a plain c.uint message with a 3-byte uint',
    actions: [send('a', 'one', 0, u(1000))]
  },
  {
    comment: 'several messages while corked: one batch; b\'s two answers go out as one batch (b corks while it reads a batch)',
    actions: [cork('a'), send('a', 'one', 1, raw('abc')), send('a', 'one', 0, u(5)), send('a', 'one', 2, buf('xyz')),
      send('a', 'one', 1, raw('de')), uncork('a')]
  },
  {
    comment: 'two channels corked together: a batch with channel switches',
    actions: [cork('a'), send('a', 'one', 0, u(1)), send('a', 'two', 1, raw('x')), send('a', 'two', 2, buf('yy')),
      send('a', 'one', 0, u(300)), uncork('a')]
  },
  {
    comment: 'a opens a protocol b has no channel or handler for: b rejects, a\'s channel closes',
    actions: [create('a', NONE), open('a', 'none', u(1))]
  },
  {
    comment: 'open and a first message corked together: a control message inside a batch; b\'s handler answers with a one-entry batch',
    actions: [pair('b', THREE, ''), cork('a'), create('a', THREE), open('a', 'three', ''), send('a', 'three', 1, raw('first')),
      uncork('a')]
  },
  {
    comment: 'a closes channel one; b closes its end without replying',
    actions: [close('a', 'one')]
  },
  {
    comment: 'a opens another channel: it reuses the local id that closing one freed',
    actions: [pair('b', FOUR, raw('b4')), create('a', FOUR), open('a', 'four', raw('a4'))]
  },
  {
    comment: 'a message and a close corked together: a close inside a batch after a channel switch',
    actions: [cork('a'), send('a', 'four', 1, raw('bye')), close('a', 'four'), uncork('a')]
  },
  {
    comment: 'b closes channel two',
    actions: [close('b', 'two')]
  },
  {
    comment: 'nested cork: only the outer uncork sends',
    actions: [cork('a'), cork('a'), send('a', 'three', 0, u(70000)), uncork('a'), send('a', 'three', 0, u(2)), uncork('a')]
  }
]

// settle delivers every frame in flight, a's to b first and then b's to a,
// until neither side has anything left, and returns them in delivery order.
async function settle (a, b) {
  const frames = []
  await tick()
  for (;;) {
    let moved = false
    for (const [from, to] of [[a, b], [b, a]]) {
      while (from.end.out.length > 0) {
        const f = from.end.out.shift()
        frames.push({ from: from.name, frame: hex(f), decoded: decodeFrame(f) })
        to.end.deliver(f)
        moved = true
        await tick()
      }
    }
    if (!moved) return frames
  }
}

async function traceGroup () {
  const a = new Side('a', new End())
  const b = new Side('b', new End())
  const sides = { a, b }
  const tests = []
  for (const step of STEPS) {
    a.events = []
    b.events = []
    for (const act of step.actions) sides[act.side].act(act)
    const frames = await settle(a, b)
    if (a.end.destroyed || b.end.destroyed) throw new Error('trace: a stream was destroyed at ' + step.comment)
    tests.push({ comment: step.comment, actions: step.actions, frames, events: a.events.concat(b.events), result: 'valid' })
  }
  return {
    type: 'TraceTest',
    messages: ['uint', 'raw', 'buffer'],
    tests
  }
}

// --- decoding: one mux fed frames -------------------------------------------------------

// The local side's setup: channel x (protocol protomux-test/x, id 0102,
// c.uint handshake 9) opened, and a pair handler for protomux-test/p that
// opens channel p (c.raw handshake "pp").
const X = channel('x', 'protomux-test/x', '0102', 'uint')
const P = channel('p', 'protomux-test/p', null, 'raw')
const SETUP = [
  create('local', X), open('local', 'x', u(9)),
  pair('local', P, raw('pp'))
]

function openFrame (id, protocol, idBuf, handshake) {
  const state = { buffer: null, start: 0, end: 2 }
  c.uint.preencode(state, id)
  c.string.preencode(state, protocol)
  c.optionalBuffer.preencode(state, idBuf)
  state.end += handshake.length
  state.buffer = Buffer.alloc(state.end)
  state.buffer[0] = 0
  state.buffer[1] = 1
  state.start = 2
  c.uint.encode(state, id)
  c.string.encode(state, protocol)
  c.optionalBuffer.encode(state, idBuf)
  handshake.copy(state.buffer, state.start)
  return hex(state.buffer)
}

// entry prefixes a batch entry (hex) with its length.
const entry = (h) => u(h.length / 2) + h

const OPEN_X = (id) => openFrame(id, 'protomux-test/x', B('0102'), B(u(5)))
const OPEN_P = (id) => openFrame(id, 'protomux-test/p', null, Buffer.from('remote'))
const OPEN_Q = (id) => openFrame(id, 'protomux-test/q', B('aabb'), Buffer.from('hs'))

// classify maps the error Protomux destroyed its stream with to the
// specification's error class.
function classify (msg) {
  if (msg === 'Out of bounds') return 'bad-frame'
  // compact-encoding's range error: a uint above 2^53-1 while decoding (or,
  // for an open on channel id 0, while encoding the reject; see jsUint0)
  if (/^uint must be between/.test(msg)) return 'bad-frame'
  if (msg === 'Invalid open message') return 'invalid-open'
  if (msg === 'Invalid reject message') return 'invalid-reject'
  if (/out of range|Integer/i.test(msg)) return 'bad-frame'
  throw new Error('unclassified Protomux error: ' + msg)
}

async function runDecode (frames, destroyAtEnd) {
  const local = new Side('local', new End())
  for (const act of SETUP) local.act(act)
  await tick()
  const setupSent = local.end.out.splice(0).map(hex)
  // Events are kept per frame fed; the close events of the channels when
  // the stream is destroyed (Protomux closes them all) are kept apart.
  let cut = -1
  local.end.beforeClose = () => { cut = local.events.length }
  const events = []
  let shutdown = []
  for (const f of frames) {
    local.end.deliver(B(f))
    await tick()
    await tick()
    if (cut >= 0) {
      shutdown = local.events.splice(cut)
      events.push(local.events.splice(0))
      break
    }
    events.push(local.events.splice(0))
  }
  if (destroyAtEnd && !local.end.destroyed) {
    // The specification ends the stream where JS did not: destroy it
    // here to record the close events that ending causes.
    local.mux.destroy(new Error('destroyed by the generator'))
    await tick()
    shutdown = local.events.splice(cut)
  }
  return {
    setupSent,
    sent: local.end.out.splice(0).map(hex),
    events,
    shutdown,
    destroyed: local.end.destroyed,
    error: local.end.error ? local.end.error.message : null
  }
}

// A decode case: frames fed in order; `error` is the class expected when
// JS destroys the stream (checked against what JS did); `jsUint0` marks the
// open on channel id 0, where Protomux throws while encoding its reject.
const DECODE = [
  { comment: 'an empty frame is ignored', frames: [''] },
  { comment: 'unknown control types are ignored', frames: ['0004', '0009ff'] },
  { comment: 'a message on a channel never opened is ignored', frames: ['0500aa'] },
  { comment: 'a message with a non-minimal channel id on a channel never opened is ignored', frames: ['fd0500000107'] },
  { comment: 'a close for a channel never opened is ignored', frames: ['000305'] },
  { comment: 'a close for channel 0 is ignored', frames: ['000300'] },
  { comment: 'trailing bytes after a close are ignored', frames: ['000305ff'] },
  { comment: 'an open with no local channel and no handler is rejected', frames: [OPEN_Q(1)] },
  { comment: 'a remote id is free again after its open was rejected', frames: [OPEN_Q(1), OPEN_Q(1)] },
  { comment: 'remote ids may grow by one', frames: [OPEN_Q(1), OPEN_Q(2), OPEN_Q(3)] },
  { comment: 'an open pairs with the local channel of the same protocol and id', frames: [OPEN_X(1)] },
  { comment: 'an open with an empty id is an open without id', frames: [openFrame(1, 'protomux-test/p', Buffer.alloc(0), Buffer.from('e'))] },
  { comment: 'messages on a paired channel; a type beyond the table is ignored', frames: [OPEN_X(1), '010007', '0101616263', '0102026869', '0103aa', '01fd0001bb'] },
  { comment: 'an open is offered to the pair handler, which opens its own channel', frames: [OPEN_P(1), '01016d'] },
  { comment: 'a close from the remote closes the channel without a reply; later messages are ignored', frames: [OPEN_X(1), '000301', '010007'] },
  { comment: 'the remote may reuse an id after closing it', frames: [OPEN_X(1), '000301', OPEN_Q(1)] },
  { comment: 'a batch on one channel', frames: [OPEN_X(1), '0000 01 | 02 00 07 | 03 01 6162 | 03 02 01 63'] },
  { comment: 'a batch with channel switches', frames: [OPEN_X(1), OPEN_P(2), '0000 01 | 02 00 07 | 00 02 | 02 01 6d | 00 01 | 02 01 78'] },
  { comment: 'control messages inside a batch (open, message, close)', frames: ['0000 00 | ' + entry(OPEN_X(1).slice(2)) + ' | 00 01 | 02 00 07 | 00 00 | 02 03 01'] },
  { comment: 'a batch with one entry', frames: [OPEN_X(1), '0000 01 | 02 00 07'] },
  { comment: 'an empty batch', frames: ['0000 01'] },
  { comment: 'a batch that ends with a channel switch', frames: [OPEN_X(1), '0000 01 | 02 00 07 | 00 02'] },
  { comment: 'a batch whose entries are on channels never opened', frames: ['0000 05 | 02 00 07 | 00 06 | 01 00'] },
  { comment: 'an open numbered two above the highest remote id', frames: [OPEN_Q(2)], error: 'invalid-open' },
  { comment: 'an open numbered two above after one was used', frames: [OPEN_Q(1), OPEN_Q(3)], error: 'invalid-open' },
  { comment: 'an open for a remote id in use', frames: [OPEN_X(1), OPEN_Q(1)], error: 'invalid-open' },
  { comment: 'an open on channel id 0', frames: [OPEN_Q(0)], error: 'invalid-open', jsUint0: true },
  { comment: 'an open with a channel id above 2^53-1', frames: ['0001ff0000000000002000017100'], error: 'bad-frame' },
  { comment: 'a reject for a channel this side never opened', frames: ['000205'], error: 'invalid-reject' },
  { comment: 'a reject for channel id 0', frames: ['000200'], error: 'invalid-reject' },
  { comment: 'a reject for a channel that is already paired', frames: [OPEN_X(1), '000201'], error: 'invalid-reject' },
  { comment: 'a message frame without a type', frames: ['01'], error: 'bad-frame' },
  { comment: 'a control frame without a type', frames: ['00'], error: 'bad-frame' },
  { comment: 'a batch without its first channel id', frames: ['0000'], error: 'bad-frame' },
  { comment: 'a batch whose channel switch has no id', frames: ['0000 01 | 02 00 07 | 00'], error: 'bad-frame' },
  { comment: 'a batch entry with an empty type', frames: [OPEN_X(1), '0000 01 | 01'], error: 'bad-frame' },
  { comment: 'a batch entry longer than the bytes left', frames: ['0000 01 | 05 00 07'], error: 'bad-frame' },
  { comment: 'a batch entry claiming 2^31 bytes', frames: ['0000 01 | fe00000080 00 07'], error: 'bad-frame' },
  { comment: 'a batch inside a batch', frames: [OPEN_X(1), '0000 00 | 05 00 01 02 00 07'], error: 'bad-frame' },
  { comment: 'a c.uint message whose payload is cut: the channel\'s decoder fails', frames: [OPEN_X(1), '0100fd01'], error: 'bad-message' },
  { comment: 'an empty c.buffer message: the channel\'s decoder fails', frames: [OPEN_X(1), '0102'], error: 'bad-message' },
  { comment: 'an open whose c.uint handshake is cut: the channel\'s decoder fails', frames: [openFrame(1, 'protomux-test/x', B('0102'), B('fe0100'))], error: 'bad-message' },
  { comment: 'an open whose protocol claims 2^32-1 bytes', frames: ['000101feffffffff71'], error: 'bad-frame' },
  { comment: 'an open whose id claims more bytes than are left', frames: ['00010101710a6162'], error: 'bad-frame' }
]

// truncations: every proper prefix of a frame, fed after the given frames.
const TRUNCATE = [
  { name: 'open', before: [], frame: OPEN_Q(1) },
  { name: 'reject', before: [], frame: '000201' },
  { name: 'close', before: [OPEN_X(1)], frame: '000301' },
  { name: 'batch', before: [OPEN_X(1)], frame: '0000010200070001030161620002020179' },
  { name: 'message', before: [OPEN_X(1)], frame: '0100fde803' }
]

async function decodeGroup () {
  const tests = []
  const add = async (d) => {
    const r = await runDecode(d.frames.map((f) => f.replace(/[ |]/g, '')))
    const t = {
      comment: d.comment,
      flags: [],
      frames: d.frames.map((f) => f.replace(/[ |]/g, '')),
      sent: r.sent,
      events: r.events,
      shutdownEvents: r.shutdown,
      jsDestroyed: r.destroyed,
      jsError: r.error
    }
    let error = null
    if (r.destroyed) {
      if (r.events.length !== t.frames.length) throw new Error(d.comment + ': destroyed before the last frame')
      error = classify(r.error)
      // A frame that is well formed but whose payload or handshake the
      // channel's encoding cannot decode: the application's decoder fails.
      if (error === 'bad-frame' && strictFrameError(B(t.frames[t.frames.length - 1])) === null) error = 'bad-message'
      if (d.jsUint0) {
        error = 'invalid-open'
        t.flags.push('JSOpenZero')
      }
    } else {
      for (const f of t.frames) {
        if (f.length > 0 && strictFrameError(B(f)) !== null) {
          error = 'bad-frame'
          t.flags.push('JSLenient')
        }
      }
      if (error !== null) t.shutdownEvents = (await runDecode(t.frames, true)).shutdown
    }
    if (d.error !== undefined && d.error !== error) throw new Error(d.comment + ': expected ' + d.error + ', JS gave ' + error + ' (' + r.error + ')')
    if (d.error === undefined && error !== null && !d.truncation) throw new Error(d.comment + ': expected valid, got ' + error + ' (' + r.error + ')')
    t.result = error === null ? 'valid' : 'invalid'
    if (error !== null) t.error = error
    tests.push(t)
    return r
  }
  let setupSent = null
  for (const d of DECODE) {
    const r = await add(d)
    if (setupSent === null) setupSent = r.setupSent
    if (hex(Buffer.concat(r.setupSent.map(B))) !== hex(Buffer.concat(setupSent.map(B)))) throw new Error('setup differs')
  }
  for (const tr of TRUNCATE) {
    const f = tr.frame
    for (let n = 1; n < f.length / 2; n++) {
      await add({ comment: 'the ' + tr.name + ' frame ' + f + ' cut to ' + n + ' bytes', frames: tr.before.concat([f.slice(0, 2 * n)]), truncation: true })
    }
  }
  return {
    type: 'DecodeTest',
    messages: ['uint', 'raw', 'buffer'],
    setup: SETUP,
    setupSent,
    tests
  }
}

async function main () {
  const groups = [await traceGroup(), await decodeGroup()]
  writeFile(outDir(), 'protomux', {
    concept: 'Protomux channels over a message stream',
    source: source('protomux', ['compact-encoding']),
    notes: {
      JSLenient: 'Protomux accepts this frame (it cuts a batch entry that claims more bytes than the frame has to the bytes there are, and processes a batch inside a batch); the specification rejects it as bad-frame. No Protomux sends such a frame.',
      JSOpenZero: 'Protomux destroys the stream on an open for channel id 0 because encoding its reject throws ("uint must be between ..."), not by a deliberate check; the specification makes the same open an invalid-open.'
    }
  }, groups)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
