'use strict'
// A JS hypercore-protocol 8.0.7 peer for the session interop tests: it
// speaks the protocol stream directly (no feed) over TCP on 127.0.0.1.
//
//   node peers/protocol.js ROLE ADDR SCENARIO KEYHEX
//
// ROLE is "initiator" or "responder" (the Noise role); ADDR is "listen"
// (listen on an ephemeral port and print {"event":"listening","port":N})
// or a port to dial. Events are printed as JSON lines on stdout:
// handshake, open (the channel is open both ways), message (every message
// received, with its fields), extension (session-level extension by name),
// close, error, end.
//
// Scenarios:
//   exchange  open KEY and send one message of every type, plus a
//             session-level extension "hypercore-go/test" with "hello js"
//   idle      open KEY and do nothing (keep-alives only); print
//             {"event":"alive","seconds":N} every 5 s
//   badcap    after the handshake, send Open for KEY with a capability of
//             zeros (through the engine's state, skipping the real one)
//   garbage   after the handshake, send an encrypted frame whose body does
//             not decode
//   expect    open KEY and report what arrives (used when the other side
//             misbehaves)

const net = require('net')
const Protocol = require('hypercore-protocol')
const crypto = require('hypercore-crypto')

const [role, addr, scenario, keyHex] = process.argv.slice(2)
const key = Buffer.from(keyHex, 'hex')
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')

function hexify (v) {
  if (Buffer.isBuffer(v)) return v.toString('hex')
  if (Array.isArray(v)) return v.map(hexify)
  if (v && typeof v === 'object') {
    const o = {}
    for (const k of Object.keys(v)) o[k] = hexify(v[k])
    return o
  }
  return v
}

function run (socket) {
  const stream = new Protocol(role === 'initiator', { live: true })
  const ext = stream.registerExtension('hypercore-go/test', {
    encoding: 'utf-8',
    onmessage (message) { out({ event: 'extension', name: 'hypercore-go/test', message }) }
  })
  stream.on('handshake', () => {
    out({ event: 'handshake' })
    if (scenario === 'badcap') {
      stream.state.open(1, { discoveryKey: crypto.discoveryKey(key), capability: Buffer.alloc(32) })
    }
    if (scenario === 'garbage') {
      stream.state.handlers.send(stream.state._encryption.encrypt(Buffer.from([0x02, 0x13, 0x08])))
    }
  })
  const types = ['options', 'status', 'have', 'unhave', 'want', 'unwant', 'request', 'cancel', 'data']
  const handlers = {
    onopen () {
      out({ event: 'open' })
      if (scenario !== 'exchange') return
      ch.options({ extensions: ['a', 'b'], ack: true })
      ch.status({ uploading: true, downloading: false })
      ch.have({ start: 0, length: 1048576, bitfield: Buffer.from([0x02, 0xc0]) })
      ch.unhave({ start: 3 })
      ch.want({ start: 0, length: 1048576 })
      ch.unwant({ start: 0 })
      ch.request({ index: 1, bytes: 0, hash: false, nodes: 1 })
      ch.cancel({ index: 1 })
      ch.data({ index: 1, value: Buffer.from('world'), nodes: [{ index: 2, hash: Buffer.alloc(32, 7), size: 5 }], signature: Buffer.alloc(64, 9) })
      ch.extension(0, Buffer.from('hi'))
      ext.send('hello js')
    },
    onextension (id, message) { out({ event: 'message', type: 'extension', id, message: message.toString('hex') }) },
    onclose () { out({ event: 'close' }) }
  }
  for (const t of types) handlers['on' + t] = (m) => out({ event: 'message', type: t, message: hexify(m) })
  let ch = null
  if (scenario !== 'badcap' && scenario !== 'garbage') ch = stream.open(key, handlers)
  if (scenario === 'idle') {
    let seconds = 0
    setInterval(() => { seconds += 5; out({ event: 'alive', seconds }) }, 5000)
  }
  stream.on('error', (err) => out({ event: 'error', message: err.message }))
  stream.on('close', () => { out({ event: 'end' }); setTimeout(() => process.exit(0), 50) })
  socket.on('error', () => {})
  socket.pipe(stream).pipe(socket)
}

if (addr === 'listen') {
  const server = net.createServer((socket) => { server.close(); run(socket) })
  server.listen(0, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }))
} else {
  run(net.connect(Number(addr), '127.0.0.1'))
}
